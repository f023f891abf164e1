"""The organisation of the scale-out check and the steps its people take, through real HTTP.

`seed()` writes the organisation directly (an editor, two reviewers, N members, a template);
everything after that goes through the pages, alternating between the instances: the editor
writes a plan that passes readiness (plans.readiness: the template's required field, a contact,
a critical process, a risk), attaches a file, saves a revision and submits it; both reviewers
approve on the review page; members acknowledge through their emailed links; the editor
downloads the files and checks them on the verify page; one link's "new link" button is pressed
until the rate limit refuses.
"""

from __future__ import annotations

import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .browser import Browser, FlowError, RequestLog

THANKS = "Thank you: your acknowledgement of version"
ALREADY = "Nothing more to do: already acknowledged"
PREPARED_TIMEOUT = 180  # seconds a download may stay "being prepared"
ACK_THREADS = 6
REPEATS = 10  # people who press the confirm button a second time (a double click, on the other instance)
HASH_SHOWN = re.compile(r'<code class="hash">([0-9a-f]{64})</code>')


@dataclass(frozen=True)
class Seeded:
    template_id: int
    editor: str
    reviewers: tuple[str, str]
    password: str
    people: dict[str, int]  # email -> user id: everyone in the organisation (all get a link)


def seed(members: int) -> Seeded:
    """An organisation with an editor, two reviewers, `members` members and its own template."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from bcp_site.testing import PASSWORD, make_org, make_template, make_user
    from plans.models import Membership
    from reviews.coverage_counts import coverage_recount

    User = get_user_model()
    org = make_org("Scale-out check Ltd")
    editor = make_user(org, username="sc_editor", groups=["BCP Editor"])
    reviewers = [make_user(org, username=f"sc_reviewer{i}", groups=["BCP Reviewer"]) for i in (1, 2)]
    password = make_password(None)  # members only use their emailed links
    User.objects.bulk_create(
        (User(username=f"sc_member{i:05d}", email=f"sc_member{i:05d}@example.org", first_name=f"Member {i}",
              password=password) for i in range(members)),
        batch_size=1000,
    )
    people = list(User.objects.filter(username__startswith="sc_member"))  # ids (MariaDB returns none from bulk)
    Membership.objects.bulk_create((Membership(user=p, organisation=org) for p in people), batch_size=1000)
    coverage_recount(org.pk)  # bulk inserts send no signals
    template = make_template(name="Scale-out check template", org=org)
    everyone = [editor, *reviewers, *people]
    return Seeded(template_id=template.pk, editor=editor.username,
                  reviewers=(reviewers[0].username, reviewers[1].username), password=PASSWORD,
                  people={user.email.lower(): user.pk for user in everyone})


@dataclass
class PlanFacts:
    plan_id: int
    version: int
    attachment_name: str
    attachment: bytes


def _number_after(pattern: str, url: str) -> int:
    match = re.search(pattern, url)
    if match is None:
        raise FlowError(f"expected a page like {pattern}, got {url}")
    return int(match.group(1))


def _choose(form, name: str, index: int = -1) -> str:
    """The value of a select's `index`-th non-empty option (a person picking from the list)."""
    values = [value for value, _label in form.options.get(name, []) if value]
    if not values:
        raise FlowError(f"the form has no choices for {name!r}")
    return values[index]


class Journey:
    def __init__(self, *, bases: list[str], log: RequestLog, seeded: Seeded):
        self.bases = bases
        self.log = log
        self.seeded = seeded
        self.editor = Browser(bases, log, name=seeded.editor)

    # --- the editor ----------------------------------------------------------------------------

    def prepare_plan(self) -> PlanFacts:
        """Create a plan, make it ready, attach a file, save a revision and submit it to both reviewers."""
        editor, s = self.editor, self.seeded
        editor.login(s.editor, s.password)
        created = editor.submit("/plans/new/", {
            "template": str(s.template_id), "title": "Scale-out check plan", "owner": s.editor,
        })
        plan_id = _number_after(r"/plans/(\d+)/", created.url)
        base = f"/plans/{plan_id}"
        editor.submit(f"{base}/sections/overview/edit/",
                      lambda form: {_field(form, "purpose"): "Keep serving customers when a site is lost."})
        editor.submit(f"{base}/contacts/new/", {"name": "Duty manager", "role": "Incident lead",
                                                "phone": "+44 20 7946 0001", "email": "duty@example.org"})
        editor.submit(f"{base}/processes/new/", lambda form: {
            "name": "Customer service", "rto_minutes": "4h", "rpo_minutes": "1h", "mtpd_minutes": "24h",
            "impact_rating": _choose(form, "impact_rating"),
        })
        editor.submit(f"{base}/risks/new/", lambda form: {
            "threat": "Power cut", "likelihood": _choose(form, "likelihood", 2), "impact": _choose(form, "impact", 3),
            "mitigation": "Generator on site",
        })
        name = "continuity-notes.txt"
        data = ("Scale-out check attachment " + secrets.token_hex(16) + "\n").encode() * 200
        editor.submit(f"{base}/attachments/", where=lambda form: "submission_token" in form.names(),
                      files={"file": (name, data, "text/plain")})
        saved = editor.submit(f"{base}/versions/new/", {"note": "Ready for review (scale-out check)."})
        version = _number_after(r"/versions/(\d+)/", saved.url)
        editor.submit(f"/reviews/plans/{plan_id}/submit/", {"reviewers": "\n".join(s.reviewers)})
        return PlanFacts(plan_id=plan_id, version=version, attachment_name=name, attachment=data)

    # --- the reviewers -------------------------------------------------------------------------

    def approve(self, plan_id: int, reviewer: str) -> float:
        """`reviewer` signs in, finds the review in their queue and approves it; the POST's seconds."""
        browser = Browser(self.bases, self.log, name=reviewer)
        browser.login(reviewer, self.seeded.password)
        queue = browser.get("/reviews/")
        reviews = re.findall(r'href="/reviews/(\d+)/"', queue.text)
        if not reviews:
            raise FlowError(f"{reviewer}: no review in the queue")
        started = time.monotonic()
        browser.submit(f"/reviews/{reviews[0]}/", where=lambda form: form.action.endswith("/approve/"))
        return time.monotonic() - started

    # --- the members ---------------------------------------------------------------------------

    def acknowledge(self, links: list[tuple[str, str]]) -> tuple[int, int, int]:
        """Each person opens their link (GET) and confirms (POST), person i starting on instance i % 2;
        the first REPEATS press again on the other instance. (thanked, repeats, told done)."""
        def one(index: int, token: str) -> tuple[bool, bool | None]:
            browser = Browser(self.bases, self.log, name=f"link {index}", start=index)
            form, page = browser.form(f"/ack/l/{token}/", where=lambda f: not f.action.endswith("/new-link/"))
            posted = form.data()
            answer = browser.request("POST", page.url, data=posted)
            thanked = answer.status_code == 200 and THANKS in answer.text
            again = None
            if index < REPEATS:
                second = browser.request("POST", page.url, data=posted)
                again = second.status_code == 200 and ALREADY in second.text
            return thanked, again

        with ThreadPoolExecutor(ACK_THREADS) as pool:
            results = list(pool.map(lambda item: one(*item), enumerate(token for _email, token in links)))
        repeats = [again for _thanked, again in results if again is not None]
        return sum(1 for thanked, _ in results if thanked), len(repeats), sum(repeats)

    # --- files -----------------------------------------------------------------------------------

    def download(self, path: str, base: str) -> bytes:
        """GET `path` on `base` until it is served (200), through the "being prepared" page (202)."""
        deadline = time.monotonic() + PREPARED_TIMEOUT
        while True:
            answer = self.editor.get(path, base=base)
            if answer.status_code == 200:
                return answer.content
            if answer.status_code != 202 or time.monotonic() > deadline:
                raise FlowError(f"{path} on {self.editor.instance(base)} answered {answer.status_code}")
            time.sleep(1)

    def exports(self, plan_id: int, version: int) -> tuple[dict, dict]:
        """The PDF and DOCX from both instances, and what the verify page says of each:
        ({kind: {instance: bytes}}, {kind: (hash shown, matched)})."""
        downloads: dict[str, dict[str, bytes]] = {}
        verified: dict[str, tuple[str, bool]] = {}
        for kind, content_type in (("pdf", "application/pdf"),
                                   ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")):
            path = f"/plans/{plan_id}/versions/{version}/export.{kind}"
            downloads[kind] = {self.editor.instance(base): self.download(path, base) for base in self.bases}
            data = next(iter(downloads[kind].values()))
            page = self.editor.submit("/exports/verify/", files={"file": (f"plan.{kind}", data, content_type)},
                                      redirects=False, where=lambda form: form.action == "")
            shown = HASH_SHOWN.search(page.text)
            verified[kind] = (shown.group(1) if shown else "", "<h2>Match</h2>" in page.text)
        return downloads, verified

    def attachment_downloads(self, plan_id: int, attachment_id: int) -> dict[str, bytes]:
        path = f"/plans/{plan_id}/attachments/{attachment_id}/download/"
        return {self.editor.instance(base): self.download(path, base) for base in self.bases}

    # --- the rate limit --------------------------------------------------------------------------

    def new_link_requests(self, token: str, count: int) -> list[tuple[str, int]]:
        """Press "email me a new link" `count` times from one address, alternating instances."""
        browser = Browser(self.bases, self.log, name="new-link")
        browser.get("/accounts/login/")  # a page with a form sets the CSRF cookie (an acknowledged link has none)
        csrf = browser.session.cookies.get("csrftoken", "")
        if not csrf:
            raise FlowError("the sign-in page set no CSRF cookie")
        answers = []
        for _ in range(count):
            base = browser.next_base()
            answer = browser.request("POST", f"/ack/l/{token}/new-link/", base=base,
                                     data={"csrfmiddlewaretoken": csrf}, allow_redirects=False)
            answers.append((browser.instance(base), answer.status_code))
        return answers


def _field(form, suffix: str) -> str:
    """The name of the form field ending in `suffix` (section forms may prefix their fields)."""
    names = [name for name in form.names() if name == suffix or name.endswith(f"-{suffix}")]
    if not names:
        raise FlowError(f"the form has no field {suffix!r}: {sorted(form.names())}")
    return names[0]
