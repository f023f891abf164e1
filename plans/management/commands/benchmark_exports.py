"""Time the PDF and DOCX exports of a large plan; everything it creates is rolled back."""

import resource
import time
import tracemalloc

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from plans.exports import export_context, render_docx, render_pdf
from plans.models import Contact, Membership, Organisation, Process, Risk
from plans.risk import risk_rating
from plans.services import plan_create, version_create
from templates_app.models import Template
from templates_app.schema import choice_pairs, template_sections


class _Rollback(Exception):
    pass


def _page_count(pdf: bytes) -> int | None:
    try:
        import io

        from pypdf import PdfReader  # a development dependency; the count is only informative
    except ImportError:
        return None
    return len(PdfReader(io.BytesIO(pdf)).pages)


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
        "time and peak memory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=200)
        parser.add_argument("--risks", type=int, default=200)
        parser.add_argument("--contacts", type=int, default=100)
        parser.add_argument("--table-rows", type=int, default=20, help="rows in every table field")

    def handle(self, *args, **options):
        for name in ("processes", "risks", "contacts", "table_rows"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more.")
        try:
            template = Template.objects.filter(is_default=True).first() or Template.objects.first()
        except DatabaseError as error:
            raise CommandError(f"The database is not ready ({error}); run `manage.py migrate` first.") from None
        if template is None:
            raise CommandError("No template exists; run `manage.py migrate` (it installs the default template).")
        results = {}
        try:
            with transaction.atomic():
                version = self._build(template, options)
                results = self._measure(version)
                raise _Rollback
        except _Rollback:
            pass
        for kind in ("context", "pdf", "docx"):
            r = results[kind]
            self.stdout.write(
                f"{kind:8} {r['seconds']:7.2f} s   peak Python memory {r['peak_mb']:7.1f} MB"
                + (f"   {r['size_kb']:8.1f} KB" if "size_kb" in r else "")
                + (f"   {r['pages']} pages" if r.get("pages") else "")
            )
        self.stdout.write(
            f"Benchmark: {options['processes']} processes, {options['risks']} risks, {options['contacts']} contacts, "
            f"template \u201c{template}\u201d: PDF {results['pdf']['seconds']:.2f} s, DOCX "
            f"{results['docx']['seconds']:.2f} s, process max RSS {results['max_rss_mb']:.0f} MB (rolled back)."
        )

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

    def _measure(self, version):
        results = {}

        def measure(name, func):
            # Time without tracing (tracemalloc slows allocation-heavy code), then the peak with it.
            started = time.perf_counter()
            value = func()
            seconds = time.perf_counter() - started
            tracemalloc.start()
            func()
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            results[name] = {"seconds": seconds, "peak_mb": peak / 1024 / 1024}
            return value

        context = measure("context", lambda: export_context(version))
        pdf = measure("pdf", lambda: render_pdf(version, context=context))
        results["pdf"]["size_kb"] = len(pdf) / 1024
        results["pdf"]["pages"] = _page_count(pdf)
        docx = measure("docx", lambda: render_docx(version, context=context))
        results["docx"]["size_kb"] = len(docx) / 1024
        results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return results
