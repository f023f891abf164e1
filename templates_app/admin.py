from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import SectionDefinition, Template


class SectionDefinitionInline(admin.StackedInline):
    model = SectionDefinition
    extra = 0


@admin.register(Template)
class TemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "version", "is_default", "updated_at"]
    list_filter = ["is_default"]
    search_fields = ["name", "description"]
    inlines = [SectionDefinitionInline]


@admin.register(SectionDefinition)
class SectionDefinitionAdmin(SimpleHistoryAdmin):
    list_display = ["title", "key", "template", "order_index"]
    list_filter = ["template"]
    search_fields = ["title", "key"]
    list_select_related = ["template"]
