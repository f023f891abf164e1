"""The operating system's part: libraries and tools the application and its tests load.

Standard library only: `make` runs it with the system Python before the virtualenv exists,

    python3 bcp_site/system_check.py run [test] [mysql]

and the application asks it why PDF rendering cannot load (`weasyprint_problem`).
Each need is probed the way it is used (the library names WeasyPrint opens, fontconfig's
font list, the commands the tests run), then mapped to a Debian/Ubuntu package. As root,
missing packages are installed with apt-get; otherwise the script stops (exit 1) printing the
one command to run. Nothing missing: silent, exit 0, in a few milliseconds.

Package names exist on Debian 12 (bookworm), Debian 13 (trixie) and Ubuntu 24.04 (noble)
(bcp_site/tests/test_system_packages.py checks them against those releases' package lists).
GLib is deliberately not named: its package is `libglib2.0-0` on Debian 12 and
`libglib2.0-0t64` on the others, and Pango depends on the right one.

Environment: BCP_SKIP_SYSTEM_CHECK=1 skips the check (a system without apt, on purpose);
BCP_SYSTEM_CHECK_ROOT=1/0 and BCP_OS_RELEASE=<file> pretend another user or release (tests).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass

# The names WeasyPrint opens on Linux (weasyprint/text/ffi.py tries these among others).
WEASYPRINT_LIBRARIES = {
    "GObject": ("libgobject-2.0.so.0", "libpango-1.0-0"),  # GLib comes with Pango (see above)
    "Pango": ("libpango-1.0.so.0", "libpango-1.0-0"),
    "PangoFT2": ("libpangoft2-1.0.so.0", "libpangoft2-1.0-0"),
    "HarfBuzz": ("libharfbuzz.so.0", "libharfbuzz0b"),
    "HarfBuzz subset": ("libharfbuzz-subset.so.0", "libharfbuzz-subset0"),
    "fontconfig": ("libfontconfig.so.1", "libfontconfig1"),
}
FONT_PACKAGE = "fonts-dejavu-core"
PROFILES = ("run", "test", "mysql")
OS_RELEASE = "/etc/os-release"


@dataclass(frozen=True)
class Need:
    what: str  # what a person reads: "Pango (libpango-1.0.so.0)"
    package: str | None  # the apt package that provides it on this release; None: none does
    required: bool = True  # False: only noted (the tests that need it are skipped)
    skippable: bool = False  # the tests that need it skip without it (the others run)
    hint: str = ""  # how to get it when no apt package does


def os_release() -> dict[str, str]:
    """Fields of /etc/os-release (empty when there is none)."""
    fields = {}
    try:
        with open(os.environ.get("BCP_OS_RELEASE") or OS_RELEASE, encoding="utf-8") as handle:
            for line in handle:
                key, sep, value = line.strip().partition("=")
                if sep:
                    fields[key] = value.strip().strip('"')
    except OSError:
        pass
    return fields


def uses_apt(release: dict[str, str]) -> bool:
    family = {release.get("ID", "")} | set(release.get("ID_LIKE", "").split())
    return bool(family & {"debian", "ubuntu"})


def is_ubuntu(release: dict[str, str]) -> bool:
    return release.get("ID") == "ubuntu" or "ubuntu" in release.get("ID_LIKE", "").split()


def library_loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def font_count() -> int:
    """How many fonts fontconfig lists (what Pango will choose from); 0 without fontconfig."""
    try:
        fc = ctypes.CDLL("libfontconfig.so.1")
    except OSError:
        return 0
    fc.FcInitLoadConfigAndFonts.restype = ctypes.c_void_p
    fc.FcPatternCreate.restype = ctypes.c_void_p
    fc.FcObjectSetCreate.restype = ctypes.c_void_p
    fc.FcObjectSetAdd.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fc.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    fc.FcFontList.restype = ctypes.POINTER(ctypes.c_int)  # FcFontSet starts with `int nfont`
    fc.FcFontSetDestroy.argtypes = [ctypes.c_void_p]
    config = fc.FcInitLoadConfigAndFonts()
    if not config:
        return 0
    objects = fc.FcObjectSetCreate()
    fc.FcObjectSetAdd(objects, b"family")
    fonts = fc.FcFontList(config, fc.FcPatternCreate(), objects)
    if not fonts:
        return 0
    count = fonts[0]
    fc.FcFontSetDestroy(ctypes.cast(fonts, ctypes.c_void_p))
    return count


def _mysqlclient_headers(which: Callable[[str], str | None]) -> bool:
    """What mysqlclient's build asks: pkg-config's `mysqlclient` (or `mariadb`) module."""
    if which("pkg-config"):
        return any(
            subprocess.run(["pkg-config", "--exists", module], check=False).returncode == 0
            for module in ("mysqlclient", "mariadb")
        )
    return any(
        os.path.exists(os.path.join(folder, f"{module}.pc"))
        for folder in ("/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/aarch64-linux-gnu/pkgconfig",
                       "/usr/lib/pkgconfig", "/usr/share/pkgconfig")
        for module in ("mysqlclient", "mariadb")
    )


def missing(
    profiles,
    *,
    release: dict[str, str] | None = None,
    loads: Callable[[str], bool] | None = None,
    fonts: Callable[[], int] | None = None,
    which: Callable[[str], str | None] | None = None,
    exists: Callable[[str], bool] | None = None,
) -> list[Need]:
    """What the given profiles need and this machine lacks ("run", "test", "mysql").

    The probes default to this machine's (tests pass others to play another machine).
    """
    unknown = set(profiles) - set(PROFILES)
    if unknown:
        raise ValueError(f"unknown profile(s): {', '.join(sorted(unknown))} (known: {', '.join(PROFILES)})")
    release = os_release() if release is None else release
    loads, fonts = loads or library_loads, fonts or font_count
    which, exists = which or shutil.which, exists or os.path.exists
    lacking = []
    # `test` and `mysql` run the application too.
    for label, (soname, package) in WEASYPRINT_LIBRARIES.items():
        if not loads(soname):
            lacking.append(Need(f"{label} ({soname})", package))
    if fonts() == 0:
        lacking.append(Need("a font (fontconfig lists none)", FONT_PACKAGE))
    if "test" in profiles:
        if not which("pdftotext"):
            lacking.append(Need("pdftotext", "poppler-utils"))
        if not loads("libatomic.so.1"):  # Playwright's own Node.js driver links it; bare Debian lacks it
            lacking.append(Need("libatomic (libatomic.so.1, for Playwright's driver)", "libatomic1", skippable=True))
        if not which("chromium"):
            if is_ubuntu(release):  # Ubuntu's chromium package is a snap wrapper: no deb to install
                lacking.append(Need("Chromium", None, required=False, skippable=True,
                                    hint=".venv/bin/python -m playwright install --with-deps chromium"))
            else:
                lacking.append(Need("Chromium", "chromium", skippable=True))
    if "mysql" in profiles:
        if not exists(os.path.join(sysconfig.get_config_var("INCLUDEPY") or "", "Python.h")):
            lacking.append(Need("Python.h (to build mysqlclient)", "python3-dev"))
        if not which("cc"):
            lacking.append(Need("a C compiler", "build-essential"))
        if not which("pkg-config"):
            lacking.append(Need("pkg-config", "pkg-config"))
        if not _mysqlclient_headers(which):
            lacking.append(Need("the MySQL/MariaDB client headers", "default-libmysqlclient-dev"))
    return lacking


def packages(needs: list[Need]) -> list[str]:
    """The apt packages for the required needs, once each, in order."""
    return list(dict.fromkeys(need.package for need in needs if need.required and need.package))


def install_command(names: list[str], *, root: bool) -> str:
    return f"{'' if root else 'sudo '}apt-get install -y --no-install-recommends {' '.join(names)}"


def weasyprint_problem() -> str | None:
    """Why WeasyPrint cannot render here, with the command that fixes it; None when it can."""
    lacking = missing(["run"])
    if not lacking:
        return None
    names = packages(lacking)
    fix = f"`{install_command(names, root=True)}` (Debian/Ubuntu)" if names else "the missing libraries"
    return f"missing {', '.join(need.what for need in lacking)}; the administrator should install {fix}"


def _is_root() -> bool:
    forced = os.environ.get("BCP_SYSTEM_CHECK_ROOT")
    if forced in ("0", "1"):
        return forced == "1"
    return os.geteuid() == 0


def _say(*lines: str) -> None:
    print("\n".join(lines), file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    profiles = argv or ["run"]
    if os.environ.get("BCP_SKIP_SYSTEM_CHECK") == "1":
        return 0
    try:
        lacking = missing(profiles)
    except ValueError as error:
        _say(f"system_check: {error}")
        return 2
    for need in lacking:
        if not need.required:
            _say(f"Note: {need.what} is not installed, so the tests that need it are skipped"
                 + (f" (to run them: {need.hint})." if need.hint else "."))
    names = packages(lacking)
    if not names:
        return 0
    task = "make test" if "test" in profiles else "make run"
    listed = ", ".join(need.what for need in lacking if need.required)
    release = os_release()
    if not uses_apt(release):
        _say(f"{task} needs what this system lacks: {listed}.",
             "Install them with the system's package manager",
             f"(on Debian/Ubuntu: {install_command(names, root=False)}),",
             "or set BCP_SKIP_SYSTEM_CHECK=1 to go on without them.")
        return 1
    if not _is_root():
        _say(f"{task} needs system packages that are not installed: {listed}.",
             "Install them with:",
             "",
             f"    {install_command(names, root=False)}",
             "",
             f"then run {task} again (or run make as root: it installs them itself).")
        return 1
    _say(f"Installing system packages for {task}: {' '.join(names)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], install_command(names, root=True).split() + ["-qq"]):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            _say(f"`{' '.join(command)}` failed: install the packages above by hand, then run {task} again.")
            return 1
    still = [need.what for need in missing(profiles) if need.required]
    if still:
        _say(f"Still missing after apt-get: {', '.join(still)}.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
