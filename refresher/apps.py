from django.apps import AppConfig


class RefresherConfig(AppConfig):
    name = "refresher"
    verbose_name = "Refresh runs"
    default_auto_field = "django.db.models.BigAutoField"
