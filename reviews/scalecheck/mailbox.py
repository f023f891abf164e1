"""What the SMTP sink accepted: every message it saved whole (NNNNNN.eml), read as they arrive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.utils import getaddresses
from pathlib import Path

LINK_SUBJECT = "Please acknowledge"  # reviews/email/ack_link_subject.txt
ACK_PATH = re.compile(r"/ack/l/(?P<token>[A-Za-z0-9._:-]+)/")


@dataclass(frozen=True)
class Mail:
    recipients: tuple[str, ...]
    subject: str
    text: str

    @property
    def is_ack_link(self) -> bool:
        return self.subject.startswith(LINK_SUBJECT)

    @property
    def ack_token(self) -> str | None:
        """The token of the acknowledgement link in the text, if any."""
        match = ACK_PATH.search(self.text)
        return match["token"] if match else None


def parse_mail(raw: bytes) -> Mail:
    """The recipients (To), subject and plain-text body of one message."""
    message = message_from_bytes(raw, policy=policy.default)
    recipients = tuple(address.lower() for _name, address in getaddresses(message.get_all("To", [])) if address)
    body = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    text = body.get_content() if body is not None else ""
    return Mail(recipients=recipients, subject=str(message.get("Subject", "")), text=text)


class Mailbox:
    """The sink's folder, read on from where the last call stopped (files are written whole, then named)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.mails: list[Mail] = []
        self._seen: set[str] = set()

    def refresh(self) -> list[Mail]:
        for path in sorted(self.folder.glob("*.eml")):
            if path.name not in self._seen:
                self._seen.add(path.name)
                self.mails.append(parse_mail(path.read_bytes()))
        return self.mails

    def ack_links(self) -> list[tuple[str, str]]:
        """(recipient, token) of every acknowledgement link accepted so far, duplicates included."""
        self.refresh()
        return [(mail.recipients[0] if mail.recipients else "", mail.ack_token or "")
                for mail in self.mails if mail.is_ack_link]
