"""Locked means locked: an editor opening a plan in review or an archived plan in a real browser
(Debian's Chromium) finds no control that would change it, and a message saying why and who can
unlock it. A draft plan shows the same editor those controls, so the check sees them when they are there.

Which addresses change a plan is read from the URL resolver (the plans and files namespaces), not
listed here: a page added later is checked the day it exists.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, get_resolver

from bcp_site.pytest_plugin import browser_login
from bcp_site.testing import make_plan
from plans import services
from plans.attachments import attachment_upload
from reviews.services import plan_archive, plan_submit_for_review, review_approve

NAMESPACES = ("plans", "files")
# A per-plan address whose name says it changes something (a page with a form, or the action itself).
EDIT_NAME = re.compile(r"(^|_)(edit|add|new|create|delete|remove|change|upload)(_|$)")
CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def plan_routes() -> dict[str, str]:
    """Every route of the plans and files namespaces that takes a plan: {"plans:section_edit": route}."""
    routes = {}
    for namespace in NAMESPACES:
        prefix, resolver = get_resolver().namespace_dict[namespace]
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLPattern) and pattern.name and "<id:pk>" in route:
                routes[f"{namespace}:{pattern.name}"] = route
    return routes


def edit_route_names() -> set[str]:
    return {name for name in plan_routes() if EDIT_NAME.search(name.split(":", 1)[1])}


def route_regex(route: str, plan_pk: int) -> re.Pattern:
    """The route as a regular expression of paths, for this plan (any value for its other parts)."""
    parts, last = [], 0
    for match in CONVERTER.finditer(route):
        parts.append(re.escape(route[last:match.start()]))
        parts.append(str(plan_pk) if match["name"] == "pk" else "[^/]+")
        last = match.end()
    parts.append(re.escape(route[last:]))
    return re.compile("^/" + "".join(parts) + "$")


def controls(page) -> dict:
    """Links, forms and file inputs of the page as the browser resolves them (absolute addresses)."""
    return page.evaluate("""() => ({
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
        forms: [...document.querySelectorAll('form')].map(
            f => ({method: (f.getAttribute('method') || 'get').toLowerCase(), action: f.action})),
        formactions: [...document.querySelectorAll('[formaction]')].map(b => b.formAction),
        file_inputs: document.querySelectorAll('input[type=file]').length,
    })""")


def change_controls(page, plan) -> list[str]:
    """What on this page would change the plan: links to its edit pages, forms that post to any of its
    addresses in the plans and files namespaces, file inputs."""
    routes = plan_routes()
    edits = {name: route_regex(routes[name], plan.pk) for name in edit_route_names()}
    every = {name: route_regex(route, plan.pk) for name, route in routes.items()}
    found = []
    seen = controls(page)
    for href in seen["links"]:
        path = urlsplit(href).path
        found += [f"link to {name} ({path})" for name, regex in edits.items() if regex.match(path)]
    posts = [form["action"] for form in seen["forms"] if form["method"] == "post"] + seen["formactions"]
    for action in posts:
        path = urlsplit(action).path
        found += [f"form posting to {name} ({path})" for name, regex in every.items() if regex.match(path)]
    if seen["file_inputs"]:
        found.append(f"{seen['file_inputs']} file upload field(s)")
    return sorted(set(found))


def test_the_edit_addresses_come_from_the_resolver():
    names = edit_route_names()
    assert {"plans:section_edit", "plans:contact_add", "plans:contact_edit", "plans:contact_delete",
            "plans:process_add", "plans:risk_delete", "plans:template_change", "plans:version_create",
            "files:attachment_delete"} <= names
    assert not names & {"plans:plan_detail", "plans:version_list", "plans:version_detail", "plans:version_compare",
                        "files:attachment_list", "files:attachment_download", "files:version_export"}
    regex = route_regex(plan_routes()["plans:contact_edit"], 12)
    assert regex.match("/plans/12/contacts/7/edit/") and not regex.match("/plans/13/contacts/7/edit/")


def with_a_file(plan, owner):
    attachment_upload(plan=plan, actor=owner,
                      uploaded_file=SimpleUploadedFile("call-tree.txt", b"Call tree: duty manager first\n"))
    return plan


@pytest.mark.browser
# serialized_rollback: the flush after a live-server test would otherwise drop the rows of the
# data migrations (permission groups, default template) for the transactional tests after it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_editor_finds_no_edit_control_on_a_locked_plan_and_is_told_who_can_unlock_it(
    browser_page, monkeypatch, org, owner, editor, reviewer, bcp_admin, template
):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)  # not what this is about
    page = browser_page
    draft = with_a_file(make_plan(org, owner, template=template, title="Draft plan"), owner)
    in_review = with_a_file(make_plan(org, owner, template=template, title="Plan in review"), owner)
    plan_submit_for_review(plan=in_review, actor=owner, reviewers=[reviewer])
    archived = with_a_file(make_plan(org, owner, template=template, title="Archived plan"), owner)
    [review] = plan_submit_for_review(plan=archived, actor=owner, reviewers=[reviewer])
    review_approve(review=review, actor=reviewer)
    plan_archive(plan=archived, actor=bcp_admin)
    browser_login(page, editor.username)

    # The draft: the editor can change it, and the check sees every kind of control.
    for plan in (draft, in_review, archived):
        plan.refresh_from_db()
    page.goto(page.base_url + draft.get_absolute_url())
    found = change_controls(page, draft)
    for kind in ("link to plans:section_edit", "link to plans:contact_edit", "link to plans:risk_add",
                 "link to plans:version_create", "file upload field", "form posting to files:attachment_list"):
        assert any(kind in control for control in found), (kind, found)
    page.shot("locked-draft-has-controls")

    for plan, why, who in ((in_review, "This plan is in review", "withdraw it from review"),
                           (archived, "This plan is archived", "A BCP Admin can restore it")):
        refusal = services.plan_edit_refusal(plan)
        assert refusal is not None
        for where, url in (("plan", plan.get_absolute_url()), ("attachments", f"/plans/{plan.pk}/attachments/")):
            page.goto(page.base_url + url)
            assert page.locator("h1").count() == 1, url
            assert change_controls(page, plan) == [], f"{plan.title}, {url}"
            text = " ".join(page.locator("main").inner_text().split())
            assert why in text and who in text, (url, text[:500])
            page.shot(f"locked-{plan.status}-{where}")
