"""Stored coverage totals, so a plan page shows "12 of 10,000 acknowledged" without counting people.

A plan without a distribution list is read by its organisation's *readers*: active members who are
not auditors (`reviews.distribution.organisation_readers`). Two running totals are kept:

- `ReaderCount` (bc_reader_count): the readers of each organisation;
- `AckCount` (bc_ack_count): for each acknowledged version of a plan, how many of the plan's
  organisation's readers acknowledged it (an acknowledgement by a leaver or an auditor is kept as
  evidence but does not count, as in `reviews.ack_coverage.coverage_people`).

They change with the data they summarise, in the same transaction, whatever writes it (the people
services, the admin, a test helper): signal receivers (connected in `reviews.apps`) read who was a
reader before a change and who is after, and add the difference, touching only the people changed
and their own acknowledgements. An acknowledgement adds one to its version. Bulk inserts bypass
signals: `coverage_recount` counts everything again exactly (the migration, the benchmark's data,
`manage.py coverage_recount`, and the daily KPI snapshot, which also mends any drift).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, signals

from plans.models import Membership, Organisation, Plan

from .auditors import AUDITOR_GROUP, auditor_membership
from .models import Ack, AckCount, ReaderCount

# Users being deleted: counted out before the deletion cascades (their acknowledgements still exist
# then), and ignored by the receivers the cascade sets off.
_leaving: ContextVar[frozenset[int]] = ContextVar("coverage_leaving", default=frozenset())
BATCH = 500


def readers_of(user_ids: Iterable[int]) -> dict[int, int]:
    """The organisation each of these users reads plans for, by user id (absent: not a reader)."""
    leaving = _leaving.get()
    ids = [user_id for user_id in set(user_ids) if user_id is not None and user_id not in leaving]
    if not ids:
        return {}
    return dict(
        Membership.objects.filter(user_id__in=ids, user__is_active=True)
        .filter(~auditor_membership(OuterRef("user_id")))
        .values_list("user_id", "organisation_id")
    )


def apply_change(before: dict[int, int], after: dict[int, int]) -> None:
    """Move each user whose reader organisation changed from `before` to `after`."""
    leaving = _leaving.get()
    for user_id in (before.keys() | after.keys()) - leaving:
        old, new = before.get(user_id), after.get(user_id)
        if old == new:
            continue
        if old is not None:
            _shift(user_id, old, -1)
        if new is not None:
            _shift(user_id, new, +1)


def _shift(user_id: int, org_id: int, delta: int) -> None:
    """A reader joins (+1) or leaves (-1) an organisation: its reader count, and the count of every
    version of its plans the person acknowledged (rows the acknowledgements made). A decrement only
    updates rows, never inserts one (the organisation may be going with its rows)."""
    if delta > 0:
        add_to_counter(ReaderCount, {"organisation_id": org_id}, "readers", delta)
    else:
        ReaderCount.objects.filter(organisation_id=org_id).update(readers=F("readers") + delta)
    pairs = list(Ack.objects.filter(user_id=user_id, plan__org_id=org_id).values_list("plan_id", "ack_version_number"))
    for start in range(0, len(pairs), BATCH):
        match = Q()
        for plan_id, number in pairs[start:start + BATCH]:
            match |= Q(plan_id=plan_id, version_number=number)
        AckCount.objects.filter(match).update(acknowledged=F("acknowledged") + delta)


def ack_counted(ack: Ack) -> None:
    """A new acknowledgement: one more for its version when its author reads the plan's organisation."""
    org_id = Plan.objects.filter(pk=ack.plan_id).values_list("org_id", flat=True).first()
    counts = readers_of([ack.user_id]).get(ack.user_id) == org_id
    add_to_counter(AckCount, {"plan_id": ack.plan_id, "version_number": ack.ack_version_number}, "acknowledged",
                   1 if counts else 0)


def version_approved(plan_id: int, version_number: int) -> None:
    """The version's count row, made when it is approved (0): acknowledgements then only update it."""
    add_to_counter(AckCount, {"plan_id": plan_id, "version_number": version_number}, "acknowledged", 0)


def add_to_counter(model, keys: dict[str, int], field: str, delta: int) -> None:
    """Add `delta` to `field` of the row of `model` with these unique `keys`, inserting the row when
    it is missing, in one statement (no read-then-write between two processes)."""
    meta, quote = model._meta, connection.ops.quote_name
    key_columns = [quote(meta.get_field(name).column) for name in keys]
    column = quote(meta.get_field(field).column)
    columns = ", ".join([*key_columns, column])
    values = ", ".join(["%s"] * (len(keys) + 1))
    if connection.vendor == "mysql":
        sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values}) "
               f"ON DUPLICATE KEY UPDATE {column} = {column} + %s")
    else:
        sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values}) "
               f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {column} = {column} + %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*keys.values(), delta, delta])


def coverage_recount(org_id: int | None = None) -> int:
    """Count the readers and the acknowledgements again, exactly, for one organisation or all; returns
    how many stored figures were wrong (0 when the running totals were right)."""
    orgs = Organisation.objects.all()
    if org_id is not None:
        orgs = orgs.filter(pk=org_id)
    User = get_user_model()
    readers = dict(
        User.objects.filter(is_active=True, membership__organisation__in=orgs).filter(~auditor_membership())
        .values("membership__organisation_id").annotate(n=Count("pk")).values_list("membership__organisation_id", "n")
    )
    mended = 0
    stored = dict(ReaderCount.objects.filter(organisation__in=orgs).values_list("organisation_id", "readers"))
    for org in orgs.values_list("pk", flat=True):
        if stored.get(org) != readers.get(org, 0):
            mended += 1
            ReaderCount.objects.update_or_create(organisation_id=org, defaults={"readers": readers.get(org, 0)})
    plans = Plan.objects.filter(org__in=orgs)
    acks = Ack.objects.filter(plan__in=plans)
    counted = dict(
        ((plan_id, number), n) for plan_id, number, n in
        acks.filter(user__is_active=True, user__membership__organisation_id=F("plan__org_id"))
        .filter(~auditor_membership(OuterRef("user_id")))
        .values("plan_id", "ack_version_number").annotate(n=Count("pk"))
        .values_list("plan_id", "ack_version_number", "n")
    )
    wanted = {pair: counted.get(pair, 0) for pair in acks.values_list("plan_id", "ack_version_number").distinct()}
    wanted.update({pair: counted.get(pair, 0) for pair in plans.filter(approved_version__isnull=False)
                   .values_list("pk", "approved_version__version_number")})
    stored = {(plan_id, number): n for plan_id, number, n in
              AckCount.objects.filter(plan__in=plans).values_list("plan_id", "version_number", "acknowledged")}
    wrong = [AckCount(plan_id=plan_id, version_number=number, acknowledged=n)
             for (plan_id, number), n in wanted.items() if stored.get((plan_id, number)) != n]
    target = ["plan", "version_number"] if connection.features.supports_update_conflicts_with_target else None
    AckCount.objects.bulk_create(wrong, batch_size=BATCH, update_conflicts=True, unique_fields=target,
                                 update_fields=["acknowledged"])
    return mended + len(wrong)


# --- signal receivers ----------------------------------------------------------------------------


def connect_receivers() -> None:
    """Connect the receivers below (from reviews.apps, once the models are loaded)."""
    User = get_user_model()
    for signal, receiver, sender in (
        (signals.pre_save, membership_before, Membership), (signals.post_save, membership_after, Membership),
        (signals.pre_delete, membership_before, Membership), (signals.post_delete, membership_after, Membership),
        (signals.pre_save, user_before_save, User), (signals.post_save, user_after_save, User),
        (signals.pre_delete, user_before_delete, User), (signals.post_delete, user_after_delete, User),
        (signals.m2m_changed, groups_changed, User.groups.through), (signals.post_save, ack_saved, Ack),
    ):
        signal.connect(receiver, sender=sender, dispatch_uid=f"coverage.{receiver.__name__}.{id(signal)}")


def _auditor_group_id() -> int | None:
    from django.contrib.auth.models import Group

    return Group.objects.filter(name=AUDITOR_GROUP).values_list("pk", flat=True).first()


def membership_before(sender, instance, **kwargs) -> None:
    instance._coverage_before = readers_of([instance.user_id])


def membership_after(sender, instance, **kwargs) -> None:
    apply_change(getattr(instance, "_coverage_before", {}), readers_of([instance.user_id]))


def user_before_save(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        instance._coverage_before = None
        return
    instance._coverage_before = readers_of([instance.pk])


def user_after_save(sender, instance, created=False, **kwargs) -> None:
    before = getattr(instance, "_coverage_before", None)
    if before is not None:
        apply_change(before, readers_of([instance.pk]))


def user_before_delete(sender, instance, **kwargs) -> None:
    apply_change(readers_of([instance.pk]), {})
    _leaving.set(_leaving.get() | {instance.pk})


def user_after_delete(sender, instance, **kwargs) -> None:
    _leaving.set(_leaving.get() - {instance.pk})


def groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A user joins or leaves the auditor group (from either side of the relation)."""
    if action not in ("pre_add", "post_add", "pre_remove", "post_remove", "pre_clear", "post_clear"):
        return
    User = get_user_model()
    if not reverse:  # user.groups.add(...)
        auditor = _auditor_group_id()
        if auditor is None or (pk_set is not None and auditor not in pk_set):
            return
        user_ids = [instance.pk]
    else:  # group.user_set.add(...)
        if instance.name != AUDITOR_GROUP:
            return
        user_ids = list(pk_set) if pk_set is not None else list(
            User.groups.through.objects.filter(group_id=instance.pk).values_list("user_id", flat=True))
    if action.startswith("pre_"):
        instance._coverage_before = (user_ids, readers_of(user_ids))
    else:
        user_ids, before = getattr(instance, "_coverage_before", (user_ids, {}))
        apply_change(before, readers_of(user_ids))


def ack_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    if created and not raw:
        ack_counted(instance)
