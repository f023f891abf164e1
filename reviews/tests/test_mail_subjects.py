"""Mail subjects and plain-text bodies carry a plan's title as typed: they are not HTML."""

import pytest

from bcp_site.mail import render_email
from bcp_site.testing import make_plan

from .ack_support import approve

pytestmark = pytest.mark.django_db

TITLE = "R&D <Ops>"


@pytest.fixture
def rd_plan(org, owner, template):
    return make_plan(org, owner, template=template, title=TITLE)


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


def test_workflow_and_acknowledgement_subjects_keep_the_literal_title(
    smtp_server, rd_plan, owner, reviewer, member, django_capture_on_commit_callbacks
):
    approve(rd_plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)

    subjects = {message["Subject"] for message in smtp_server.messages}
    assert "Review requested: R&D <Ops> v1" in subjects
    assert "Approved: R&D <Ops> v1" in subjects
    assert "Please acknowledge: R&D <Ops> (version 1)" in subjects
    assert not any("&amp;" in s or "&lt;" in s for s in subjects)

    (link_mail,) = [m for m in smtp_server.to(member.email) if m["Subject"].startswith("Please acknowledge")]
    assert 'the business continuity plan "R&D <Ops>"' in smtp_server.text(link_mail)
    assert "R&amp;D &lt;Ops&gt;" in smtp_server.html(link_mail)  # the HTML part stays escaped


def test_render_email_escapes_only_the_html_part():
    email = render_email("reviews/email/ack_reminder", {"plan_title": "<b>A & B</b>", "version_number": 2})
    assert email.subject == "Reminder: please acknowledge <b>A & B</b> (version 2)"
    assert '"<b>A & B</b>"' in email.text
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in email.html and "<b>A & B</b>" not in email.html
