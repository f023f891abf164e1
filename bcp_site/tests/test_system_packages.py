"""The system-package step of `make run` / `make test` and `.ci/run` (bcp_site/system_check.py).

Package names are checked against the package lists of the releases we promise (Debian 12 and
13, Ubuntu 24.04): tests/apt_packages/<codename>.txt hold the names matching PATTERN there.
The script itself runs as `make` runs it, with a PATH of fake tools to play a bare machine.
"""

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from django.urls import reverse

from bcp_site import system_check

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bcp_site" / "system_check.py"
FIXTURES = Path(__file__).parent / "apt_packages"
# The package families the fixtures list (a name we install must match it to be checkable).
PATTERN = re.compile(
    r"^(lib(pango|pangoft2|harfbuzz|fontconfig|glib2[.]0|gobject)[-a-z0-9.+]*|fonts-dejavu[-a-z]*|fontconfig[-a-z]*"
    r"|poppler-utils|chromium[-a-z]*|python3([.][0-9]+)?-(dev|venv)|default-libmysqlclient-dev|libmariadb-dev[-a-z]*"
    r"|pkgconf|pkg-config|build-essential|mariadb-(server|client)|redis-(server|tools)|libatomic1"
    r"|libreoffice-writer-nogui)$"
)
RELEASES = {
    "bookworm": {"ID": "debian", "VERSION_ID": "12", "VERSION_CODENAME": "bookworm"},
    "trixie": {"ID": "debian", "VERSION_ID": "13", "VERSION_CODENAME": "trixie"},
    "noble": {"ID": "ubuntu", "ID_LIKE": "debian", "VERSION_ID": "24.04", "VERSION_CODENAME": "noble"},
}


def release_packages(codename: str) -> set[str]:
    lines = (FIXTURES / f"{codename}.txt").read_text().splitlines()
    return {line.split()[0] for line in lines if line and not line.startswith("#")}


def bare_machine_packages(release: dict[str, str]) -> list[str]:
    """What the check installs on a machine that has none of it (every probe fails)."""
    lacking = system_check.missing(
        ["run", "test", "mysql"], release=release,
        loads=lambda name: False, fonts=lambda: 0, which=lambda name: None, exists=lambda path: False,
    )
    return system_check.packages(lacking)


def ci_packages() -> list[str]:
    text = (ROOT / ".ci" / "run").read_text()
    block = re.search(r"^for pkg in (.*?); do", text, re.S | re.M)
    return block.group(1).replace("\\", " ").split()


@pytest.mark.parametrize("codename", RELEASES)
def test_every_package_the_check_installs_exists_on_the_release(codename):
    names = bare_machine_packages(RELEASES[codename])
    available = release_packages(codename)
    assert [name for name in names if not PATTERN.match(name)] == [], "add these to PATTERN and the fixtures"
    assert [name for name in names if name not in available] == []
    # What the application loads is all there: WeasyPrint's libraries, a font, the test tools.
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core",
            "poppler-utils", "libatomic1", "python3-dev"} <= set(names)


def test_the_t64_renames_would_be_caught():
    """GLib is named differently on each release: the check names Pango, which depends on the right one."""
    assert "libglib2.0-0" in release_packages("bookworm")
    assert "libglib2.0-0" not in release_packages("trixie") | release_packages("noble")
    assert all("glib" not in name for codename in RELEASES for name in bare_machine_packages(RELEASES[codename]))


def test_chromium_is_installed_on_debian_and_only_noted_on_ubuntu():
    assert "chromium" in bare_machine_packages(RELEASES["bookworm"])
    assert "chromium" not in release_packages("noble")  # chromium-browser there is a snap wrapper
    lacking = system_check.missing(["test"], release=RELEASES["noble"], loads=lambda name: True,
                                   fonts=lambda: 1, which=lambda name: None, exists=lambda path: True)
    chromium = next(need for need in lacking if need.what == "Chromium")
    assert not chromium.required and chromium.skippable and "playwright install" in chromium.hint


@pytest.mark.parametrize("codename", ["bookworm", "trixie"])
def test_ci_installs_what_make_test_needs_with_names_of_the_release(codename):
    names = ci_packages()
    available = release_packages(codename)
    assert [name for name in names if name not in available] == []
    # make inside CI then finds everything present and never needs apt-get (CI may run offline).
    assert set(bare_machine_packages(RELEASES[codename])) <= set(names)
    assert {"python3-dev", "redis-server", "mariadb-server"} <= set(names)


# --------------------------------------------------------------------------------------
# The script as make runs it
# --------------------------------------------------------------------------------------

# The script below finds this machine's libraries (only the PATH is faked): they must be there.
needs_the_libraries = pytest.mark.skipif(
    bool(system_check.missing(["run"])) or not system_check.library_loads("libatomic.so.1"),
    reason="this machine lacks WeasyPrint's libraries or libatomic itself",
)


@pytest.fixture
def machine(tmp_path):
    """A bare PATH (no pdftotext, no chromium, no apt-get) and an os-release file to choose."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def run(*profiles, release="bookworm", root=False, extra_env=None):
        os_release = tmp_path / "os-release"
        os_release.write_text("".join(f'{key}="{value}"\n' for key, value in RELEASES.get(release, {
            "ID": release, "VERSION_ID": "1"}).items()))
        env = {"PATH": str(bin_dir), "BCP_OS_RELEASE": str(os_release),
               "BCP_SYSTEM_CHECK_ROOT": "1" if root else "0", **(extra_env or {})}
        return subprocess.run([sys.executable, str(SCRIPT), *profiles], env=env, capture_output=True,
                              text=True, timeout=60)

    run.bin_dir = bin_dir
    return run


@needs_the_libraries
def test_not_root_stops_with_the_one_command_to_run(machine):
    result = machine("run", "test")
    assert result.returncode == 1
    assert "make test needs system packages that are not installed: pdftotext, Chromium." in result.stderr
    assert "\n    sudo apt-get install -y --no-install-recommends poppler-utils chromium\n" in result.stderr
    assert result.stdout == ""


@needs_the_libraries
def test_not_root_on_ubuntu_leaves_chromium_out_of_the_command(machine):
    result = machine("run", "test", release="noble")
    assert result.returncode == 1
    assert "\n    sudo apt-get install -y --no-install-recommends poppler-utils\n" in result.stderr
    assert "Chromium is not installed, so the tests that need it are skipped" in result.stderr


@needs_the_libraries
def test_root_installs_with_apt_get_then_goes_on(machine):
    log = machine.bin_dir / "apt.log"
    apt_get = machine.bin_dir / "apt-get"
    # A stand-in apt-get: records how it was called and "installs" the two tools into the PATH.
    apt_get.write_text(
        "#!/bin/sh\n"
        f'echo "$DEBIAN_FRONTEND $*" >> {log}\n'
        'if [ "$1" = install ]; then\n'
        f"  for tool in pdftotext chromium; do printf '#!/bin/sh\\n' > {machine.bin_dir}/$tool; done\n"
        f"  /bin/chmod +x {machine.bin_dir}/pdftotext {machine.bin_dir}/chromium\n"
        "fi\n"
    )
    apt_get.chmod(0o755)
    result = machine("run", "test", root=True)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "noninteractive update -qq",
        "noninteractive install -y --no-install-recommends poppler-utils chromium -qq",
    ]
    assert "Installing system packages for make test: poppler-utils chromium" in result.stderr
    # Everything present now: silent, and apt-get is not called again.
    again = machine("run", "test", root=True)
    assert (again.returncode, again.stderr, len(log.read_text().splitlines())) == (0, "", 2)


@needs_the_libraries
def test_run_needs_nothing_the_tests_need(machine):
    """`make run` does not stop for pdftotext or Chromium, nor for MySQL headers (SQLite)."""
    result = machine("run")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_system_without_apt_is_told_what_is_missing_and_how_to_go_on(machine):
    result = machine("run", "test", release="fedora")
    assert result.returncode == 1
    assert "BCP_SKIP_SYSTEM_CHECK=1" in result.stderr and "pdftotext" in result.stderr
    skipped = machine("run", "test", release="fedora", extra_env={"BCP_SKIP_SYSTEM_CHECK": "1"})
    assert (skipped.returncode, skipped.stderr) == (0, "")


def test_weasyprint_problem_names_the_library_and_the_command(monkeypatch):
    monkeypatch.setenv("BCP_OS_RELEASE", os.devnull)
    monkeypatch.setattr(system_check, "library_loads", lambda name: name != "libgobject-2.0.so.0")
    problem = system_check.weasyprint_problem()
    assert problem.startswith("missing GObject (libgobject-2.0.so.0)")
    assert "apt-get install -y --no-install-recommends libpango-1.0-0" in problem


class _UnloadableWeasyPrint(types.ModuleType):
    """WeasyPrint as it imports on a machine without Pango: its first library fails to open."""

    def __getattr__(self, name):
        raise OSError("cannot load library 'libgobject-2.0-0': libgobject-2.0-0: cannot open shared object file")


def test_a_pdf_export_without_weasyprint_libraries_says_why_instead_of_failing(monkeypatch, client, plan, member):
    from plans.exports import render

    loaded = getattr(render, "_print_html_class", None)  # WeasyPrint's classes, loaded once per process
    if hasattr(loaded, "cache_clear"):
        loaded.cache_clear()
        monkeypatch.setattr(render, "_print_html_class", loaded.__wrapped__)
    monkeypatch.setitem(sys.modules, "weasyprint", _UnloadableWeasyPrint("weasyprint"))
    monkeypatch.setattr(system_check, "library_loads", lambda name: name != "libgobject-2.0.so.0")
    client.force_login(member)

    response = client.get(reverse("files:version_export", args=[plan.pk, 1, "pdf"]))

    assert response.status_code < 500
    page = response.content.decode()
    assert "PDF rendering is not available on this server: missing GObject (libgobject-2.0.so.0)" in page
    assert "apt-get install -y --no-install-recommends libpango-1.0-0" in page
    assert client.get(reverse("files:version_export", args=[plan.pk, 1, "docx"])).status_code == 200


def test_a_test_that_reconfigures_logging_leaves_no_handler_on_a_closed_stream(tmp_path):
    """`manage.py` run in-process re-runs django.setup(); later tests' log lines still print cleanly."""
    tests = tmp_path / "test_logging_after_manage.py"
    tests.write_text(
        "import logging\n"
        "from django.core.management import ManagementUtility\n\n"
        "def test_runs_manage_py_in_process(capsys):\n"
        "    ManagementUtility(['manage.py', 'check']).execute()\n\n"
        "def test_logs_afterwards():\n"
        "    logging.getLogger('django_tasks').warning('a task ran')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rP", "-p", "no:randomly", "-c", str(ROOT / "pytest.ini"),
         "--rootdir", str(ROOT), str(tests)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert "2 passed" in result.stdout, result.stdout + result.stderr
    assert "a task ran" in result.stdout  # the line itself is still shown with the test's output
    assert "Logging error" not in result.stdout + result.stderr
