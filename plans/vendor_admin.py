"""Vendors, resources and collaborators in the admin: scoped to the user's organisation, writing only through
the services the pages call (`plans.vendors`, `plans.resources`, `plans.collaborators`).

Vendors belong to the organisation directly (`org`); a vendor is added to the admin user's organisation
and removed only when no process depends on it. Resources are plan rows like contacts (`PlanRowAdmin`:
same edit lock, conflict rule, revision bump and audit as the plan page). Collaborators are added,
changed and removed through `collaborator_save` / `collaborator_remove`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bcp_site.text import display_name

from .admin import PlanRowAdmin, organisation_box
from .admin_scoping import OrgScopedHistoryAdmin, admin_organisation
from .collaborators import collaborator_remove, collaborator_save
from .forms import ResourceForm
from .resources import quantities_display, resource_delete, resource_save
from .vendor_forms import VendorForm
from .vendor_models import PlanCollaborator, Resource, Vendor
from .vendors import evidence_text, vendor_delete, vendor_dependents, vendor_save


@admin.register(Vendor)
class VendorAdmin(OrgScopedHistoryAdmin):
    """The organisation's vendor register: added and changed with `vendor_save`, removed with `vendor_delete`."""

    org_field = "org"
    form = VendorForm
    history_revert = True  # neither workflow nor evidence; a revert saves through the service
    list_display = ["name", "service", "criticality", "recovery_shown", "evidence_on", "updated_at_utc"]
    list_filter = ["criticality", organisation_box("org")]
    search_fields = ["name", "service", "contract_reference"]
    # idx_bc_vendor_org_updated for an organisation's vendors, idx_bc_vendor_updated across them (superusers).
    ordering = ["-updated_at_utc", "-id"]
    change_readonly_fields = ["org", "warnings", "dependents", "created_at_utc", "updated_at_utc"]

    def get_fields(self, request, obj=None):
        fields = list(VendorForm.Meta.fields)
        return fields if obj is None else [*fields, *self.change_readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else list(self.change_readonly_fields)

    def has_add_permission(self, request):
        # Vendors are added to the person's own organisation (decision 6: superusers too).
        return super().has_add_permission(request) and admin_organisation(request) is not None

    def save_model(self, request, obj, form, change):
        org = obj.org if change else admin_organisation(request)
        vendor = vendor_save(org=org, actor=request.user, values=form.service_values(),
                             vendor_id=obj.pk if change else None)
        obj.pk, obj.org = vendor.pk, vendor.org

    def get_deleted_objects(self, objs, request):
        # The processes that still depend on a vendor refuse its deletion: `vendor_delete` names them in words,
        # rather than the confirmation page listing link rows.
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, []

    def delete_model(self, request, obj):
        vendor_delete(vendor=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # all or nothing: a vendor still depended on refuses the whole selection
            for vendor in queryset:
                self.delete_model(request, vendor)

    @admin.display(description="committed recovery", ordering="recovery_minutes")
    def recovery_shown(self, obj):
        from templates_app.values import format_minutes

        return format_minutes(obj.recovery_minutes)

    @admin.display(description="warnings")
    def warnings(self, obj):
        rows, _total = vendor_dependents(obj)
        items = [f"Recovers after the RTO of {sum(1 for r in rows if r['gap'])} dependent process(es)"] \
            if any(r["gap"] for r in rows) else []
        evidence = evidence_text(obj.evidence_on, timezone.localdate())
        if evidence:
            items.append(evidence)
        return format_html_join("", "<p>{}</p>", ((item,) for item in items)) or "—"

    @admin.display(description="processes that depend on it")
    def dependents(self, obj):
        rows, total = vendor_dependents(obj)
        if not rows:
            return "—"
        table = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (row["process"].name, row["plan"].title, row["rto"], "recovers after the RTO" if row["gap"] else "")
            for row in rows))
        more = format_html("<p>{} of {} shown.</p>", len(rows), total) if total > len(rows) else ""
        return format_html("<table><thead><tr><th>process</th><th>plan</th><th>RTO</th><th>warning</th></tr></thead>"
                           "<tbody>{}</tbody></table>{}<p><a href=\"{}\">The vendor's page</a></p>", table, more,
                           obj.get_absolute_url())


class ResourceAdminForm(ResourceForm):
    class Meta(ResourceForm.Meta):
        fields = ["plan", *ResourceForm.Meta.fields]


@admin.register(Resource)
class ResourceAdmin(PlanRowAdmin):
    form = ResourceAdminForm
    list_display = ["name", "kind", "plan", "process"]
    list_filter = ["kind", organisation_box("plan__org")]
    search_fields = ["name", "primary_source", "alternate_source", "plan__title"]
    list_select_related = ["plan", "process"]
    raw_id_fields = ["plan", "process"]
    save_service, delete_service, id_kwarg = resource_save, resource_delete, "resource_id"

    @admin.display(description="quantities needed over time")
    def quantities_needed(self, obj):
        """Shown when the form is read-only (the plan is in review or archived)."""
        return quantities_display(obj.quantities.all()) or "—"


class CollaboratorAdminForm(forms.ModelForm):
    sections = forms.CharField(
        required=False, help_text="For a section owner: the keys of the sections they own, separated by commas.")

    class Meta:
        model = PlanCollaborator
        fields = ["plan", "user", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "sections" not in self.initial:
            self.initial["sections"] = ", ".join(self.instance.section_keys or [])

    def clean_sections(self):
        return [key.strip() for key in (self.cleaned_data.get("sections") or "").split(",") if key.strip()]


@admin.register(PlanCollaborator)
class PlanCollaboratorAdmin(OrgScopedHistoryAdmin):
    """A plan's collaborators, through `collaborator_save` / `collaborator_remove` (the page's services)."""

    org_field = "plan__org"
    form = CollaboratorAdminForm
    list_display = ["person", "role", "plan", "added_at_utc"]  # the sections (JSON) are on the change page
    list_filter = ["role", organisation_box("plan__org")]
    search_fields = ["user__username", "user__first_name", "user__last_name", "plan__title"]
    list_select_related = ["plan", "user"]
    ordering = ["-id"]  # newest first, on the primary key
    raw_id_fields = ["plan", "user"]

    def get_fields(self, request, obj=None):
        fields = ["plan", "user", "role", "sections"]
        return fields if obj is None else [*fields, "added_by_user", "added_at_utc", "page"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["plan", "added_by_user", "added_at_utc", "page"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        row = collaborator_save(plan=obj.plan, actor=request.user, user=data["user"], role=data["role"],
                                section_keys=data["sections"], collaborator_id=obj.pk if change else None)
        obj.pk = row.pk

    def delete_model(self, request, obj):
        collaborator_remove(plan=obj.plan, actor=request.user, collaborator_id=obj.pk)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for row in queryset.select_related("plan"):
                self.delete_model(request, row)

    @admin.display(description="person", ordering="user__username")
    def person(self, obj):
        return display_name(obj.user)

    @admin.display(description="on the site")
    def page(self, obj):
        return format_html('<a href="{}">The plan\'s collaborators</a>',
                           reverse("plans:plan_detail", args=[obj.plan_id]) + "#collaborators")
