"""The database side of the quota governor: one row per GitHub token, shared by every process.

`refresher.governor.QuotaGovernor` keeps a run's view of the rate limits in memory; this store is
what makes it one view for every web process and worker. The engine's thread reads it at the start
of a run and before every wave of requests, and writes it when a pause or an exhausted resource
must be shared and at the end of the reads (see `QuotaGovernor.sync`).
"""

import hashlib
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from refresher.governor import QuotaGovernor, QuotaState, ResourceQuota
from refresher.models import GitHubQuota


def account_key(api_url: str, token: str) -> str:
    """Who the quota belongs to: GitHub counts per token (per address without one), per host."""
    return hashlib.sha256(f"{api_url.rstrip('/')}\0{token}".encode()).hexdigest()[:40]


class DatabaseQuotaStore:
    """A `QuotaStore` over the `GitHubQuota` table."""

    def __init__(self, *, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.account = account_key(api_url, token)

    def load(self) -> QuotaState:
        row = GitHubQuota.objects.filter(account=self.account).first()
        return _state_of(row)

    def save(self, state: QuotaState, *, clear_strikes: bool = False) -> QuotaState:
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    row = GitHubQuota.objects.select_for_update().filter(account=self.account)
                    current = row.first()
                    merged = _state_of(current).merged(state)
                    strikes = 0 if clear_strikes else merged.strikes
                    values = _values_of(merged, strikes)
                    if current is None:
                        GitHubQuota.objects.create(
                            account=self.account, api_url=self.api_url, **values
                        )
                    else:
                        row.update(updated_at=timezone.now(), **values)
                return QuotaState(
                    merged.resources, merged.paused_until, merged.pause_seconds, strikes
                )
            except IntegrityError:
                # Another process created the row first; merge into theirs.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def governor_from_settings() -> QuotaGovernor:
    """The governor of the configured token, shared through the database."""
    return QuotaGovernor(
        DatabaseQuotaStore(api_url=settings.GITHUB_API_URL, token=settings.GITHUB_TOKEN)
    )


def quota_status() -> dict[str, Any]:
    """What /healthz says of GitHub: token set or missing, known quota per resource, pause."""
    store = DatabaseQuotaStore(api_url=settings.GITHUB_API_URL, token=settings.GITHUB_TOKEN)
    state = store.load()
    now = timezone.now()
    paused = state.paused_until if state.paused_until and state.paused_until > now else None
    return {
        "token": "set" if settings.GITHUB_TOKEN else "missing",
        "api_url": store.api_url,
        "resources": {
            name: {
                "limit": quota.limit,
                # A window that has reset since it was recorded is full again.
                "remaining": quota.remaining if quota.reset_at > now else quota.limit,
                "reset_at": _iso(quota.reset_at),
            }
            for name, quota in sorted(state.resources.items())
        },
        "paused_until": _iso(paused) if paused else None,
    }


def _state_of(row: GitHubQuota | None) -> QuotaState:
    if row is None:
        return QuotaState()
    resources: dict[str, ResourceQuota] = {}
    for name, item in (row.resources or {}).items():
        try:
            resources[name] = ResourceQuota(
                limit=int(item["limit"]),
                remaining=int(item["remaining"]),
                reset_at=datetime.fromisoformat(item["reset_at"]),
            )
        except (KeyError, TypeError, ValueError):
            continue  # a damaged entry is as good as unknown
    return QuotaState(resources, row.paused_until, row.pause_seconds, row.strikes)


def _values_of(state: QuotaState, strikes: int) -> dict[str, Any]:
    return {
        "resources": {
            name: {
                "limit": quota.limit,
                "remaining": quota.remaining,
                "reset_at": quota.reset_at.isoformat(),
            }
            for name, quota in state.resources.items()
        },
        "paused_until": state.paused_until,
        "pause_seconds": state.pause_seconds,
        "strikes": strikes,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
