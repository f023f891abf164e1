"""Vendor register pages (list, detail, add, edit, remove) and a plan's collaborators (add, edit, remove).

Views parse input, call one service (`plans.vendors`, `plans.collaborators`) and render or redirect.
A vendor is reached only through the user's organisation (`get_vendor_for_user`: 404 outside it); a
collaborator through its plan (`get_plan_for_user`). 403 when the role does not allow the change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from bcp_site.errors import error_html
from bcp_site.paging import keyset_page
from bcp_site.text import display_name
from templates_app.schema import template_sections

from . import collaborators as collaborator_services
from . import vendors as vendor_services
from .models import Plan
from .selectors import get_plan_for_user, organisation_for, organisation_id_for
from .services import ServiceError
from .submissions import AlreadySaved, SubmissionTokenField, already_saved_redirect, submitted_once
from .vendor_forms import CollaboratorForm, VendorFilterForm, VendorForm
from .vendor_models import PlanCollaborator

PERM_ADD_VENDOR = "plans.add_vendor"
PERM_CHANGE_VENDOR = "plans.change_vendor"
PERM_DELETE_VENDOR = "plans.delete_vendor"
PERM_ADD_COLLABORATOR = "plans.add_plancollaborator"
PERM_CHANGE_COLLABORATOR = "plans.change_plancollaborator"
PERM_DELETE_COLLABORATOR = "plans.delete_plancollaborator"
VENDORS_PER_PAGE = 25


class VendorCreateForm(VendorForm):
    submission_token = SubmissionTokenField()  # a double click adds one vendor (plans.submissions)


# --- vendors ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def vendor_list(request):
    """The organisation's vendors, latest change first, "Newer" / "Older" pages (no total count), with flags.

    Queries: the membership, one page (with each vendor's recovery-gap subquery), the user's permissions.
    """
    org_id = organisation_id_for(request.user)
    filter_form = VendorFilterForm(request.GET or None)
    filters = filter_form.filters() if request.GET else {"search": "", "criticality": "", "flag": ""}
    today = timezone.localdate()
    vendors = vendor_services.vendor_list_queryset(org_id, today=today, **filters)
    page = keyset_page(request, vendors, keys=("updated_at_utc", "id"), per_page=VENDORS_PER_PAGE)
    for vendor in page.object_list:
        vendor.evidence_flag = vendor_services.evidence_text(vendor.evidence_on, today)
    return render(request, "plans/vendors/list.html", {
        "filter_form": filter_form, "page": page, "vendors": page.object_list, "filtered": any(filters.values()),
        "can_add": request.user.has_perm(PERM_ADD_VENDOR) and org_id is not None,
    })


@login_required
@require_http_methods(["GET", "HEAD"])
def vendor_detail(request, vendor_id):
    """One vendor with its flags and the processes that depend on it (the first DEPENDENTS_SHOWN, shortest RTO
    first). Queries: the vendor, its dependents (and their count when there are many), the permissions."""
    vendor = vendor_services.get_vendor_for_user(request.user, vendor_id)
    today = timezone.localdate()
    dependents, total = vendor_services.vendor_dependents(vendor)
    return render(request, "plans/vendors/detail.html", {
        "vendor": vendor, "dependents": dependents, "total": total,
        "gaps": sum(1 for row in dependents if row["gap"]),
        "evidence_flag": vendor_services.evidence_text(vendor.evidence_on, today),
        "evidence_age": (today - vendor.evidence_on).days if vendor.evidence_on else None,
        "can_edit": request.user.has_perm(PERM_CHANGE_VENDOR),
        "can_delete": request.user.has_perm(PERM_DELETE_VENDOR),
    })


@login_required
@require_http_methods(["GET", "POST"])
def vendor_create(request):
    if not request.user.has_perm(PERM_ADD_VENDOR):
        raise PermissionDenied("Your role does not allow adding vendors.")
    organisation = organisation_for(request.user)
    if organisation is None:
        raise PermissionDenied("You are not a member of an organisation, so you have no vendor register.")
    form = VendorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with submitted_once(user=request.user, token=form.cleaned_data["submission_token"]) as submission:
                vendor = vendor_services.vendor_save(org=organisation, actor=request.user,
                                                     values=form.service_values())
                submission.result_url = vendor.get_absolute_url()
        except AlreadySaved as saved:  # a double click or a reload: the vendor of the first POST
            return already_saved_redirect(request, saved)
        except ServiceError as error:
            form.add_error("name" if error.code == "duplicate_name" else None, error.message)
        else:
            messages.success(request, f"Vendor “{vendor.name}” added to the register.")
            return redirect(vendor)
    return render(request, "plans/vendors/form.html", {"form": form, "vendor": None},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def vendor_edit(request, vendor_id):
    vendor = vendor_services.get_vendor_for_user(request.user, vendor_id)
    if not request.user.has_perm(PERM_CHANGE_VENDOR):
        raise PermissionDenied("Your role does not allow changing vendors.")
    form = VendorForm(request.POST or None, instance=vendor)
    if request.method == "POST" and form.is_valid():
        try:
            vendor = vendor_services.vendor_save(org=vendor.org, actor=request.user, values=form.service_values(),
                                                 vendor_id=vendor.pk)
        except ServiceError as error:
            form.add_error("name" if error.code == "duplicate_name" else None, error.message)
        else:
            messages.success(request, f"Vendor “{vendor.name}” saved.")
            return redirect(vendor)
    return render(request, "plans/vendors/form.html", {"form": form, "vendor": vendor},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def vendor_delete(request, vendor_id):
    """Confirm (GET) and remove (POST) a vendor no process depends on."""
    vendor = vendor_services.get_vendor_for_user(request.user, vendor_id)
    if not request.user.has_perm(PERM_DELETE_VENDOR):
        raise PermissionDenied("Your role does not allow removing vendors.")
    if request.method == "POST":
        try:
            vendor_services.vendor_delete(vendor=vendor, actor=request.user)
        except ServiceError as error:
            messages.error(request, error_html(error))
            return redirect(vendor)
        messages.success(request, f"Vendor “{vendor.name}” removed from the register.")
        return redirect("vendors:vendor_list")
    return render(request, "plans/vendors/delete.html", {"vendor": vendor})


# --- a plan's collaborators -------------------------------------------------------------------------------


def _plan(user, pk, *, perm: str) -> Plan:
    return get_plan_for_user(user, pk, perm=perm, queryset=Plan.objects.select_related("template")
                             .defer("draft_content_json"))


def _collaborator_page(request, plan: Plan, form, row: PlanCollaborator | None):
    return render(request, "plans/collaborators/form.html", {
        "plan": plan, "form": form, "row": row, "refusal": collaborator_services.collaborator_refusal(plan),
    }, status=400 if form.errors else 200)


def _back(plan: Plan):
    return redirect(reverse("plans:plan_detail", args=[plan.pk]) + "#collaborators")


@login_required
@require_http_methods(["GET", "POST"])
def collaborator_add(request, pk):
    plan = _plan(request.user, pk, perm=PERM_ADD_COLLABORATOR)
    sections = template_sections(plan.template)
    form = CollaboratorForm(request.POST or None, plan=plan, sections=sections)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row = collaborator_services.collaborator_save(plan=plan, actor=request.user, user=data["person"],
                                                          role=data["role"], section_keys=data["sections"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"{display_name(row.user)} added as {row.get_role_display().lower()}.")
            return _back(plan)
    return _collaborator_page(request, plan, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def collaborator_edit(request, pk, collaborator_id):
    plan = _plan(request.user, pk, perm=PERM_CHANGE_COLLABORATOR)
    row = get_object_or_404(plan.collaborators.select_related("user"), pk=collaborator_id)
    sections = template_sections(plan.template)
    initial = {"person": row.user, "role": row.role, "sections": list(row.section_keys or [])}
    form = CollaboratorForm(request.POST or None, plan=plan, sections=sections, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row = collaborator_services.collaborator_save(
                plan=plan, actor=request.user, user=data["person"], role=data["role"], section_keys=data["sections"],
                collaborator_id=row.pk)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"{display_name(row.user)}: {row.get_role_display().lower()}, saved.")
            return _back(plan)
    return _collaborator_page(request, plan, form, row)


@login_required
@require_http_methods(["GET", "POST"])
def collaborator_remove(request, pk, collaborator_id):
    plan = _plan(request.user, pk, perm=PERM_DELETE_COLLABORATOR)
    row = get_object_or_404(plan.collaborators.select_related("user"), pk=collaborator_id)
    if request.method == "POST":
        try:
            collaborator_services.collaborator_remove(plan=plan, actor=request.user, collaborator_id=row.pk)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{display_name(row.user)} is no longer a {row.get_role_display().lower()} "
                                      "of this plan.")
        return _back(plan)
    return render(request, "plans/collaborators/remove.html", {"plan": plan, "row": row,
                                                                "name": display_name(row.user)})
