"""Plan pages: access rules of every page, the list (filters, paging), create, detail, query counts."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from bcp_site.testing import NAVIGATION_COUNTS, add_children, make_plan, make_user
from plans.hooks import plan_page_context
from plans.models import Audit, Contact, Plan, Process, Risk
from plans.panels import changes_panel, files_panel
from plans.selectors import plan_detail_queryset

pytestmark = pytest.mark.django_db


def _row_ids(plan):
    contact = Contact.objects.create(plan=plan, name="Alice Duty", role="Incident lead")
    process = Process.objects.create(plan=plan, name="Payroll", rto_minutes=240, mtpd_minutes=480)
    risk = Risk.objects.create(plan=plan, threat="Flood", likelihood="possible", impact="major", rating="high")
    return {"contact": contact.pk, "process": process.pk, "risk": risk.pk}


# (url name, needs the row of kind, is an edit page)
PLAN_PAGES = [
    ("plans:plan_detail", None, False),
    ("plans:version_list", None, False),
    ("plans:version_compare", None, False),
    ("plans:section_edit", "section", True),
    ("plans:version_create", None, True),
    ("plans:contact_add", None, True),
    ("plans:contact_edit", "contact", True),
    ("plans:contact_delete", "contact", True),
    ("plans:process_add", None, True),
    ("plans:process_edit", "process", True),
    ("plans:process_delete", "process", True),
    ("plans:risk_add", None, True),
    ("plans:risk_edit", "risk", True),
    ("plans:risk_delete", "risk", True),
    ("plans:version_detail", "version", False),
]


def _url(name, plan, need, ids):
    if need is None:
        return reverse(name, args=[plan.pk])
    if need == "section":
        return reverse(name, args=[plan.pk, "overview"])
    if need == "version":
        return reverse(name, args=[plan.pk, 1])
    return reverse(name, args=[plan.pk, ids[need]])


@pytest.mark.parametrize(("name", "need", "edit"), PLAN_PAGES)
def test_plan_page_access(client, plan, owner, member, outsider, name, need, edit):
    ids = _row_ids(plan)
    url = _url(name, plan, need, ids)

    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))

    client.force_login(outsider)
    assert client.get(url).status_code == 404

    client.force_login(member)
    assert client.get(url).status_code == (403 if edit else 200)
    if edit:
        assert client.post(url, {"edit_revision": plan.edit_revision}).status_code == 403

    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert "Head office plan" in response.content.decode()


def test_list_and_create_pages_need_login_and_create_needs_the_permission(client, member, owner):
    for name in ("plans:plan_list", "plans:plan_create"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(member)
    assert client.get(reverse("plans:plan_list")).status_code == 200
    assert client.get(reverse("plans:plan_create")).status_code == 403
    assert client.post(reverse("plans:plan_create"), {"title": "x"}).status_code == 403
    client.force_login(owner)
    assert client.get(reverse("plans:plan_create")).status_code == 200


def test_plans_of_other_organisations_are_not_listed(client, plan, outsider, other_org):
    make_plan(other_org, outsider, title="Other corp plan")
    client.force_login(outsider)
    page = client.get(reverse("plans:plan_list")).content.decode()
    assert "Other corp plan" in page and "Head office plan" not in page


def test_list_filters_by_status_owner_and_title(client, org, plan, owner, editor, template):
    second = make_plan(org, editor, template=template, title="Warehouse plan")
    Plan.objects.filter(pk=second.pk).update(status=Plan.Status.APPROVED)
    client.force_login(owner)

    def titles(**params):
        page = client.get(reverse("plans:plan_list"), params).content.decode()
        return {t for t in ("Head office plan", "Warehouse plan") if t in page}

    assert titles() == {"Head office plan", "Warehouse plan"}
    assert titles(status="approved") == {"Warehouse plan"}
    assert titles(status="draft") == {"Head office plan"}
    assert titles(owner="editor2") == {"Warehouse plan"}
    assert titles(owner=f"#{editor.pk}", status="approved") == {"Warehouse plan"}
    assert titles(q="head OFFICE") == {"Head office plan"}
    assert titles(q="nothing like it") == set()


def test_list_is_sorted_by_last_update_and_paginated(client, org, owner, template):
    for i in range(27):
        make_plan(org, owner, template=template, title=f"Plan number {i:02d}")
    client.force_login(owner)
    response = client.get(reverse("plans:plan_list"), {"q": "number"})
    first = response.content.decode()
    assert first.index("Plan number 26") < first.index("Plan number 25")
    assert "Older" in first and "Newer" not in first and "Plan number 01" not in first
    cursor = response.context["page"].older_cursor
    assert f"?q=number&amp;cursor={cursor}" in first  # the filters stay in the pager's links
    second = client.get(reverse("plans:plan_list"), {"cursor": cursor, "q": "number"}).content.decode()
    assert "Plan number 00" in second and "Plan number 01" in second and "Plan number 26" not in second
    assert "Newer" in second and "Older" not in second


def test_list_shows_status_and_review_needed_badges(client, plan, owner):
    client.force_login(owner)
    badge = 'title="A linked change happened after the last approval">Review needed</span>'
    page = client.get(reverse("plans:plan_list")).content.decode()
    assert 'badge badge-draft">Draft' in page and badge not in page
    Plan.objects.filter(pk=plan.pk).update(review_needed=True)
    assert badge in client.get(reverse("plans:plan_list")).content.decode()


def test_create_plan_from_template_with_owner_from_the_organisation(client, owner, editor, outsider, template):
    client.force_login(owner)
    form_page = client.get(reverse("plans:plan_create")).content.decode()
    assert "Small template" in form_page and 'value="Owner (owner)"' in form_page  # the owner field: a search
    assert "Editor2" not in form_page and "Outsider" not in form_page  # nobody else is listed

    for typed in ("outsider", f"#{outsider.pk}"):
        refused = client.post(reverse("plans:plan_create"), {"template": template.pk, "title": "X", "owner": typed})
        assert refused.status_code == 200
        assert f"Nobody in your organisation matches “{typed}”" in refused.content.decode()
    assert not Plan.objects.filter(title="X").exists()

    response = client.post(reverse("plans:plan_create"),
                           {"template": template.pk, "title": "  Data centre plan ", "owner": "Editor2"})
    plan = Plan.objects.get(title="Data centre plan")
    assert response.status_code == 302 and response.url == plan.get_absolute_url()
    assert plan.owner_user == editor and plan.org == owner.membership.organisation
    assert plan.current_version.version_number == 1
    assert plan.current_version.content_json["overview"]["scope"] == "All sites"
    assert plan.draft_content_json["maintenance"]["review_cadence"] == "annually"
    assert Audit.objects.filter(plan=plan, action="plan_created", actor_user=owner).exists()


def test_create_form_preselects_the_default_template(client, owner, template):
    from bcp_site.testing import make_template

    Plan.objects.all().delete()
    from templates_app.models import Template as BcTemplate

    BcTemplate.objects.filter(is_default=True).update(is_default=False)
    default = make_template(name="Zz default", is_default=True)
    client.force_login(owner)
    page = client.get(reverse("plans:plan_create")).content.decode()
    assert f'<option value="{default.pk}" selected>' in page


def test_detail_shows_sections_rows_chart_heatmap_and_audit(client, plan, owner):
    plan.draft_content_json["overview"]["purpose"] = "Keep payroll running"
    plan.save()
    _row_ids(plan)
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert page.index("Plan overview") < page.index("Maintenance and review")  # template order
    assert "Keep payroll running" in page and "annually" in page
    assert "Alice Duty" in page and "Incident lead" in page
    assert "4 h" in page and "8 h" in page  # RTO / MTPD in human units
    assert "<svg" in page and "RTO" in page
    assert 'class="heatmap"' in page and "Flood" in page
    assert "Plan created" in page and "Version 1" in page
    assert "Unsaved changes since version 1" in page  # rows added after version 1


def test_detail_has_no_unsaved_flag_right_after_a_revision(client, plan, owner):
    client.force_login(owner)
    assert "Unsaved changes" not in client.get(plan.get_absolute_url()).content.decode()


def _panel_queries(django_assert_max_num_queries, user, pk):
    """Queries the four panels of other features run on the plan page (they promise a fixed number)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request = RequestFactory().get("/")
    request.user = type(user).objects.get(pk=user.pk)
    request.user.has_perm("plans.change_plan")  # the page has loaded the permissions already
    plan = plan_detail_queryset().get(pk=pk)
    tpl = Template("{% load workflow_tags ack_tags file_tags change_tags %}{% plan_workflow_panel plan workflow %}"
                   "{% plan_ack_panel plan ack_panel %}{% plan_files_panel plan files_panel %}"
                   "{% plan_changes_panel plan changes_panel %}")
    with CaptureQueriesContext(connection) as captured:
        # The page computes the panels' answers once (its own and the reviews hook's); the tags only render.
        extra = {**plan_page_context(request=request, plan=plan), "files_panel": files_panel(plan, request.user),
                 "changes_panel": changes_panel(plan)}
        rendering = len(captured)
        tpl.render(Context({"plan": plan, "request": request, "user": request.user, **extra}))
        assert len(captured) == rendering, "a panel's template tag ran a query"
    return len(captured)


PLAN_DETAIL_QUERIES = (
    1    # session
    + 1  # user
    + 1  # plan (+ template, owner, active and approved version) within the user's organisation
    + 1  # template section rows (template_sections)
    + 1  # contacts
    + 1  # the processes' vendors (+ vendor): the snapshot and the vendors panel
    + 1  # processes
    + 1  # risks (+ owner)
    + 1  # resources (+ process); their quantities only when there are resources
    + 1  # collaborators (+ person)
    + 1  # latest versions (+ author)
    + 1  # latest audit entries (+ actor)
    + 2  # permissions of the user (user and group permissions, cached for the request)
    + 2  # newest exercises (the testing section), open findings (+ owner): plans.exercises.exercises_panel
    + NAVIGATION_COUNTS
)


@pytest.mark.parametrize("children", [3, 100])
def test_plan_detail_runs_a_fixed_number_of_queries(client, plan, owner, children, django_assert_num_queries,
                                                     django_assert_max_num_queries):
    add_children(plan, children)
    panels = _panel_queries(django_assert_max_num_queries, owner, plan.pk)
    client.force_login(owner)
    with django_assert_num_queries(PLAN_DETAIL_QUERIES + panels):
        response = client.get(plan.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Contact {children - 1}" in page and f"Threat {children - 1}" in page


PLAN_LIST_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the user's membership (the organisation's id)
    + 1  # one page of plans + 1 row (+ active version); no count
    + 1  # the owners of the plans shown
    + 2  # permissions of the user (the "New plan" button; cached for the request)
    + NAVIGATION_COUNTS
)


@pytest.mark.parametrize("children", [3, 100])
def test_plan_list_runs_a_fixed_number_of_queries(client, org, plan, owner, template, children,
                                                   django_assert_num_queries):
    for i in range(3):
        add_children(make_plan(org, owner, template=template, title=f"Extra {i}"), children)
    add_children(plan, children)
    client.force_login(owner)
    with django_assert_num_queries(PLAN_LIST_QUERIES):
        response = client.get(reverse("plans:plan_list"))
    assert response.status_code == 200 and "Extra 2" in response.content.decode()


def test_viewer_sees_no_edit_buttons(client, plan, member):
    client.force_login(member)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "Save revision" not in page and "Add contact" not in page
    assert reverse("plans:section_edit", args=[plan.pk, "overview"]) not in page


def test_user_without_organisation_sees_no_plans(client, plan):
    loner = make_user(None, username="loner", groups=["BCP Editor"])
    client.force_login(loner)
    assert "Head office plan" not in client.get(reverse("plans:plan_list")).content.decode()
    assert client.get(plan.get_absolute_url()).status_code == 404
    assert client.get(reverse("plans:plan_create")).status_code == 403
