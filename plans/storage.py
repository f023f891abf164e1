"""Stored files that must go once a transaction commits (attachments, replaced exports)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


def delete_files_on_commit(paths: Iterable[str]) -> None:
    """Delete the stored files at `paths` after the current transaction commits (at once
    outside one); nothing is deleted if it rolls back. A file that cannot be deleted is
    logged: a leftover file is never an error for the user, and the deletion of the record stands.
    """
    paths = [p for p in paths if p]

    def delete():
        for path in paths:
            try:
                default_storage.delete(path)
            except Exception:  # noqa: BLE001 - logged; see the docstring
                logger.exception("could not delete stored file %s", path)

    if paths:
        transaction.on_commit(delete)
