from django.apps import AppConfig
from django.db.models import IntegerField

from bcp_site.limits import IntegerIn


class TemplatesAppConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'templates_app'
    verbose_name = "Plan templates"

    def ready(self):
        # Site-wide, here because this is the lowest app: `pk__in=[2**63]` finds nothing instead
        # of raising OverflowError on SQLite (bcp_site.limits.IntegerIn).
        IntegerField.register_lookup(IntegerIn)
