"""A double click never makes two of anything: plan create, save revision, attachment upload and the
admin's add forms carry a one-time token; the same POST sent again saves nothing and goes to the first
result with "This was already saved"."""

import re
import threading
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bcp_site.admin_base import BaseAdmin
from bcp_site.testing import make_user
from plans import submissions
from plans.models import Attachment, Contact, Plan, PlanVersion, SubmissionToken
from plans.submissions import ALREADY_SAVED

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TOKEN_INPUT = re.compile(r'<input type="hidden" name="submission_token" value="([0-9a-f]{64})"')


def token_of(response) -> str:
    """The one-time token of the form on a page, as a browser would post it back."""
    found = TOKEN_INPUT.findall(response.content.decode())
    assert len(found) == 1, "the page should carry exactly one submission token"
    return found[0]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def plan_data(owner, template, token, title="Depot plan") -> dict:
    return {"template": template.pk, "title": title, "owner": owner.pk, "submission_token": token}


def make_ready(plan, purpose="Keep going"):
    """Fill the required field so the working copy can be saved as a revision."""
    plan.refresh_from_db()
    plan.draft_content_json = {**plan.draft_content_json, "overview": {"purpose": purpose, "scope": "All"}}
    plan.edit_revision += 1
    plan.save()
    return plan


def revision_data(plan, token, note="Updated the purpose") -> dict:
    return {"edit_revision": Plan.objects.get(pk=plan.pk).edit_revision, "note": note, "submission_token": token}


# ---------------------------------------------------------------- plan create


def test_the_same_plan_form_posted_twice_creates_one_plan(client, owner, template):
    client.force_login(owner)
    token = token_of(client.get(reverse("plans:plan_create")))
    first = client.post(reverse("plans:plan_create"), plan_data(owner, template, token))
    second = client.post(reverse("plans:plan_create"), plan_data(owner, template, token))
    plan = Plan.objects.get(title="Depot plan")  # exactly one
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == plan.get_absolute_url()
    assert messages_of(second)[-1] == ALREADY_SAVED
    assert plan.versions.count() == 1
    assert SubmissionToken.objects.get(token=token).result_url == plan.get_absolute_url()


def test_two_plan_forms_create_two_plans(client, owner, template):
    client.force_login(owner)
    for _ in range(2):
        token = token_of(client.get(reverse("plans:plan_create")))
        assert client.post(reverse("plans:plan_create"), plan_data(owner, template, token)).status_code == 302
    assert Plan.objects.filter(title="Depot plan").count() == 2


def test_each_rendering_of_a_form_has_a_new_token(client, owner):
    client.force_login(owner)
    assert token_of(client.get(reverse("plans:plan_create"))) != token_of(client.get(reverse("plans:plan_create")))


def test_a_post_without_a_token_still_works_without_protection(client, owner, template):
    """Old forms and scripts keep working (documented in plans.submissions); they are not deduplicated."""
    client.force_login(owner)
    for token in ("", "not-a-token"):
        data = plan_data(owner, template, token)
        assert client.post(reverse("plans:plan_create"), data).status_code == 302
    del data["submission_token"]
    assert client.post(reverse("plans:plan_create"), data).status_code == 302
    assert Plan.objects.filter(title="Depot plan").count() == 3
    assert not SubmissionToken.objects.exists()


def test_another_users_token_does_not_lead_to_their_plan(client, owner, editor, template):
    client.force_login(owner)
    token = token_of(client.get(reverse("plans:plan_create")))
    client.post(reverse("plans:plan_create"), plan_data(owner, template, token, title="Owner's plan"))
    owners_plan = Plan.objects.get(title="Owner's plan")

    other = Client()
    other.force_login(editor)
    response = other.post(reverse("plans:plan_create"), plan_data(editor, template, token, title="Editor's plan"))
    editors_plan = Plan.objects.get(title="Editor's plan")  # saved: the foreign token was ignored
    assert response.status_code == 302
    assert response["Location"] == editors_plan.get_absolute_url() != owners_plan.get_absolute_url()
    assert ALREADY_SAVED not in messages_of(response)
    assert SubmissionToken.objects.get(token=token).user == owner


def test_a_refused_post_keeps_its_token_usable(client, owner, template):
    """A form shown again with an error saved nothing: it carries the same token, and the corrected POST saves."""
    client.force_login(owner)
    token = token_of(client.get(reverse("plans:plan_create")))
    refused = client.post(reverse("plans:plan_create"), plan_data(owner, template, token, title="   "))
    assert refused.status_code == 200 and token_of(refused) == token
    assert not SubmissionToken.objects.exists()
    saved = client.post(reverse("plans:plan_create"), plan_data(owner, template, token))
    assert saved.status_code == 302 and Plan.objects.filter(title="Depot plan").count() == 1


def test_the_unique_token_decides_when_both_posts_pass_the_first_check(client, owner, template, monkeypatch):
    """Two simultaneous POSTs: both find no token, both try to record it; the key lets one through."""
    client.force_login(owner)
    token = token_of(client.get(reverse("plans:plan_create")))
    client.post(reverse("plans:plan_create"), plan_data(owner, template, token))
    monkeypatch.setattr(submissions, "_recorded", lambda token: None)  # the race: the winner committed since
    second = client.post(reverse("plans:plan_create"), plan_data(owner, template, token))
    plan = Plan.objects.get(title="Depot plan")
    assert second.status_code == 302 and second["Location"] == plan.get_absolute_url()
    assert messages_of(second)[-1] == ALREADY_SAVED


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_posts_of_one_token_create_one_plan(owner, template):
    token = submissions.new_submission_token()
    barrier = threading.Barrier(2)
    answers: list[str] = []
    errors: list[BaseException] = []
    clients = [Client(), Client()]  # two tabs, logged in before the race
    for client in clients:
        client.force_login(owner)

    def post(client) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(reverse("plans:plan_create"), plan_data(owner, template, token))
            answers.append(response["Location"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    plan = Plan.objects.get(title="Depot plan")
    assert answers == [plan.get_absolute_url()] * 2


# ---------------------------------------------------------------- save revision


def test_the_same_revision_posted_twice_saves_one_version(client, plan, owner):
    make_ready(plan)
    client.force_login(owner)
    url = reverse("plans:version_create", args=[plan.pk])
    token = token_of(client.get(url))
    data = revision_data(plan, token)
    first = client.post(url, data)
    second = client.post(url, data)  # the same form: a double click
    assert first.status_code == second.status_code == 302
    version = PlanVersion.objects.get(plan=plan, version_number=2)
    assert first["Location"] == second["Location"] == version.get_absolute_url()
    assert messages_of(second)[-1] == ALREADY_SAVED
    assert list(plan.versions.order_by("version_number").values_list("version_number", flat=True)) == [1, 2]


def test_two_revision_forms_save_two_versions(client, plan, owner):
    client.force_login(owner)
    url = reverse("plans:version_create", args=[plan.pk])
    for note in ("First change", "Second change"):
        make_ready(plan, purpose=note)
        token = token_of(client.get(url))
        assert client.post(url, revision_data(plan, token, note=note)).status_code == 302
    assert plan.versions.count() == 3


# ---------------------------------------------------------------- attachments


def test_the_same_upload_posted_twice_stores_one_file(client, plan, owner):
    client.force_login(owner)
    url = reverse("files:attachment_list", args=[plan.pk])
    token = token_of(client.get(url))
    answers = [
        client.post(url, {"file": SimpleUploadedFile("Floor plan.pdf", PDF_BYTES), "submission_token": token})
        for _ in range(2)
    ]
    attachment = Attachment.objects.get(plan=plan)  # one row
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"] == attachment.get_absolute_url()
    assert messages_of(answers[1])[-1] == ALREADY_SAVED
    assert default_storage.listdir(f"attachments/plan-{plan.pk}")[1] == [attachment.storage_path.rsplit("/", 1)[1]]


def test_two_upload_forms_store_two_files(client, plan, owner):
    client.force_login(owner)
    url = reverse("files:attachment_list", args=[plan.pk])
    for _ in range(2):
        token = token_of(client.get(url))
        client.post(url, {"file": SimpleUploadedFile("a.pdf", PDF_BYTES), "submission_token": token})
    assert Attachment.objects.filter(plan=plan).count() == 2


# ---------------------------------------------------------------- admin add forms


def test_the_same_admin_contact_posted_twice_adds_one_contact(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    add = reverse("admin:plans_contact_add")
    token = token_of(client.get(add))
    data = {"plan": plan.pk, "name": "Maria Lopez", "role": "Facilities", "phone": "", "email": "", "notes": "",
            "submission_token": token}
    first = client.post(add, data)
    second = client.post(add, data)
    assert Contact.objects.filter(plan=plan, name="Maria Lopez").count() == 1
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert messages_of(second)[-1] == ALREADY_SAVED


def test_two_admin_contact_forms_add_two_contacts(client, plan, bcp_admin):
    client.force_login(bcp_admin)
    add = reverse("admin:plans_contact_add")
    for _ in range(2):
        client.post(add, {"plan": plan.pk, "name": "Maria Lopez", "submission_token": token_of(client.get(add))})
    assert Contact.objects.filter(plan=plan, name="Maria Lopez").count() == 2


def test_a_person_added_twice_in_the_admin_is_created_once(client, org, bcp_admin):
    """Without the token the second POST would answer "A user with that username already exists"."""
    client.force_login(bcp_admin)
    add = reverse("admin:auth_user_add")
    token = token_of(client.get(add))
    data = {"username": "newbie", "email": "newbie@example.org", "usable_password": "false", "_save": "Save",
            "submission_token": token}
    first = client.post(add, data)
    second = client.post(add, data)
    person = get_user_model().objects.get(username="newbie")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("admin:auth_user_change", args=[person.pk])
    assert messages_of(second)[-1] == ALREADY_SAVED


def test_another_users_token_adds_a_contact_in_the_admin(client, plan, bcp_admin, org):
    client.force_login(bcp_admin)
    add = reverse("admin:plans_contact_add")
    token = token_of(client.get(add))
    client.post(add, {"plan": plan.pk, "name": "Maria Lopez", "submission_token": token})
    colleague = make_user(org, username="bcpadmin2", groups=["BCP Admin"], is_staff=True)
    other = Client()
    other.force_login(colleague)
    response = other.post(add, {"plan": plan.pk, "name": "Tom Hale", "submission_token": token})
    assert response.status_code == 302
    assert ALREADY_SAVED not in messages_of(response)
    assert set(Contact.objects.filter(plan=plan).values_list("name", flat=True)) >= {"Maria Lopez", "Tom Hale"}


def test_without_a_registered_guard_admin_add_forms_save_as_djangos_do(client, plan, bcp_admin, monkeypatch):
    """The shared admin layer imports no app: the tokens are plans' hook, and without it nothing breaks."""
    monkeypatch.setattr("bcp_site.admin_base._submission_guard", None)
    client.force_login(bcp_admin)
    add = reverse("admin:plans_contact_add")
    assert "submission_token" not in client.get(add).content.decode()
    data = {"plan": plan.pk, "name": "Maria Lopez", "submission_token": submissions.new_submission_token()}
    assert client.post(add, data).status_code == client.post(add, data).status_code == 302
    assert Contact.objects.filter(plan=plan, name="Maria Lopez").count() == 2


def test_every_admin_add_form_carries_a_token(client, org):
    """Enumerates the admin registry: an add form added tomorrow is covered the day it is added."""
    superuser = make_user(org, username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    checked = []
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, BaseAdmin):  # Django's own and third-party admins (groups, axes)
            continue
        try:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        except NoReverseMatch:
            continue
        response = client.get(url)
        if response.status_code == 403:  # this admin adds nothing (attachments, audit, versions, ...)
            continue
        assert response.status_code == 200, url
        token_of(response)
        checked.append(url)
    assert reverse("admin:plans_plan_add") in checked and reverse("admin:plans_contact_add") in checked
    assert reverse("admin:templates_app_template_add") in checked and reverse("admin:auth_user_add") in checked


# ---------------------------------------------------------------- purge


def test_purge_deletes_old_tokens_once_and_says_how_many(owner, capsys):
    now = timezone.now()
    for age_hours in (1, 47, 49, 24 * 30):
        SubmissionToken.objects.create(token=submissions.new_submission_token(), user=owner, result_url="/plans/1/",
                                       created_at_utc=now - timedelta(hours=age_hours))
    call_command("purge_submission_tokens")
    assert "Deleted 2 submission token(s) older than 2 day(s)" in capsys.readouterr().out
    assert SubmissionToken.objects.count() == 2
    call_command("purge_submission_tokens")  # idempotent
    assert "Deleted 0 submission token(s)" in capsys.readouterr().out
    call_command("purge_submission_tokens", "--days", "1")
    assert SubmissionToken.objects.count() == 1


def test_purge_refuses_a_zero_day_window():
    with pytest.raises(CommandError, match="keep at least 1 day"):
        call_command("purge_submission_tokens", "--days", "0")
