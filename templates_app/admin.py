import json

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse

from bcp_site.admin_base import HistoryAdmin, search_box_filter
from bcp_site.errors import ServiceError

from .forms import SectionDefinitionAdminForm, TemplateAdminForm
from .models import SectionDefinition, Template
from .services import (
    FROZEN_MESSAGE,
    next_version_label,
    template_check_editable,
    template_export,
    template_in_use,
    template_new_version,
)


class SectionDefinitionInlineForm(SectionDefinitionAdminForm):
    class Meta(SectionDefinitionAdminForm.Meta):
        fields = ["key", "title", "order_index", "schema_json"]


class TemplateOwnerMixin:
    """Who may manage which template: superusers every one; others their organisation's own.

    Global templates (no organisation) are read by everyone and managed by superusers. The
    organisation of the person is a hook (`manager_org_id`) that `plans.admin` fills in:
    this app sits below plans and does not know memberships.
    """

    def manager_org_id(self, request) -> int | None:
        """The organisation whose templates the person manages (asked of the registered template admin)."""
        registered = self.admin_site._registry.get(Template)
        inherited = type(registered).manager_org_id is TemplateOwnerMixin.manager_org_id if registered else True
        if registered is None or registered is self or inherited:
            return None
        return registered.manager_org_id(request)

    def may_manage(self, request, template) -> bool:
        if request.user.is_superuser:
            return True
        org_id = self.manager_org_id(request)
        return template is not None and org_id is not None and template.org_id == org_id

    def frozen(self, template) -> bool:
        return template is not None and template.pk is not None and template_in_use(template)


class SectionDefinitionInline(TemplateOwnerMixin, admin.StackedInline):
    """Section rows of a template: fixed once the template is in use (its layout is frozen)."""

    model = SectionDefinition
    form = SectionDefinitionInlineForm
    extra = 0

    def _may_edit(self, request, obj) -> bool:
        return obj is None or (self.may_manage(request, obj) and not self.frozen(obj))

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_delete_permission(request, obj)


def _names(templates) -> str:
    return ", ".join(f"“{t}”" for t in templates)


@admin.action(permissions=["delete"], description="Delete selected templates")
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete, refused (with a message) when a selected template is used by a plan."""
    in_use = [t for t in queryset if template_in_use(t)]
    if in_use:
        modeladmin.message_user(
            request,
            f"Nothing was deleted: {_names(in_use)} {'is' if len(in_use) == 1 else 'are'} used by plans. "
            "A template in use cannot be deleted; make a new version instead.",
            messages.ERROR,
        )
        return None
    return django_delete_selected(modeladmin, request, queryset)


@admin.register(Template)
class TemplateAdmin(TemplateOwnerMixin, HistoryAdmin):
    """Templates: global ones for superusers, an organisation's own for its BCP Admins.

    Once a plan version is written with a template its layout is frozen (schema, sections,
    version label and owner are read-only): "Make a new version" copies it for changes.
    """

    form = TemplateAdminForm
    list_display = ["name", "version", "org", "is_default", "plan_count", "updated_at"]
    list_filter = ["is_default"]
    search_fields = ["name", "description"]
    inlines = [SectionDefinitionInline]
    actions = [delete_selected, "make_new_version", "export_json"]
    ordering = ["name", "version"]

    def get_queryset(self, request):
        # plan_count in the list: one aggregate instead of a query per row.
        qs = super().get_queryset(request).select_related("org").annotate(plan_count=Count("plans"))
        return qs if request.user.is_superuser else qs.offered_to(self.manager_org_id(request))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None or request.user.is_superuser:
            return form_class
        org_id = self.manager_org_id(request)

        class OwnedForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.instance.org_id = org_id  # validated (one default, unique version) as its owner's

        return OwnedForm

    def get_fields(self, request, obj=None):
        fields = ["name", "version", "description", "is_default", "schema_json"]
        if request.user.is_superuser:
            fields.insert(0, "org")
        return [*fields, *[f for f in self.get_readonly_fields(request, obj) if f not in fields]]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["created_at", "updated_at"]
        if obj is not None and self.frozen(obj):
            fixed = ["org", "version", "schema_json", *fixed]
        elif not request.user.is_superuser:
            fixed = ["org", *fixed]
        return fixed

    def has_add_permission(self, request):
        return super().has_add_permission(request) and (
            request.user.is_superuser or self.manager_org_id(request) is not None
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or self.may_manage(request, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or self.may_manage(request, obj))

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            obj.org_id = self.manager_org_id(request)  # a BCP Admin's templates belong to their organisation
        if change and self.frozen(obj) and form.has_changed():
            # Only name, description and default are editable here (the rest is read-only);
            # the check holds even if a form was built before the template came into use.
            frozen = {"org", "version", "schema_json"} & set(form.changed_data)
            if frozen:
                raise ServiceError(FROZEN_MESSAGE.format(template=obj), code="template_frozen")
        super().save_model(request, obj, form, change)

    @admin.display(description="plans", ordering="plan_count")
    def plan_count(self, obj):
        return obj.plan_count

    def has_manage_permission(self, request):
        return request.user.has_perm("templates_app.manage_templates")

    @admin.action(permissions=["manage"], description="Make a new version")
    def make_new_version(self, request, queryset):
        made = []
        for template in queryset:
            # A global template copied by a BCP Admin becomes their organisation's own version.
            owner = None if self.may_manage(request, template) else self.manager_org_id(request)
            if owner is None and not self.may_manage(request, template):
                self.message_user(request, f"“{template}”: not done, you manage no organisation's templates.",
                                  messages.ERROR)
                continue
            try:
                made.append(template_new_version(
                    template=template, version=next_version_label(template, org_id=owner), actor=request.user,
                    org_id=owner,
                ))
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        if made:
            self.message_user(
                request,
                f"Made {len(made)} new template version(s): {_names(made)}. Plans keep the version they use.",
                messages.SUCCESS,
            )

    @admin.action(permissions=["view"], description="Download as JSON (one template)")
    def export_json(self, request, queryset):
        templates = list(queryset[:2])
        if len(templates) != 1:
            self.message_user(request, "Select exactly one template to download.", messages.WARNING)
            return None
        template = templates[0]
        response = HttpResponse(
            json.dumps(template_export(template=template), indent=2, ensure_ascii=False) + "\n",
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="template-{template.pk}.json"'
        return response

    def delete_view(self, request, object_id, extra_context=None):
        template = self.get_object(request, unquote(object_id))
        if template is not None and template_in_use(template):
            count = template.plans.count()
            self.message_user(
                request,
                f"“{template}” is used by {count} plan{'s' if count != 1 else ''}, so it cannot be deleted. "
                "Make a new version instead, or delete the plans first.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:templates_app_template_change", args=[template.pk]))
        return super().delete_view(request, object_id, extra_context)


@admin.register(SectionDefinition)
class SectionDefinitionAdmin(TemplateOwnerMixin, HistoryAdmin):
    """Section rows, managed like their template (and fixed once it is in use)."""

    form = SectionDefinitionAdminForm
    list_display = ["title", "key", "template", "order_index"]
    # A box, not a line per template (the filter works inside the templates this person sees).
    list_filter = [search_box_filter("template", "template", match=("name",), placeholder="name or id")]
    search_fields = ["title", "key"]
    list_select_related = ["template"]
    ordering = ["template_id", "order_index", "key"]  # "template" would sort by joined templates' names

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(template__in=Template.objects.offered_to(self.manager_org_id(request)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "template" and not request.user.is_superuser:
            org_id = self.manager_org_id(request)
            kwargs["queryset"] = Template.objects.filter(org_id=org_id) if org_id else Template.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _may_edit(self, request, obj) -> bool:
        return obj is None or (self.may_manage(request, obj.template) and not self.frozen(obj.template))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and (
            request.user.is_superuser or self.manager_org_id(request) is not None
        )

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        template_check_editable(obj.template)
        if not self.may_manage(request, obj.template):
            raise ServiceError("You can change only your organisation's templates.", code="permission")
        super().save_model(request, obj, form, change)
