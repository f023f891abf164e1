import json

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse

from bcp_site.admin_base import HistoryAdmin
from bcp_site.errors import ServiceError

from .forms import SectionDefinitionAdminForm, TemplateAdminForm
from .models import SectionDefinition, Template
from .services import next_version_label, template_export, template_in_use, template_new_version


class SectionDefinitionInlineForm(SectionDefinitionAdminForm):
    class Meta(SectionDefinitionAdminForm.Meta):
        fields = ["key", "title", "order_index", "schema_json"]


class SectionDefinitionInline(admin.StackedInline):
    model = SectionDefinition
    form = SectionDefinitionInlineForm
    extra = 0


def _names(templates) -> str:
    return ", ".join(f"“{t}”" for t in templates)


@admin.action(permissions=["delete"], description="Delete selected templates")
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete, refused (with a message) when a selected template is used by a plan."""
    in_use = list(queryset.filter(plans__isnull=False).distinct())
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
class TemplateAdmin(HistoryAdmin):
    form = TemplateAdminForm
    list_display = ["name", "version", "is_default", "plan_count", "updated_at"]
    list_filter = ["is_default"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SectionDefinitionInline]
    actions = [delete_selected, "make_new_version", "export_json"]

    def get_queryset(self, request):
        # plan_count in the list: one aggregate instead of a query per row.
        return super().get_queryset(request).annotate(plan_count=Count("plans"))

    @admin.display(description="plans", ordering="plan_count")
    def plan_count(self, obj):
        return obj.plan_count

    def has_manage_permission(self, request):
        return request.user.has_perm("templates_app.manage_templates")

    @admin.action(permissions=["manage"], description="Make a new version")
    def make_new_version(self, request, queryset):
        made = []
        for template in queryset:
            try:
                made.append(template_new_version(
                    template=template, version=next_version_label(template), actor=request.user,
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
class SectionDefinitionAdmin(HistoryAdmin):
    form = SectionDefinitionAdminForm
    list_display = ["title", "key", "template", "order_index"]
    list_filter = ["template"]
    search_fields = ["title", "key"]
    list_select_related = ["template"]
