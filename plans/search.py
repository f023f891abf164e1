"""Search across an organisation's plans: the index the services keep, and the one selector.

The index (`bc_search_entry`, `SearchEntry`) holds one row per searchable item of a plan's
working copy: the title, each section (its values as people read them: choices by label, people
and contacts by name), each contact, critical process (with its dependencies) and risk (threat,
mitigation, owner). The services call the `search_*_index` functions in their own transaction,
after a write, so the index changes with the plan or not at all; deleting a plan deletes its
entries (the foreign key cascades). `manage.py search_reindex` builds the entries of plans written
before the index existed, or repairs them (`search_reindex`; a second run changes nothing).

Words are folded (lower case, accents removed) and prefixed with the organisation in `terms`:
"Payroll" in organisation 12 is indexed as `o12xpayroll`. So

- a search only ever meets its own organisation's words: the full-text engine reads the
  organisation's postings and nobody else's, whatever the size of the other organisations;
- two-letter words such as "IT" and "HR" are indexed (`o12xit`): InnoDB skips words shorter than
  `innodb_ft_min_token_size` (3) and has "it" in its stopword list; neither applies to `o12xit`.

The one selector, `search_entries`, runs one query: `MATCH ... AGAINST` in boolean mode on
MariaDB/MySQL (the FULLTEXT key `ft_bc_search_entry_terms`), `MATCH` on the FTS5 table
`bc_search_fts` on SQLite; both made by `plans/migrations/0011_search.py`. Every word must be
found; a word of three letters or more also finds longer words ("ransom" finds "ransomware").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from bcp_site.text import display_name
from templates_app.schema import CONTACT_REF, is_empty, template_sections
from templates_app.values import EMPTY, display_value, reference_ids, table_display

from .models import Contact, Plan, Process, Risk, SearchEntry

Kind = SearchEntry.Kind

WORD = re.compile(r"[^\W_]+")
MAX_WORD = 60  # longer words are cut, in the index and in queries alike (InnoDB indexes up to 84 characters)
MAX_QUERY_WORDS = 8
PREFIX_FROM = 3  # a query word this long also finds longer words
SNIPPET_CHARS = 200
MAX_PAGES = 20  # relevance order pages by offset: beyond this, a narrower search is the answer
# Matching items considered for the best-first order: a word in most of 100,000 plans would otherwise
# sort every match. More than this, and the page asks for another word.
CANDIDATES = 1000
LABEL_MAX = SearchEntry._meta.get_field("label").max_length


# --- words and terms -----------------------------------------------------------------------------

def fold(word: str) -> str:
    """A word as it is indexed and searched: accents removed, case folded, at most MAX_WORD characters."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()[:MAX_WORD]


def words_of(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return [w for w in (fold(m.group()) for m in WORD.finditer(text or "")) if w]


def org_term(org_id: int, word: str) -> str:
    # Digits, then "x": org 1's "2it" (o1x2it) never reads as org 12's "it" (o12xit).
    return f"o{int(org_id)}x{word}"


def index_terms(org_id: int, text: str) -> str:
    """What the full-text index holds for `text`: each distinct word, prefixed with the organisation."""
    return " ".join(dict.fromkeys(org_term(org_id, w) for w in words_of(text)))


def query_words(query: str) -> list[str]:
    """The distinct folded words of a query, at most MAX_QUERY_WORDS."""
    return list(dict.fromkeys(words_of(query)))[:MAX_QUERY_WORDS]


def _word_matches(word: str, wanted: list[str]) -> bool:
    return any(word == w or (len(w) >= PREFIX_FROM and word.startswith(w)) for w in wanted)


# --- what is indexed -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One searchable item of a plan, before it is written as a SearchEntry."""

    kind: str
    ref: str
    label: str
    text: str


def _lines(*values) -> str:
    return "\n".join(str(v).strip() for v in values if v is not None and str(v).strip())


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def title_item(plan: Plan) -> Item:
    return Item(Kind.TITLE, "", "Title", plan.title)


def contact_item(contact: Contact) -> Item:
    return Item(Kind.CONTACT, str(contact.pk), _label(f"Contact {contact.name}"),
                _lines(contact.name, contact.role, contact.phone, contact.email, contact.notes))


def process_item(process: Process) -> Item:
    dependencies = process.dependencies_json if isinstance(process.dependencies_json, list) else []
    return Item(Kind.PROCESS, str(process.pk), _label(f"Process {process.name}"),
                _lines(process.name, process.description, *dependencies))


def risk_item(risk: Risk, owner_name: str = "") -> Item:
    return Item(Kind.RISK, str(risk.pk), _label(f"Risk {risk.threat}"),
                _lines(risk.threat, risk.mitigation, owner_name))


def section_text(section: dict, values, *, contacts: dict, users: dict) -> str:
    """A section's values as text: one line per filled field, one per table row (yes/no fields left out)."""
    values = values if isinstance(values, dict) else {}
    lines = []
    for spec in section["fields"]:
        value = values.get(spec["key"])
        if spec.get("type") == "boolean" or is_empty(value):
            continue
        if spec.get("type") == "table":
            _headers, rows = table_display(spec, value, contacts=contacts, users=users)
            lines.extend("; ".join(cell for cell in row if cell and cell != EMPTY) for row in rows)
        else:
            lines.append(display_value(spec, value, contacts=contacts, users=users))
    return _lines(*(line for line in lines if line != EMPTY))


def section_items(sections: list[dict], content: dict, *, contacts: dict, users: dict) -> list[Item]:
    """The sections with text (a section left empty has no entry)."""
    items = []
    for section in sections:
        text = section_text(section, (content or {}).get(section["key"]), contacts=contacts, users=users)
        if text:
            items.append(Item(Kind.SECTION, section["key"], _label(f"Section {section['title']}"), text))
    return items


def _refers_to_contacts(section: dict) -> bool:
    for spec in section["fields"]:
        if spec.get("type") == CONTACT_REF:
            return True
        if spec.get("type") == "table" and any(c.get("type") == CONTACT_REF for c in spec.get("columns", [])):
            return True
    return False


def _people_names(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """(org id, user id) -> name, for people of that organisation only (one query; none for no pairs)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    people = (get_user_model().objects.filter(pk__in={u for _, u in pairs},
                                              membership__organisation_id__in={o for o, _ in pairs})
              .annotate(org_id=F("membership__organisation_id")).only("id", "username", "first_name", "last_name"))
    return {(p.org_id, p.pk): display_name(p) for p in people if (p.org_id, p.pk) in pairs}


# --- writing entries -----------------------------------------------------------------------------

@dataclass
class SyncCounts:
    added: int = 0
    changed: int = 0
    removed: int = 0

    def __iadd__(self, other: SyncCounts) -> SyncCounts:
        self.added += other.added
        self.changed += other.changed
        self.removed += other.removed
        return self


def _sync(scope, wanted: Iterable[tuple[Plan, Item]]) -> SyncCounts:
    """Make the entries in `scope` (a SearchEntry queryset) exactly `wanted`; unchanged rows are not written.

    Queries: one read of the scope, then one per kind of write needed (delete, update, insert).
    """
    existing = {(e.plan_id, e.kind, e.ref): e for e in scope.only("id", "plan_id", "kind", "ref", "label", "text",
                                                                  "terms")}
    now = timezone.now()
    create, update = [], []
    for plan, item in wanted:
        terms = index_terms(plan.org_id, item.text)
        old = existing.pop((plan.pk, item.kind, item.ref), None)
        if old is None:
            create.append(SearchEntry(org_id=plan.org_id, plan_id=plan.pk, kind=item.kind, ref=item.ref,
                                      label=item.label, text=item.text, terms=terms, updated_at_utc=now))
        elif (old.label, old.text, old.terms) != (item.label, item.text, terms):
            old.label, old.text, old.terms, old.updated_at_utc = item.label, item.text, terms, now
            update.append(old)
    if existing:
        SearchEntry.objects.filter(pk__in=[e.pk for e in existing.values()]).delete()
    if update:
        SearchEntry.objects.bulk_update(update, ["label", "text", "terms", "updated_at_utc"], batch_size=500)
    if create:
        SearchEntry.objects.bulk_create(create, batch_size=500)
    return SyncCounts(len(create), len(update), len(existing))


def _entries(plan: Plan, kind: str | None = None, refs: Iterable[str] | None = None):
    scope = SearchEntry.objects.filter(org_id=plan.org_id, plan_id=plan.pk)
    if kind is not None:
        scope = scope.filter(kind=kind)
    if refs is not None:
        scope = scope.filter(ref__in=list(refs))
    return scope


# The functions below are called by the services after they write, inside their transaction.

def search_title_index(*, plan: Plan) -> None:
    """The plan's title entry (after a rename)."""
    if plan.org_id is not None:
        _sync(_entries(plan, Kind.TITLE), [(plan, title_item(plan))])


def search_sections_index(*, plan: Plan, keys: Iterable[str] | None = None, sections: list[dict] | None = None) -> None:
    """The entries of the working copy's sections `keys` (all of them by default: after a template change).

    Queries: the template's sections unless given, the contacts and people the sections name (if
    any), and the entries.
    """
    if plan.org_id is None:
        return
    sections = sections if sections is not None else template_sections(plan.template)
    keys = None if keys is None else set(keys)
    chosen = [s for s in sections if keys is None or s["key"] in keys]
    content = plan.draft_content_json or {}
    contact_ids, user_ids = reference_ids(chosen, content)
    contacts = dict(plan.contacts.filter(pk__in=contact_ids).values_list("pk", "name")) if contact_ids else {}
    names = _people_names((plan.org_id, u) for u in user_ids)
    users = {u: name for (_org, u), name in names.items()}
    items = section_items(chosen, content, contacts=contacts, users=users)
    _sync(_entries(plan, Kind.SECTION, keys), [(plan, item) for item in items])


def search_row_index(*, plan: Plan, row: Contact | Process | Risk) -> None:
    """The entry of a contact, process or risk just saved; a contact's name also refreshes the
    sections that name contacts."""
    if plan.org_id is None:
        return
    if isinstance(row, Contact):
        item = contact_item(row)
    elif isinstance(row, Process):
        item = process_item(row)
    else:
        item = risk_item(row, display_name(row.owner_user) if row.owner_user_id else "")
    _sync(_entries(plan, item.kind, [item.ref]), [(plan, item)])
    if isinstance(row, Contact):
        _contact_sections_index(plan)


def search_row_unindex(*, plan: Plan, kind: str, row_id: int) -> None:
    """Remove the entry of a contact, process or risk just removed."""
    if plan.org_id is None:
        return
    _sync(_entries(plan, kind, [str(row_id)]), [])
    if kind == Kind.CONTACT:
        _contact_sections_index(plan)


def _contact_sections_index(plan: Plan) -> None:
    sections = template_sections(plan.template)
    keys = [s["key"] for s in sections if _refers_to_contacts(s)]
    if keys:
        search_sections_index(plan=plan, keys=keys, sections=sections)


def search_plan_index(*, plan: Plan) -> SyncCounts:
    """Every entry of one plan (a new plan)."""
    return _plans_index([plan]) if plan.org_id is not None else SyncCounts()


def _plans_index(plans: list[Plan]) -> SyncCounts:
    """Every entry of these plans: reads the template sections, rows and named people of all of them at once."""
    plans = [p for p in plans if p.org_id is not None]
    if not plans:
        return SyncCounts()
    ids = [p.pk for p in plans]
    rows: dict[int, dict[str, list]] = {p.pk: {"contacts": [], "processes": [], "risks": []} for p in plans}
    for contact in Contact.objects.filter(plan_id__in=ids).order_by("pk"):
        rows[contact.plan_id]["contacts"].append(contact)
    for process in Process.objects.filter(plan_id__in=ids).order_by("pk"):
        rows[process.plan_id]["processes"].append(process)
    for risk in Risk.objects.filter(plan_id__in=ids).order_by("pk"):
        rows[risk.plan_id]["risks"].append(risk)
    sections_of = {p.pk: template_sections(p.template) for p in plans}
    wanted_people = set()
    for plan in plans:
        _contacts, users = reference_ids(sections_of[plan.pk], plan.draft_content_json or {})
        wanted_people |= {(plan.org_id, u) for u in users}
        wanted_people |= {(plan.org_id, r.owner_user_id) for r in rows[plan.pk]["risks"] if r.owner_user_id}
    names = _people_names(wanted_people)
    wanted: list[tuple[Plan, Item]] = []
    for plan in plans:
        mine = rows[plan.pk]
        users = {u: name for (org, u), name in names.items() if org == plan.org_id}
        contacts = {c.pk: c.name for c in mine["contacts"]}
        items = [title_item(plan), *section_items(sections_of[plan.pk], plan.draft_content_json or {},
                                                  contacts=contacts, users=users)]
        items += [contact_item(c) for c in mine["contacts"]]
        items += [process_item(p) for p in mine["processes"]]
        items += [risk_item(r, users.get(r.owner_user_id, "")) for r in mine["risks"]]
        wanted.extend((plan, item) for item in items)
    return _sync(SearchEntry.objects.filter(plan_id__in=ids), wanted)


def search_reindex(*, plan_ids: Iterable[int] | None = None, batch_size: int = 200) -> tuple[int, SyncCounts]:
    """Build or repair the entries of every plan (or of `plan_ids`): (plans read, what changed).

    Idempotent: entries already right are not written, so a second run reports no change.
    Each batch of plans is one transaction of a few queries (plans, templates and their sections,
    rows, people, entries) and the writes. The batch's plan rows are locked as the services lock
    them, so an edit made meanwhile waits and is indexed after, never overwritten by older text.
    """
    plans = Plan.objects.exclude(org=None).order_by("pk")
    if plan_ids is not None:
        plans = plans.filter(pk__in=list(plan_ids))
    plans = plans.prefetch_related("template", Prefetch("template__section_definitions"))
    total, counts, last = 0, SyncCounts(), 0
    while True:
        with transaction.atomic():
            batch = list(plans.select_for_update().filter(pk__gt=last)[:batch_size])
            if not batch:
                break
            counts += _plans_index(batch)
        total += len(batch)
        last = batch[-1].pk
    return total, counts


# --- the selector --------------------------------------------------------------------------------

@dataclass
class SearchHit:
    """One item found: its plan, where it is, the text around the match, and a link to it."""

    plan_id: int
    plan_title: str
    plan_status: str
    kind: str
    ref: str
    label: str
    snippet: SafeString
    url: str

    @property
    def plan_status_label(self) -> str:
        return Plan.Status(self.plan_status).label if self.plan_status in Plan.Status.values else self.plan_status


@dataclass
class SearchPage:
    """A page of hits, best first. No total count: `has_next` says whether another page exists."""

    query: str
    words: list[str]
    number: int = 1
    hits: list[SearchHit] = field(default_factory=list)
    has_next: bool = False
    narrow: bool = False  # more than CANDIDATES items match: the best of the first CANDIDATES are shown

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def last_allowed(self) -> bool:
        return self.number >= MAX_PAGES


def _search_sql(org_id: int, words: list[str]) -> tuple[str, list]:
    """The search query: at most CANDIDATES matching entries (their ids and scores only), then the page of
    them, best first, with the number of candidates (a window count) so the page can say "narrow it"."""
    entry, plan = SearchEntry._meta.db_table, Plan._meta.db_table
    columns = "e.plan_id, p.title, p.status, e.kind, e.ref, e.label, e.text, COUNT(*) OVER ()"
    page = (f"INNER JOIN {entry} e ON e.id = c.id INNER JOIN {plan} p ON p.id = e.plan_id "
            "ORDER BY c.score DESC, e.id DESC LIMIT %s OFFSET %s")
    if connection.vendor == "mysql":
        against = " ".join("+" + org_term(org_id, w) + ("*" if len(w) >= PREFIX_FROM else "") for w in words)
        match = "MATCH (terms) AGAINST (%s IN BOOLEAN MODE)"
        candidates = (f"SELECT id, {match} AS score FROM {entry} WHERE {match} AND org_id = %s "
                      f"LIMIT {CANDIDATES}")
        # STRAIGHT_JOIN: the candidates first, then each entry and its plan by primary key.
        return f"SELECT STRAIGHT_JOIN {columns} FROM ({candidates}) c {page}", [against, against, org_id]
    if connection.vendor == "sqlite":
        # Terms are letters and digits only: quoting them is enough to keep FTS5's operators out.
        expression = " AND ".join('"' + org_term(org_id, w) + '"' + ("*" if len(w) >= PREFIX_FROM else "")
                                  for w in words)
        # FTS5's rank is lower for better matches: its negative orders like MariaDB's score.
        candidates = (f"SELECT rowid AS id, -rank AS score FROM bc_search_fts WHERE bc_search_fts MATCH %s "
                      f"LIMIT {CANDIDATES}")
        return f"SELECT {columns} FROM ({candidates}) c {page} ", [expression]
    raise NotImplementedError(f"search has no full-text index on {connection.vendor}")


def search_entries(org_id: int | None, query: str, *, page: int = 1, per_page: int = 20) -> SearchPage:
    """Items of the organisation's plans that contain every word of `query`, best match first.

    One query, whatever the page (up to MAX_PAGES) or the size of the organisations; none for
    an empty query or a person without an organisation.
    """
    words = query_words(query)
    number = min(max(int(page), 1), MAX_PAGES)
    result = SearchPage(query=query, words=words, number=number)
    if org_id is None or not words:
        return result
    sql, params = _search_sql(org_id, words)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, per_page + 1, (number - 1) * per_page])
        rows = cursor.fetchall()
    result.has_next = len(rows) > per_page and number < MAX_PAGES
    result.narrow = bool(rows) and rows[0][-1] >= CANDIDATES
    plan_urls: dict[int, str] = {}
    for plan_id, title, status, kind, ref, label, text, _candidates in rows[:per_page]:
        if plan_id not in plan_urls:
            plan_urls[plan_id] = reverse("plans:plan_detail", args=[plan_id])
        url = plan_urls[plan_id]
        if kind == Kind.SECTION:
            url += f"#section-{ref}"
        elif kind != Kind.TITLE:
            url += f"#{kind}-{ref}"
        result.hits.append(SearchHit(plan_id=plan_id, plan_title=title, plan_status=status, kind=kind, ref=ref,
                                     label=label, snippet=snippet(text, words), url=url))
    return result


def snippet(text: str, words: list[str], *, size: int = SNIPPET_CHARS) -> SafeString:
    """The part of `text` around the first word found, escaped, with the words found in <mark>."""
    text = text or ""
    spans = [(m.start(), m.end()) for m in WORD.finditer(text) if _word_matches(fold(m.group()), words)]
    start = 0
    if spans and spans[0][1] > size:
        start = max(0, spans[0][0] - size // 3)
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.find(" ", end)
        end = space if space != -1 and space - end < 20 else end
    pieces, position = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        pieces.append(_plain(text[position:s]))
        pieces.append(format_html("<mark>{}</mark>", text[s:e]))
        position = e
    pieces.append(_plain(text[position:end]))
    html = ("… " if start > 0 else "") + "".join(pieces) + (" …" if end < len(text) else "")
    return mark_safe(html)  # every piece escaped above


def _plain(text: str) -> str:
    """Escaped text with line breaks (one field or row per line) shown as separators."""
    return re.sub(r"\s*\n\s*", " · ", str(escape(text)))
