"""Watch the acknowledgement links arrive, kill the worker that is sending them, sweep, wait for the rest.

The worker to kill is the one whose current RQ job is the outbox's delivery task (asked of
Redis, where RQ workers register their current job); it is killed with its whole session
(SIGKILL to the worker and its work horse) and a new worker is started in its place. Once the
lease of the rows it had claimed has expired, `manage.py outbox_sweep` (what cron runs) queues
them again, and the workers deliver them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

DELIVERY_TASK = "plans.outbox.outbox_deliver_task"
EXPIRED = re.compile(r"(\d+) expired lease")


@dataclass
class DeliveryFacts:
    killed_at_links: int | None = None
    requeued: int = 0
    sweeps: list[str] = field(default_factory=list)
    seconds: float = 0.0
    done: bool = False


def delivering_worker(pids: list[int]) -> int | None:
    """The index in `pids` of a worker whose current job is the outbox delivery task, if any."""
    import django_rq
    from rq import Worker
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    connection = django_rq.get_connection("default")
    for worker in Worker.all(connection=connection):
        job_id = worker.get_current_job_id()
        if not job_id or worker.pid not in pids:
            continue
        try:
            job = Job.fetch(job_id, connection=connection)
        except NoSuchJobError:
            continue
        if job.func_name == DELIVERY_TASK:
            return pids.index(worker.pid)
    return None


def unfinished_rows() -> int:
    """Outbox rows still queued or being sent."""
    from plans.models import Notification

    return Notification.objects.filter(status__in=[Notification.Status.QUEUED, Notification.Status.SENDING]).count()


def deliver_with_kill(*, stack, env: dict, workers: list, mailbox, expected: set[str], lease: float,
                      kill_after: int, timeout: float, say) -> DeliveryFacts:
    """Wait until every expected address has its link and the outbox is empty, killing a delivering
    worker once `kill_after` links arrived and sweeping after the lease. `workers` is updated in place."""
    facts = DeliveryFacts()
    started = time.monotonic()
    deadline = started + timeout
    last_event = started
    replacements = 0
    while time.monotonic() < deadline:
        links = mailbox.ack_links()
        arrived = {recipient for recipient, _ in links}
        if facts.killed_at_links is None and len(links) >= kill_after and not expected <= arrived:
            victim = delivering_worker([worker.pid for worker in workers])
            if victim is not None:
                stack.kill_group(workers[victim])
                facts.killed_at_links = len(mailbox.ack_links())
                replacements += 1
                workers[victim] = stack.start_worker(env, f"worker-{len(workers) + replacements}")
                say(f"  killed a delivering worker (SIGKILL, with its work horse) at {facts.killed_at_links} "
                    f"links; started another")
                last_event = time.monotonic()
        if expected <= arrived and unfinished_rows() == 0:
            facts.done = True
            break
        if facts.killed_at_links is not None and time.monotonic() - last_event > lease + 1:
            output = stack.manage(env, "outbox_sweep")
            facts.sweeps.append(output)
            match = EXPIRED.search(output)
            facts.requeued += int(match.group(1)) if match else 0
            say(f"  manage.py outbox_sweep: {output}")
            last_event = time.monotonic()
        time.sleep(0.02)
    time.sleep(1)  # a message sent twice would arrive now
    facts.seconds = time.monotonic() - started
    return facts
