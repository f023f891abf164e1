"""Test set-up loaded by pytest before Django (see pytest.ini `-p bcp_site.pytest_plugin`).

Sets the environment the settings need for tests, then provides the shared fixtures:
an organisation with an owner (editor), a member (viewer), a reviewer and an admin,
and an outsider from another organisation.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ["DATABASE_URL"] = os.environ.get("BCP_TEST_DATABASE_URL") or "sqlite:///var/test.sqlite3"
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.pop("EMAIL_HOST", None)
os.environ.setdefault("STORAGE_BACKEND", "local")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test stores files in its own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def org(db):
    from bcp_site.testing import make_org

    return make_org("Acme Ltd")


@pytest.fixture
def other_org(db):
    from bcp_site.testing import make_org

    return make_org("Other Corp")


@pytest.fixture
def owner(org):
    """An editor who owns the plan fixture."""
    from bcp_site.testing import make_user

    return make_user(org, username="owner", groups=["BCP Editor"])


@pytest.fixture
def editor(org):
    from bcp_site.testing import make_user

    return make_user(org, username="editor2", groups=["BCP Editor"])


@pytest.fixture
def member(org):
    """A read-only member of the organisation."""
    from bcp_site.testing import make_user

    return make_user(org, username="member", groups=["BCP Viewer"])


@pytest.fixture
def reviewer(org):
    from bcp_site.testing import make_user

    return make_user(org, username="reviewer", groups=["BCP Reviewer"], is_staff=True)


@pytest.fixture
def reviewer2(org):
    from bcp_site.testing import make_user

    return make_user(org, username="reviewer2", groups=["BCP Reviewer"], is_staff=True)


@pytest.fixture
def bcp_admin(org):
    from bcp_site.testing import make_user

    return make_user(org, username="bcpadmin", groups=["BCP Admin"], is_staff=True)


@pytest.fixture
def outsider(other_org):
    """An editor of another organisation: must never see the plan fixture."""
    from bcp_site.testing import make_user

    return make_user(other_org, username="outsider", groups=["BCP Editor", "BCP Reviewer"], is_staff=True)


@pytest.fixture
def template(db):
    from bcp_site.testing import make_template

    return make_template(name="Small template")


@pytest.fixture
def plan(org, owner, template):
    from bcp_site.testing import make_plan

    return make_plan(org, owner, template=template, title="Head office plan")


def pytest_runtest_setup(item):
    if item.get_closest_marker("mysql_only"):
        from django.conf import settings

        if "mysql" not in settings.DATABASES["default"]["ENGINE"]:
            pytest.skip("needs MariaDB/MySQL row locks: run with BCP_TEST_DATABASE_URL=mysql://...")
