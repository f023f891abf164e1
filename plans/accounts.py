"""Password reset by email, with Django's own views: the mail goes through the outbox, requests
are rate-limited, and requests and resets are recorded in the person's organisation audit trail.

- Asking for a reset always ends on the same "if an account exists, we have sent an email" page,
  whatever the address, so nobody learns who has an account here. Only active people with a
  usable password get a mail (Django's `PasswordResetForm.get_users`); an unknown address
  leaves no trace.
- Requests are counted per address (BCP_PASSWORD_RESET_PER_ADDRESS_PER_HOUR) and per client
  address (BCP_PASSWORD_RESET_PER_IP_PER_HOUR) with `plans.ratelimit`; past either limit nothing
  is queued, and a request for a known address is audited as refused.
- The outbox row holds no link. `password_reset_render` makes the token when the mail is
  delivered: a Django token is valid for PASSWORD_RESET_TIMEOUT from when it is made and stops
  working once the password changes or the person signs in, so no usable link sits in the
  database and the mail's link works when it arrives.
- Audit actions: `password_reset_requested`, `password_reset_throttled` (no actor: anyone may
  ask) and `password_reset_completed` (the person), in the person's organisation, or with no
  organisation for people without one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from bcp_site.mail import RenderedEmail, render_email
from bcp_site.security import client_ip
from bcp_site.text import display_name

from .models import Audit, Notification, Organisation
from .outbox import notification_queue
from .ratelimit import rate_hit
from .services import audit_record

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


# --- services --------------------------------------------------------------------------------


def _organisations(user) -> list[Organisation | None]:
    """Where the person's audit rows go: their organisation, or [None] for someone without one (one query)."""
    return list(Organisation.objects.filter(memberships__user_id=user.pk).order_by("pk")) or [None]


def _details(user, ip: str | None) -> dict:
    return {"username": user.get_username(), "ip": ip}


def password_reset_limit(*, email: str, ip: str | None) -> str | None:
    """Count one reset request against both limits; None when it is within them, else the limit
    that refuses it ("address" or "client address"). Both are counted either way."""
    by_address = rate_hit(name="password-reset-address", subject=email.strip().lower(),
                          limit=settings.BCP_PASSWORD_RESET_PER_ADDRESS_PER_HOUR, window_seconds=WINDOW_SECONDS)
    by_ip = rate_hit(name="password-reset-ip", subject=ip or "",
                     limit=settings.BCP_PASSWORD_RESET_PER_IP_PER_HOUR, window_seconds=WINDOW_SECONDS)
    if not by_address:
        return "address"
    if not by_ip:
        return "client address"
    return None


def password_reset_queue(*, user, ip: str | None) -> int:
    """Queue a reset mail to `user` (rendered, with its link, at delivery) and audit the request."""
    with transaction.atomic():
        organisations = _organisations(user)
        queued = notification_queue(kind=Notification.Kind.PASSWORD_RESET, recipients=[user], org=organisations[0])
        for organisation in organisations:
            audit_record(org=organisation, actor=None, action="password_reset_requested",
                         details=_details(user, ip))
    return queued


def password_reset_throttled(*, users, ip: str | None, limit: str) -> int:
    """Record a request refused by a limit: logged, and audited for each person with that address.

    Someone repeating the request would add a row each time: one row per person per window is
    enough. Returns how many rows were written.
    """
    logger.warning("Password reset refused: too many requests for this %s (client %s)", limit, ip)
    since = timezone.now() - timedelta(seconds=WINDOW_SECONDS)
    written = 0
    with transaction.atomic():
        for user in users:
            for organisation in _organisations(user):
                recent = Audit.objects.filter(org=organisation, action="password_reset_throttled", at_utc__gte=since,
                                              details_json__username=user.get_username())
                if recent.exists():
                    continue
                audit_record(org=organisation, actor=None, action="password_reset_throttled",
                             details={**_details(user, ip), "limit": f"too many requests for this {limit}"})
                written += 1
    return written


def password_reset_complete(*, user, password: str, ip: str | None):
    """Set the password chosen through a reset link; audited. The person's sign-in lockouts are
    forgotten: they proved they hold the account's mailbox, and can sign in at once."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        for organisation in _organisations(user):
            audit_record(org=organisation, actor=user, action="password_reset_completed", details=_details(user, ip))
    # Sign-in failures are counted under the lower-cased username (bcp_site.security.login_username).
    axes_reset(username=user.get_username().strip().lower())
    return user


# --- the mail (rendered at delivery) ---------------------------------------------------------


class ResetNoLongerWanted(Exception):
    """The account changed after the request: the mail is not sent (the outbox marks it failed)."""


def password_reset_url(user) -> str:
    """An absolute link that lets `user` choose a new password, made now (valid for PASSWORD_RESET_TIMEOUT)."""
    token = auth_views.PasswordResetConfirmView.token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SITE_URL + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def password_reset_render(notification: Notification) -> RenderedEmail:
    """The reset mail of one outbox row, with a link made now.

    Nothing is sent to an account that was deactivated, lost its password, or changed its
    address since the request (the link would reach an address that is no longer the person's).
    """
    user = notification.recipient_user
    if not (user.is_active and user.has_usable_password()
            and user.email.strip().casefold() == notification.to_address.strip().casefold()):
        raise ResetNoLongerWanted("the account changed since the reset was asked for: no link sent")
    return render_email("registration/email/password_reset", {
        "recipient_name": display_name(user),
        "username": user.get_username(),
        "reset_url": password_reset_url(user),
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    })


# --- forms -----------------------------------------------------------------------------------


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset request, within the limits, sending through the outbox."""

    client_ip: str | None = None

    def save(self, *args, request=None, **kwargs):
        email = self.cleaned_data["email"]
        self.client_ip = client_ip(request) if request is not None else None
        refused_by = password_reset_limit(email=email, ip=self.client_ip)
        if refused_by is not None:
            password_reset_throttled(users=list(self.get_users(email)), ip=self.client_ip, limit=refused_by)
            return
        super().save(*args, request=request, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        """Queue the mail in the outbox instead of sending it (its link is made at delivery)."""
        password_reset_queue(user=context["user"], ip=self.client_ip)


class PasswordResetSetForm(SetPasswordForm):
    """Django's new-password form (its validators, errors next to the field), saving through the service."""

    def __init__(self, user, *args, client_ip: str | None = None, **kwargs):
        self.client_ip = client_ip
        super().__init__(user, *args, **kwargs)

    def save(self, commit=True):
        return password_reset_complete(user=self.user, password=self.cleaned_data["new_password1"],
                                       ip=self.client_ip)


# --- views -----------------------------------------------------------------------------------


class PasswordResetRequestView(auth_views.PasswordResetView):
    """Ask for a reset link; always answered by the "done" page (see the module's docstring)."""

    form_class = PasswordResetRequestForm


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link from the mail: choose a new password. A link that is not (or no longer) valid answers 400."""

    form_class = PasswordResetSetForm

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "client_ip": client_ip(self.request)}

    def render_to_response(self, context, **response_kwargs):
        if not self.validlink:
            response_kwargs.setdefault("status", 400)
        response = super().render_to_response(context, **response_kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
