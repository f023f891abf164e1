"""Acknowledgements: distribution, signed links, recording, coverage and reminders."""


def ack_links_send_for_version(*, plan_id: int, version_number: int) -> None:
    """Email an acknowledgement link to everyone on the plan's distribution. Called after approval commits."""
