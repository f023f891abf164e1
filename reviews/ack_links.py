"""Acknowledgement links: signed tokens, what a link points at, and what its page shows.

Email links are signed tokens (`ack_token_make`) bound to one person, one plan and one
version; they expire after `settings.BCP_ACK_LINK_DAYS` days. Opening a link never
records anything (mail scanners open links); the person confirms with a POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from plans.models import Plan, PlanVersion
from templates_app.schema import template_sections
from templates_app.values import display_value, format_minutes

from .ack_records import LinkState, acknowledgeable
from .models import Ack

SALT = "bcp.ack"
# How many key contacts and processes the acknowledgement page shows.
SUMMARY_CONTACTS = 5
SUMMARY_PROCESSES = 10


@dataclass(frozen=True)
class AckClaim:
    """What a valid link says: this person may acknowledge this version of this plan."""

    user_id: int
    plan_id: int
    version_number: int


class AckLinkInvalid(Exception):
    """The link was not made by us, was altered, or names something that does not exist."""


class AckLinkExpired(Exception):
    """The link was genuine but is older than BCP_ACK_LINK_DAYS; `claim` says whose it was."""

    def __init__(self, claim: AckClaim):
        super().__init__("This acknowledgement link has expired.")
        self.claim = claim


def _signer() -> signing.TimestampSigner:
    # "." is not in the signature alphabet, so the token is URL-safe without a colon.
    return signing.TimestampSigner(salt=SALT, sep=".")


def ack_token_make(*, user, plan, version_number: int) -> str:
    """A signed, timestamped token naming the person, the plan and the version (about 60 characters)."""
    payload = "-".join(signing.b62_encode(n) for n in (user.pk, plan.pk, int(version_number)))
    return _signer().sign(payload)


def _claim(payload: str) -> AckClaim:
    try:
        user_id, plan_id, version_number = (signing.b62_decode(part) for part in payload.split("-"))
    except (ValueError, TypeError):
        raise AckLinkInvalid("malformed payload") from None
    if min(user_id, plan_id, version_number) <= 0:
        raise AckLinkInvalid("malformed payload")
    return AckClaim(user_id=user_id, plan_id=plan_id, version_number=version_number)


def ack_token_read(token: str) -> AckClaim:
    """The claim of a token; AckLinkInvalid if it is not genuine, AckLinkExpired (with the claim) if too old."""
    signer = _signer()
    max_age = timedelta(days=settings.BCP_ACK_LINK_DAYS)
    try:
        return _claim(signer.unsign(token, max_age=max_age))
    except signing.SignatureExpired:
        # The signature is genuine, only old: the claim is trustworthy enough to offer a new
        # link to the person's own address.
        raise AckLinkExpired(_claim(signer.unsign(token))) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise AckLinkInvalid("bad signature") from None


def ack_link_url(*, user, plan, version_number: int) -> str:
    """The absolute acknowledgement link for the person (built from settings.SITE_URL)."""
    token = ack_token_make(user=user, plan=plan, version_number=version_number)
    return settings.SITE_URL + reverse("acks:link", args=[token])

@dataclass
class AckTarget:
    """What a link points at, resolved from the database, and whether it can be acknowledged now."""

    user: object
    plan: Plan
    version: PlanVersion
    state: str
    approved_version: PlanVersion | None = None
    ack: Ack | None = None


def ack_link_target(claim: AckClaim) -> AckTarget:
    """Resolve a claim (three queries). AckLinkInvalid when the person, plan or version is gone,
    or the person is not a member of the plan's organisation (organisations are walls)."""
    User = get_user_model()
    user = User.objects.select_related("membership").filter(pk=claim.user_id).first()
    plan = (
        Plan.objects.select_related("org", "template", "approved_version")
        .filter(pk=claim.plan_id).first()
    )
    if user is None or plan is None:
        raise AckLinkInvalid("user or plan gone")
    membership = getattr(user, "membership", None)  # None when the user has no organisation
    if membership is None or membership.organisation_id != plan.org_id:
        raise AckLinkInvalid("not a member of the plan's organisation")
    version = plan.versions.filter(version_number=claim.version_number).first()
    if version is None:
        raise AckLinkInvalid("version gone")
    approved = plan.approved_version
    state = acknowledgeable(plan, version.version_number, user=user) or LinkState.OK
    ack = Ack.objects.filter(plan=plan, user=user, ack_version_number=version.version_number).first()
    return AckTarget(user=user, plan=plan, version=version, state=state, approved_version=approved, ack=ack)


# --- the summary shown with a link -------------------------------------------------------


def version_summary(plan: Plan, version: PlanVersion) -> dict:
    """What the acknowledgement page shows of a version: purpose, key contacts, critical processes.

    Reads the version's own content (not the working copy); one query for the template's sections.
    """
    content = version.content_json or {}
    contacts = list(content.get("contacts") or [])
    purpose = ""
    sections = template_sections(version.template)
    ordered = sorted(sections, key=lambda s: s["key"] != "overview")  # the overview section first
    for section in ordered:
        for fld in section["fields"]:
            if fld["key"] == "purpose":
                value = (content.get(section["key"]) or {}).get("purpose")
                if value not in (None, "", [], {}):
                    purpose = display_value(fld, value, contacts={c.get("id"): c.get("name") for c in contacts})
                break
        if purpose:
            break
    processes = [
        {
            "name": p.get("name", ""),
            "impact": p.get("impact_rating", ""),
            "rto": format_minutes(p.get("rto_minutes")),
            "mtpd": format_minutes(p.get("mtpd_minutes")),
        }
        for p in (content.get("processes") or [])
    ]
    return {
        "purpose": purpose,
        "contacts": contacts[:SUMMARY_CONTACTS],
        "more_contacts": max(len(contacts) - SUMMARY_CONTACTS, 0),
        "processes": processes[:SUMMARY_PROCESSES],
        "more_processes": max(len(processes) - SUMMARY_PROCESSES, 0),
    }
