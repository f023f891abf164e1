from django.apps import AppConfig


class PlansConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'plans'
    verbose_name = "Plans"

    def ready(self):
        # axes.signals imports axes' models, which cannot load before the app registry is ready.
        from axes.signals import user_locked_out

        from bcp_site.admin_base import register_submission_guard

        # The people admin replaces the User admin that django.contrib.auth registers; importing
        # it here (after the admin's autodiscovery) keeps it out of plans/admin.py.
        from . import people_admin  # noqa: F401
        from .submissions import AdminSubmissionGuard

        # The shared admin layer imports no app, and the token table lives here: its add forms get
        # their one-time tokens through this hook.
        register_submission_guard(AdminSubmissionGuard())

        # django-axes announces a sign-in lockout only by its signal; the audit row is written
        # by the service (plans.people.person_lockout_record).
        user_locked_out.connect(_lockout_recorded, dispatch_uid="plans.person_lockout_record")


def _lockout_recorded(sender, request=None, username=None, ip_address=None, **kwargs):
    from .people import person_lockout_record  # models are loaded only once the apps are ready

    if username:
        person_lockout_record(username=username, ip=ip_address)
