from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'reviews'
    verbose_name = "Reviews and acknowledgements"

    def ready(self):
        # Deleting a plan (plans.attachments) cannot import reviews either: it sends
        # `plan_deleting`, and reviews emails the reviewers whose pending reviews go with it.
        from plans.attachments import plan_deleting

        from .services import reviews_cancel_for_deleted_plans

        plan_deleting.connect(reviews_cancel_for_deleted_plans, dispatch_uid="reviews.cancel_for_deleted_plans")

        # plans (exports) shows who approved a version but must not import reviews (reviews ->
        # plans -> templates_app), so it reads the approvers through a hook that reviews fills
        # here, once the models are loaded.
        from plans.approvals import register_approvers_reader

        from .approvals import version_approvers

        register_approvers_reader(version_approvers)

        # The plan page (plans.views) shows the workflow panel; reviews computes its answers.
        from plans.hooks import register_plan_page_context

        from .panels import plan_page_context

        register_plan_page_context(plan_page_context)

        # Audit pages (plans) show and filter actions in words, reviews' actions included.
        from plans.audit_actions import register_audit_actions

        from .audit_actions import REVIEW_AUDIT_ACTIONS

        register_audit_actions(REVIEW_AUDIT_ACTIONS)

        # The KPI metrics (the dashboard, the daily snapshots) are declared in one module.
        from . import kpi_metrics  # noqa: F401 - registers them

        # Coverage totals follow the people and acknowledgements they count, whatever writes them.
        from .coverage_counts import connect_receivers

        connect_receivers()
