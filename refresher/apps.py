from django.apps import AppConfig
from django.db.models.signals import post_migrate

from refresher.signals import run_finished


def ensure_cache_tables(*, using: str = "default", **kwargs: object) -> None:
    """Create the database cache's table when missing, after every `migrate`.

    Migration 0004 creates it on a new database; this also covers a CACHE_LOCATION changed
    later, so `migrate` stays the only set-up step. Existing tables are left alone.
    """
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class RefresherConfig(AppConfig):
    name = "refresher"
    verbose_name = "Refresh runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the task worker's periodic jobs (heartbeat, HTTP cache pruning, the
        # refresh scheduler).
        from refresher.triggers import housekeeping, notify, pending, scheduler  # noqa: F401

        post_migrate.connect(ensure_cache_tables, sender=self)
        # What follows the end of every run, in this order: the pushes that waited for the
        # collection start, then the run's notification (schedule and push runs) is queued.
        run_finished.connect(pending.start_after_run, dispatch_uid="refresher.pending")
        run_finished.connect(notify.queue_notification, dispatch_uid="refresher.notify")
