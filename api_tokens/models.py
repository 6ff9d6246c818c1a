"""An API token as the admin shows it (a proxy of DRF's, no table of its own)."""

from rest_framework.authtoken.models import TokenProxy


class ApiToken(TokenProxy):
    """Named by whose token it is, never by its key: DRF's Token names itself by its key, and
    the admin writes an object's name into page titles, messages and the change history."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user}"
