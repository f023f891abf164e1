"""How the outbox renders the emails of plans (found by `plans.outbox.renderer_for`)."""

from .accounts import password_reset_render
from .collaborators import review_due_render, section_changed_render
from .drift import drift_digest_render
from .findings import findings_overdue_render
from .models import Notification
from .outbox import register_renderer

register_renderer(Notification.Kind.DRIFT, drift_digest_render)
register_renderer(Notification.Kind.PASSWORD_RESET, password_reset_render)
register_renderer(Notification.Kind.FINDINGS_OVERDUE, findings_overdue_render)
register_renderer(Notification.Kind.SECTION_CHANGED, section_changed_render)
register_renderer(Notification.Kind.REVIEW_DUE, review_due_render)
