"""Work the task worker does on a clock, beside the tasks it runs.

Jobs register with `@periodic(name, every=seconds)`. `manage.py db_worker` (our subclass of
django-tasks-db's) runs a `Ticker` thread that calls every due job, so recurring work needs no
process of its own. Several workers may run the same job at the same time: a job must be safe to
run concurrently and take whatever database guard it needs to do its work once.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections

logger = logging.getLogger("refresher.periodic")

# How often the ticker wakes up to look for due jobs (seconds).
TICK_SECONDS = 5.0


@dataclass
class Job:
    name: str
    every: float  # seconds between two runs in one process
    func: Callable[[], object]
    last_run: float | None = field(default=None, compare=False)  # time.monotonic()


_jobs: dict[str, Job] = {}


def periodic(name: str, *, every: float) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register `func` to run about every `every` seconds in each task worker."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        _jobs[name] = Job(name=name, every=every, func=func)
        return func

    return register


def jobs() -> list[Job]:
    return list(_jobs.values())


def run_due(now: float | None = None) -> list[str]:
    """Run every job whose interval has passed (all of them the first time); their names."""
    now = time.monotonic() if now is None else now
    ran = []
    for job in jobs():
        if job.last_run is not None and now - job.last_run < job.every:
            continue
        job.last_run = now
        ran.append(job.name)
        try:
            job.func()
        except Exception:
            # One failing job must not stop the others, nor the worker's tasks.
            logger.exception("periodic job %s failed", job.name)
        finally:
            close_old_connections()
    return ran


class Ticker(threading.Thread):
    """Calls `run_due` every `interval` seconds until `stop()`."""

    def __init__(self, interval: float = TICK_SECONDS) -> None:
        super().__init__(name="periodic-ticker", daemon=True)
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while True:
            run_due()
            if self._stopped.wait(self.interval):
                return

    def stop(self) -> None:
        self._stopped.set()
