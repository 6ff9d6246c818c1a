"""Background refresh runs on Django's task framework (django-tasks-db by default)."""

import logging

from django.conf import settings
from django.db import transaction
from django.tasks import task

from refresher.factory import refresher_from_settings
from refresher.models import RefreshRun
from refresher.runs import claim, fail_run, fail_stale_runs
from skillmeat_site.logs import log_context

logger = logging.getLogger("refresher.tasks")


@task()
def refresh_run(run_id: str) -> str:
    """Execute a queued run; returns its final status (or why it did not run)."""
    fail_stale_runs()
    run = RefreshRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    # The worker's lines about this run carry the id of the request that queued it.
    with log_context(request_id=run.request_id, run_id=str(run.pk)):
        return _execute(run)


def _execute(run: RefreshRun) -> str:
    run_id = str(run.pk)
    if not claim(run):
        return f"not queued ({run.status})"
    refresher = refresher_from_settings()
    try:
        run = refresher.execute(run)
    except Exception:
        logger.exception("background refresh run %s crashed", run_id)
        fail_run(run, code="internal_error", message="The run stopped on an unexpected error.")
        raise
    finally:
        refresher.client.close()
    return str(run.status)


def enqueue(run: RefreshRun) -> None:
    """Queue the run's task once the run row is committed, so a worker can always see it."""

    def send() -> None:
        try:
            refresh_run.using(backend=settings.REFRESH_TASK_BACKEND).enqueue(str(run.pk))
        except Exception:
            logger.exception("could not queue refresh run %s", run.pk)
            fail_run(run, code="internal_error", message="The run could not be queued.")

    transaction.on_commit(send)
