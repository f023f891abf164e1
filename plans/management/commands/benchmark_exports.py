"""Time the PDF and DOCX exports of a large plan, next to WeasyPrint alone on the same HTML.

The plan is built inside a transaction that is rolled back. Each render runs in a fresh
process (`python -c`), so its peak memory is its own: the project's `render_pdf` and
`render_docx` in a process with Django set up, as a worker renders, and WeasyPrint alone in a
bare interpreter on the HTML the project renders. Times are medians of `--repeat` runs
(wall clock and the process's own CPU time: the CPU time moves less when other work shares
the machine); layout and write are split at WeasyPrint's own "Step 6 - Creating PDF".
"""

import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction
from django.template.loader import render_to_string

from plans.exports import export_context
from plans.exports.render import FONTS_DIR, print_context
from plans.models import Contact, Membership, Organisation, Process, Risk
from plans.risk import risk_rating
from plans.services import plan_create, version_create
from templates_app.models import Template
from templates_app.schema import choice_pairs, template_sections

# The goals (README, "Performance").
GOAL_RATIO, GOAL_PDF_SECONDS, GOAL_PDF_MB, GOAL_DOCX_SECONDS = 1.1, 3.0, 200, 0.5

# A render of the project's own: Django set up, WeasyPrint and python-docx imported first (a
# worker has them loaded after its first task), then one export of the pickled context.
PROJECT_CHILD = r"""
import json, logging, pickle, resource, sys, time
import django
django.setup()
import docx, weasyprint
from plans.exports import render_docx, render_pdf
kind, context_path, profile = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with open(context_path, "rb") as handle:
    context = pickle.load(handle)
marks = {}
class Steps(logging.Handler):
    def emit(self, record):
        if str(record.msg).startswith("Step 6"):
            marks.setdefault("write", (time.perf_counter(), time.process_time()))
progress = logging.getLogger("weasyprint.progress")
progress.setLevel(logging.INFO)
progress.propagate = False
progress.addHandler(Steps())
render = render_pdf if kind == "pdf" else render_docx
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if profile:
    import cProfile, io, pstats
    profiler = cProfile.Profile()
    profiler.enable()
started, cpu = time.perf_counter(), time.process_time()
data = render(None, context=context)
ended, cpu_ended = time.perf_counter(), time.process_time()
if profile:
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    sys.stderr.write(out.getvalue())
write = marks.get("write", (ended, cpu_ended))
print(json.dumps({
    "seconds": ended - started, "cpu": cpu_ended - cpu, "layout": write[0] - started, "write": ended - write[0],
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "before_mb": before / 1024,
    "bytes": len(data),
}))
"""

# WeasyPrint alone: a bare interpreter, the same HTML and fonts, WeasyPrint's defaults.
BARE_CHILD = r"""
import json, resource, sys, time
import weasyprint
with open(sys.argv[1], encoding="utf-8") as handle:
    html = handle.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started, cpu = time.perf_counter(), time.process_time()
document = weasyprint.HTML(string=html, base_url=sys.argv[2]).render()
laid_out = time.perf_counter()
data = document.write_pdf()
ended, cpu_ended = time.perf_counter(), time.process_time()
print(json.dumps({
    "seconds": ended - started, "cpu": cpu_ended - cpu, "layout": laid_out - started, "write": ended - laid_out,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "before_mb": before / 1024,
    "bytes": len(data), "pages": len(document.pages),
}))
"""


class _Rollback(Exception):
    pass


def sample_value(field: dict, i: int, *, contact_ids: list[int], user_id: int):
    """A plausible value of any field type (tables get `rows` rows)."""
    kind = field.get("type")
    choices = [value for value, _label in choice_pairs(field)] if field.get("choices") else []
    if kind in ("select",):
        return choices[i % len(choices)] if choices else None
    if kind == "multiselect":
        return choices[: 2] if choices else []
    return {
        "text": f"{field.get('label', 'Value')} {i}",
        "textarea": (f"{field.get('label', 'Text')} paragraph {i}. " * 6).strip(),
        "integer": 10 + i,
        "decimal": "12.5",
        "date": "2025-03-31",
        "datetime": "2025-03-31T14:30:00+00:00",
        "boolean": i % 2 == 0,
        "email": f"person{i}@example.org",
        "phone": "+44 20 7946 0000",
        "url": f"https://example.org/doc/{i}",
        "duration": 60 * (1 + i % 48),
        "user": user_id,
        "contact": contact_ids[i % len(contact_ids)] if contact_ids else None,
    }.get(kind, f"value {i}")


def fill_content(template, *, table_rows: int, contact_ids: list[int], user_id: int) -> dict:
    content = {}
    for section in template_sections(template):
        values = {}
        for n, field in enumerate(section["fields"]):
            if field.get("type") == "table":
                values[field["key"]] = [
                    {column["key"]: sample_value(column, r, contact_ids=contact_ids, user_id=user_id)
                     for column in field.get("columns", [])}
                    for r in range(table_rows)
                ]
            else:
                values[field["key"]] = sample_value(field, n, contact_ids=contact_ids, user_id=user_id)
        content[section["key"]] = values
    return content


class Command(BaseCommand):
    help = (
        "Build a large plan (default: 200 processes, 200 risks, 100 contacts, every section of the default "
        "template filled) inside a transaction that is rolled back, and report the PDF and DOCX export "
        "times and peak memory, each render in a fresh process, next to WeasyPrint alone on the same HTML."
    )

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=200)
        parser.add_argument("--risks", type=int, default=200)
        parser.add_argument("--contacts", type=int, default=100)
        parser.add_argument("--table-rows", type=int, default=20, help="rows in every table field")
        parser.add_argument("--repeat", type=int, default=3, help="runs of each render (medians are reported)")
        parser.add_argument("--profile", action="store_true",
                            help="also print cProfile's 30 most expensive calls of one project PDF render")

    def handle(self, *args, **options):
        for name in ("processes", "risks", "contacts", "table_rows"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more.")
        if options["repeat"] < 1:
            raise CommandError("--repeat must be 1 or more.")
        try:
            template = Template.objects.filter(is_default=True).first() or Template.objects.first()
        except DatabaseError as error:
            raise CommandError(f"The database is not ready ({error}); run `manage.py migrate` first.") from None
        if template is None:
            raise CommandError("No template exists; run `manage.py migrate` (it installs the default template).")
        try:
            with transaction.atomic():
                version = self._build(template, options)
                started = time.perf_counter()
                context = export_context(version)
                context_seconds = time.perf_counter() - started
                raise _Rollback
        except _Rollback:
            pass
        with tempfile.TemporaryDirectory(prefix="bcp-benchmark-") as folder:
            results = self._measure(Path(folder), context, options)
        self._report(results, context_seconds, template, options)

    def _child(self, folder: Path, args: list[str]) -> dict:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "bcp_site.settings"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")]))}
        result = subprocess.run([sys.executable, "-c", *args], cwd=folder, env=env, capture_output=True, text=True,
                                timeout=600)
        if result.returncode != 0:
            raise CommandError(f"A benchmark render failed:\n{result.stderr[-3000:]}")
        if result.stderr.strip() and "cumulative" in result.stderr:
            self.stdout.write(result.stderr)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def _measure(self, folder: Path, context: dict, options) -> dict:
        context_path, html_path = folder / "context.pickle", folder / "plan.html"
        context_path.write_bytes(pickle.dumps(context))
        html_path.write_text(render_to_string("plans/print/version.html", print_context(context)), encoding="utf-8")
        runs = {"pdf": [], "alone": [], "docx": []}
        for _ in range(options["repeat"]):  # alternate, so a busy moment touches both sides
            runs["pdf"].append(self._child(folder, [PROJECT_CHILD, "pdf", str(context_path), "0"]))
            runs["alone"].append(self._child(folder, [BARE_CHILD, str(html_path), FONTS_DIR.as_uri() + "/"]))
            runs["docx"].append(self._child(folder, [PROJECT_CHILD, "docx", str(context_path), "0"]))
        if options["profile"]:
            self._child(folder, [PROJECT_CHILD, "pdf", str(context_path), "1"])
        medians = {kind: {key: statistics.median(run[key] for run in kind_runs) for key in kind_runs[0]}
                   for kind, kind_runs in runs.items()}
        medians["alone"]["pages"] = runs["alone"][0]["pages"]
        return medians

    def _report(self, results: dict, context_seconds: float, template, options) -> None:
        pdf, alone, docx = results["pdf"], results["alone"], results["docx"]
        try:
            load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        except OSError:
            load = f"{os.cpu_count()} CPUs"
        ratio, cpu_ratio = pdf["seconds"] / alone["seconds"], pdf["cpu"] / alone["cpu"]
        write = self.stdout.write
        write(f"Large plan: {options['processes']} processes, {options['risks']} risks, {options['contacts']} "
              f"contacts, {options['table_rows']} rows in every table field of \u201c{template}\u201d "
              f"(rolled back). Export data from the snapshot: {context_seconds:.2f} s.")
        write(f"Medians of {options['repeat']} run(s), each in a fresh process; {load}.")
        write("")
        write(f"{'':22}{'project':>34}{'WeasyPrint alone (same HTML)':>34}{'ratio':>8}")
        write(f"{'PDF time':22}{self._split(pdf):>34}{self._split(alone):>34}{ratio:>7.2f}\u00d7")
        write(f"{'PDF CPU time':22}{pdf['cpu']:>32.2f} s{alone['cpu']:>32.2f} s{cpu_ratio:>7.2f}\u00d7")
        write(f"{'PDF peak memory (RSS)':22}{self._memory(pdf):>34}{self._memory(alone):>34}")
        write(f"{'PDF file':22}{pdf['bytes'] / 1024:>28.0f} KB, {alone['pages']} pages")
        write(f"{'DOCX time':22}{docx['seconds']:>32.2f} s{'':>34}")
        write(f"{'DOCX CPU time':22}{docx['cpu']:>32.2f} s")
        write(f"{'DOCX peak memory (RSS)':22}{self._memory(docx):>34}")
        write(f"{'DOCX file':22}{docx['bytes'] / 1024:>31.0f} KB")
        write("")
        checks = [
            # CPU time: wall-clock ratios swing with whatever else shares the machine.
            (f"PDF within {GOAL_RATIO}\u00d7 of WeasyPrint alone", cpu_ratio <= GOAL_RATIO,
             f"{cpu_ratio:.2f}\u00d7 in CPU time, {ratio:.2f}\u00d7 wall clock"),
            (f"PDF \u2264 {GOAL_PDF_SECONDS:g} s", pdf["seconds"] <= GOAL_PDF_SECONDS,
             f"{pdf['seconds']:.2f} s, CPU {pdf['cpu']:.2f} s"),
            (f"PDF \u2264 {GOAL_PDF_MB} MB", pdf["peak_mb"] <= GOAL_PDF_MB, f"{pdf['peak_mb']:.0f} MB"),
            (f"DOCX \u2264 {GOAL_DOCX_SECONDS:g} s", docx["seconds"] <= GOAL_DOCX_SECONDS, f"{docx['seconds']:.2f} s"),
        ]
        write("Goals: " + "; ".join(f"{name}: {'yes' if ok else 'NO'} ({value})" for name, ok, value in checks) + ".")

    @staticmethod
    def _split(run: dict) -> str:
        return f"{run['seconds']:.2f} s (layout {run['layout']:.2f} + write {run['write']:.2f})"

    @staticmethod
    def _memory(run: dict) -> str:
        return f"{run['peak_mb']:.0f} MB ({run['before_mb']:.0f} MB before)"

    def _build(self, template, options):
        org = Organisation.objects.create(name=f"Benchmark organisation {time.time_ns()}")
        user = get_user_model().objects.create_user(username=f"benchmark-{time.time_ns()}", first_name="Bench")
        Membership.objects.create(user=user, organisation=org)
        plan = plan_create(organisation=org, template=template, title="Benchmark plan", owner=user, actor=user)
        contacts = Contact.objects.bulk_create(
            Contact(plan=plan, name=f"Contact {i:03}", role="Responder", phone="+44 20 7946 0000",
                    email=f"contact{i}@example.org", notes="Out of hours on mobile")
            for i in range(options["contacts"])
        )
        Process.objects.bulk_create(
            Process(plan=plan, name=f"Process {i:03}", description="A critical process with a longer description.",
                    rto_minutes=60 * (1 + i % 24), rpo_minutes=30, mtpd_minutes=60 * (24 + i % 24),
                    impact_rating=Process.Impact.values[i % 4], dependencies_json=[f"System {i}", "Network"])
            for i in range(options["processes"])
        )
        likelihoods, impacts = Risk.Likelihood.values, Risk.Impact.values
        Risk.objects.bulk_create(
            Risk(plan=plan, threat=f"Threat {i:03}", likelihood=likelihoods[i % 5], impact=impacts[(i * 3) % 5],
                 rating=risk_rating(likelihoods[i % 5], impacts[(i * 3) % 5]), mitigation="Documented mitigation.",
                 owner_user=user)
            for i in range(options["risks"])
        )
        contact_ids = [c.pk for c in Contact.objects.filter(plan=plan)] if contacts else []
        plan.draft_content_json = fill_content(
            template, table_rows=options["table_rows"], contact_ids=contact_ids, user_id=user.pk,
        )
        plan.save(update_fields=["draft_content_json"])
        return version_create(plan=plan, actor=user, note="Benchmark revision")
