from django.apps import AppConfig


class RefresherConfig(AppConfig):
    name = "refresher"
    verbose_name = "Refresh runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the scheduler's periodic job with the task worker's ticker.
        from refresher import scheduler  # noqa: F401
