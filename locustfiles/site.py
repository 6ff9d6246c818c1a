"""Load scenario for a running site: API reads, background check refreshes, and run polling.

Each simulated user signs in with its own API token and works on its own collection (prepared by
``bench/load_setup.py``, which writes the JSON file named by ``LOAD_USERS``, default
``var/load/users.json``). It lists collections, artifacts and runs, reads its collection, starts
a ``check_only`` refresh in the background (202 with the run's URL in ``Location``; 409
``refresh_in_progress`` while its previous run is still queued or running is a correct answer, and
counts as a success) and polls the run it started until the run is finished.

Run by ``bench/run_load.sh``, or by hand against a site on loopback::

    LOAD_USERS=var/load/users.json .venv/bin/locust -f locustfiles/site.py --headless \\
        -u 50 -r 10 -t 2m --host http://127.0.0.1:8000

``--exclude-tags background`` leaves only the reads. Requests are grouped by name so the
percentiles answer the targets: reads, the 202 enqueue and the run poll.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, tag, task

USERS_FILE = Path(os.environ.get("LOAD_USERS", "var/load/users.json"))
FINISHED = frozenset({"completed", "partial", "failed"})

_accounts: list[dict[str, str]] = []
_next_account = itertools.count()
_lock = threading.Lock()
_outcomes: Counter[str] = Counter()  # refresh answers and the final states polls saw


@events.init.add_listener
def _load_accounts(environment: Any, **_kwargs: Any) -> None:
    if not USERS_FILE.exists():
        raise SystemExit(f"{USERS_FILE} not found: run bench/load_setup.py (or set LOAD_USERS)")
    _accounts.extend(json.loads(USERS_FILE.read_text()))
    if not _accounts:
        raise SystemExit(f"{USERS_FILE} lists no users")


@events.quitting.add_listener
def _report_outcomes(environment: Any, **_kwargs: Any) -> None:
    if _outcomes:
        print(
            "Background refresh outcomes: "
            + ", ".join(f"{k} {v}" for k, v in sorted(_outcomes.items()))
        )


class SiteUser(HttpUser):
    # LOAD_WAIT_MIN=0 LOAD_WAIT_MAX=0 turns the scenario into a capacity test.
    wait_time = between(
        float(os.environ.get("LOAD_WAIT_MIN", "0.5")), float(os.environ.get("LOAD_WAIT_MAX", "2"))
    )

    def on_start(self) -> None:
        with _lock:
            account = _accounts[next(_next_account) % len(_accounts)]
        self.collection_id = account["collection_id"]
        self.client.headers["Authorization"] = f"Token {account['token']}"
        self.client.headers["Accept"] = "application/json"
        self.run_id: str | None = None

    # -- reads ---------------------------------------------------------------------------------

    @task(3)
    def list_collections(self) -> None:
        self._read("/api/v1/collections/", "read: GET /collections/")

    @task(1)
    def read_collection(self) -> None:
        self._read(f"/api/v1/collections/{self.collection_id}/", "read: GET /collections/{id}/")

    @task(3)
    def list_artifacts(self) -> None:
        self._read(
            f"/api/v1/artifacts/?collection={self.collection_id}",
            "read: GET /artifacts/?collection=",
        )

    @task(2)
    def list_runs(self) -> None:
        self._read(
            f"/api/v1/refresh-runs/?collection={self.collection_id}",
            "read: GET /refresh-runs/?collection=",
        )

    def _read(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            elif "results" not in response.json() and "id" not in response.json():
                response.failure("unexpected body")
            else:
                response.success()

    # -- background refresh and polling ----------------------------------------------------------

    @tag("background")
    @task(1)
    def refresh_in_background(self) -> None:
        with self.client.post(
            f"/api/v1/collections/{self.collection_id}/refresh",
            json={"mode": "check_only", "background": True},
            name="refresh: POST /collections/{id}/refresh (background)",
            catch_response=True,
        ) as response:
            if response.status_code == 202:
                body = response.json()
                run_id = body.get("run_id")
                location = response.headers.get("Location", "")
                if not run_id or not location.endswith(f"/api/v1/refresh-runs/{run_id}/"):
                    response.failure(f"202 without a matching run_id and Location: {location!r}")
                    return
                self.run_id = run_id
                _outcomes["202 queued"] += 1
                response.success()
            elif response.status_code == 409:
                body = response.json()
                if body.get("code") != "refresh_in_progress":
                    response.failure(f"409 with code {body.get('code')!r}")
                    return
                # The run already going is the one to follow.
                self.run_id = (body.get("details") or {}).get("run_id") or self.run_id
                _outcomes["409 refresh_in_progress"] += 1
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @tag("background")
    @task(3)
    def poll_run(self) -> None:
        if self.run_id is None:
            return
        with self.client.get(
            f"/api/v1/refresh-runs/{self.run_id}/",
            name="poll: GET /refresh-runs/{id}/",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            status = response.json().get("status")
            if status in FINISHED:
                _outcomes[f"polled until {status}"] += 1
                self.run_id = None
            elif status not in ("queued", "running"):
                response.failure(f"unexpected run status {status!r}")
                return
            response.success()
