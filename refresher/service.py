"""Starting refreshes: the entry point the API, admin and command line share."""

from typing import Any

from django.conf import settings

from refresher.client import github_client_from_settings
from refresher.engine import Refresher
from refresher.models import RefreshRun
from refresher.options import RefreshOptions


def refresher_from_settings() -> Refresher:
    return Refresher(github_client_from_settings(), concurrency=settings.REFRESH_CONCURRENCY)


def refresh_now(
    collection: Any,
    options: RefreshOptions,
    *,
    user: Any = None,
    request_id: str = "",
    idempotency_key: str = "",
    deadline_seconds: float | None = None,
    progress: Any = None,
) -> RefreshRun:
    """Refresh inline with the production client; see Refresher.refresh."""
    refresher = refresher_from_settings()
    try:
        return refresher.refresh(
            collection,
            options,
            user=user,
            request_id=request_id,
            idempotency_key=idempotency_key,
            deadline_seconds=deadline_seconds,
            progress=progress,
        )
    finally:
        refresher.client.close()
