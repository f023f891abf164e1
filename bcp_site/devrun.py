"""`make run`: the development server and one background worker, started and stopped together.

    python -m bcp_site.devrun [ADDRESS:PORT]

SITE_URL (the start of links in emails) defaults to http://ADDRESS:PORT for both processes.

Starts `manage.py runserver` and the worker of the configured task backend (`db_worker` for
the database queue, `rqworker default --with-scheduler` for RQ; none for the immediate backend),
each in its own process group. Ctrl-C (or SIGTERM) stops both, with whatever they started; if
either stops by itself, the other is stopped too and the exit status is the first one's. One
worker only: SQLite (the `make run` database) has no `SKIP LOCKED`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MANAGE = str(Path(__file__).resolve().parent.parent / "manage.py")
WORKERS = {
    "database": ["db_worker", "--no-startup-delay"],
    "rq": ["rqworker", "default", "--with-scheduler"],  # the scheduler runs deferred tasks (retries)
    "immediate": None,
}


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the child and what it started (runserver's autoreloader child)
    except ProcessLookupError:
        pass


def _stop(processes: list[subprocess.Popen], grace: float = 8.0) -> None:
    """Ctrl-C each child's process group, then SIGTERM, then SIGKILL for whatever is left."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        for process in processes:
            if process.poll() is None:
                _signal_group(process, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in processes):
            time.sleep(0.1)
        if all(p.poll() is not None for p in processes):
            break
    for process in processes:  # the groups' other members (autoreloader children) go with their leader
        _signal_group(process, signal.SIGKILL)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def site_url_for(address: str) -> str:
    """The address people open for `runserver ADDRESS`: `8080` alone means 127.0.0.1:8080, as runserver reads it."""
    return f"http://{'127.0.0.1:' if address.isdigit() else ''}{address}"


def build_commands(address: str, backend: str) -> list[list[str]]:
    """The web server on `address`, and the worker of `backend` (a key of WORKERS) where it has one."""
    commands = [[sys.executable, MANAGE, "runserver", address]]
    if WORKERS[backend]:
        commands.append([sys.executable, MANAGE, *WORKERS[backend]])
    return commands


def main(argv: list[str]) -> int:
    address = argv[0] if argv else "127.0.0.1:8000"
    backend = (os.environ.get("BCP_TASKS_BACKEND") or "database").strip().lower()
    if backend not in WORKERS:
        print(f"BCP_TASKS_BACKEND={backend!r}: use one of {', '.join(WORKERS)}.", file=sys.stderr)
        return 2
    # Links in emails follow the address served, unless SITE_URL says otherwise (a proxy in front).
    if not os.environ.get("SITE_URL"):
        os.environ["SITE_URL"] = site_url_for(address)
    commands = build_commands(address, backend)
    worker = f" and one task worker ({' '.join(WORKERS[backend])}). Ctrl-C stops both" if WORKERS[backend] else ""
    print(f"Starting the web server on {site_url_for(address)}/{worker}.", flush=True)
    # Ctrl-C and SIGTERM stop both, even where the shell started this with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # Each child leads its own process group, so stopping it reaches what it started too.
    processes = [subprocess.Popen(command, start_new_session=True) for command in commands]
    status = 0
    try:
        while True:
            for process in processes:
                code = process.poll()
                if code is not None:
                    print(f"{' '.join(process.args[2:])} stopped (exit status {code}); stopping the rest.",
                          file=sys.stderr, flush=True)
                    status = code
                    raise StopIteration
            time.sleep(0.5)
    except (KeyboardInterrupt, StopIteration):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(processes)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
