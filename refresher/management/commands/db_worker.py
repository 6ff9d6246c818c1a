"""`manage.py db_worker`: django-tasks-db's worker, plus `refresher.triggers.periodic`'s jobs."""

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as WorkerCommand

from refresher.triggers.periodic import Ticker


class Command(WorkerCommand):
    help = WorkerCommand.help + " Also runs the periodic jobs (refresher.triggers.periodic)."

    def handle(self, *args: Any, **options: Any) -> None:
        ticker = Ticker()
        ticker.start()
        try:
            super().handle(*args, **options)
        finally:
            ticker.stop()
