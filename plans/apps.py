from django.apps import AppConfig


class PlansConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'plans'

    def ready(self):
        # The people admin replaces the User admin that django.contrib.auth registers; importing
        # it here (after the admin's autodiscovery) keeps it out of plans/admin.py.
        from . import people_admin  # noqa: F401
