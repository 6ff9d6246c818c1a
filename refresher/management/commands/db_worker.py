"""`manage.py db_worker`: django-tasks-db's worker, plus `refresher.triggers.periodic`'s jobs."""

from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from refresher.triggers.periodic import Ticker


class Command(WorkerCommand):
    help = WorkerCommand.help + " Also runs the periodic jobs (refresher.triggers.periodic)."

    # The worker's options, passed on as they came (django-tasks-db types the others as dicts).
    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: dict[str, object],
    ) -> None:
        ticker = Ticker()
        ticker.start()
        try:
            super().handle(
                verbosity=verbosity,
                queue_name=queue_name,
                interval=interval,
                batch=batch,
                backend_name=backend_name,
                startup_delay=startup_delay,
                reload=reload,
                max_tasks=max_tasks,
                worker_id=worker_id,
                exclude_queues=exclude_queues,
                **options,
            )
        finally:
            ticker.stop()
