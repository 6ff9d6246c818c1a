from django.apps import AppConfig


class RefresherConfig(AppConfig):
    name = "refresher"
    verbose_name = "Refresh runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the task worker's periodic jobs (heartbeat, HTTP cache pruning).
        from refresher import housekeeping  # noqa: F401
