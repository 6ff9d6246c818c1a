"""The database side of the quota governor: one row per GitHub token, shared by every process.

`governor.QuotaGovernor` keeps a run's view of the rate limits in memory; this store is
what makes it one view for every web process and worker. The engine's thread reads it at the start
of a run and before every wave of requests, and writes it when a pause or an exhausted resource
must be shared and at the end of the reads (see `QuotaGovernor.sync`).
"""

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from refresher.json_types import JSON, JSONObject
from refresher.models import GitHubQuota
from refresher.upstream.github.governor import QuotaGovernor, QuotaState, ResourceQuota


def account_key(api_url: str, token: str) -> str:
    """Who the quota belongs to: GitHub counts per token (per address without one), per host."""
    return hashlib.sha256(f"{api_url.rstrip('/')}\0{token}".encode()).hexdigest()[:40]


def installation_account(api_url: str, installation_id: int) -> str:
    """An App installation's quota, whichever of its hourly tokens spends it."""
    return account_key(api_url, f"installation:{installation_id}")


# What an account is, as rows and /healthz name it.
SITE, TOKEN, INSTALLATION = "site", "token", "installation"


class DatabaseQuotaStore:
    """A `QuotaStore` over the `GitHubQuota` table.

    A write merges into the row as last read, guarded by the row's `updated_at`: one UPDATE when
    no other process wrote in between (the usual case), else a short locked read-merge-write.
    """

    def __init__(
        self, *, api_url: str, token: str = "", account: str = "", kind: str = SITE
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.account = account or account_key(api_url, token)
        self.kind = kind
        # The row as this store last read or wrote it: what a guarded UPDATE may merge into.
        self._seen: tuple[datetime, QuotaState] | None = None

    def load(self) -> QuotaState:
        row = GitHubQuota.objects.filter(account=self.account).first()
        state = _state_of(row)
        self._seen = (row.updated_at, state) if row is not None else None
        return state

    def save(self, state: QuotaState, *, clear_strikes: bool = False) -> QuotaState:
        if self._seen is not None:
            seen_at, seen = self._seen
            merged = _with_strikes(seen.merged(state), clear_strikes)
            now = timezone.now()
            if GitHubQuota.objects.filter(account=self.account, updated_at=seen_at).update(
                updated_at=now, **_values_of(merged)
            ):
                self._seen = (now, merged)
                return merged
        return self._save_locked(state, clear_strikes=clear_strikes)

    def _save_locked(self, state: QuotaState, *, clear_strikes: bool) -> QuotaState:
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    row = GitHubQuota.objects.select_for_update().filter(account=self.account)
                    current = row.first()
                    merged = _with_strikes(_state_of(current).merged(state), clear_strikes)
                    now = timezone.now()
                    if current is None:
                        created = GitHubQuota.objects.create(
                            account=self.account,
                            kind=self.kind,
                            api_url=self.api_url,
                            **_values_of(merged),
                        )
                        now = created.updated_at
                    else:
                        row.update(updated_at=now, **_values_of(merged))
                self._seen = (now, merged)
                return merged
            except IntegrityError:
                # Another process created the row first; merge into theirs.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def _with_strikes(state: QuotaState, clear: bool) -> QuotaState:
    """A success since the last pause restarts the doubling of pauses from a minute."""
    return replace(state, strikes=0) if clear else state


def governor_from_settings() -> QuotaGovernor:
    """The governor of the configured token, shared through the database."""
    return QuotaGovernor(
        DatabaseQuotaStore(api_url=settings.GITHUB_API_URL, token=settings.GITHUB_TOKEN)
    )


# How many accounts besides the site's /healthz lists (the ones with the least left first).
HEALTH_ACCOUNTS = 50


def quota_status() -> JSONObject:
    """What /healthz says of GitHub: the site token's quota and pause, and the other accounts'.

    One query. Other accounts (users' tokens, App installations) are named by their fingerprint
    and kind only: /healthz is public.
    """
    site = account_key(settings.GITHUB_API_URL, settings.GITHUB_TOKEN)
    rows = list(
        GitHubQuota.objects.filter(Q(account=site) | ~Q(kind=SITE))
        .annotate(is_site=Case(When(account=site, then=Value(0)), default=Value(1)))
        .order_by("is_site", "-updated_at")[: HEALTH_ACCOUNTS + 1]
    )
    own = rows[0] if rows and rows[0].account == site else None
    others = [row for row in rows if row is not own][:HEALTH_ACCOUNTS]
    now = timezone.now()
    accounts: list[JSONObject] = [
        {"account": row.account[:12], "kind": row.kind or TOKEN, **state_json(_state_of(row), now)}
        for row in others
    ]
    accounts.sort(key=_least_left)
    return {
        "token": "set" if settings.GITHUB_TOKEN else "missing",
        "api_url": settings.GITHUB_API_URL.rstrip("/"),
        **state_json(_state_of(own), now),
        "accounts": list[JSON](accounts),
    }


def state_json(state: QuotaState, now: datetime) -> JSONObject:
    """An account's known quota per resource and its pause, as answers show them."""
    paused = state.paused_until if state.paused_until and state.paused_until > now else None
    return {
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


def _least_left(account: JSONObject) -> int:
    resources = account.get("resources")
    left: list[int] = []
    for resource in resources.values() if isinstance(resources, dict) else ():
        remaining = resource.get("remaining") if isinstance(resource, dict) else None
        if isinstance(remaining, int):
            left.append(remaining)
    return min(left) if left else 1 << 30


def load_states(accounts: Iterable[str]) -> dict[str, QuotaState]:
    """The shared state of several accounts, in one query (accounts never seen are absent)."""
    rows = GitHubQuota.objects.filter(account__in=list(accounts))
    return {row.account: _state_of(row) for row in rows}


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


def _values_of(state: QuotaState) -> dict[str, object]:
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
        "strikes": state.strikes,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
