"""The OpenAPI document is the truth (SPEC 14): schemathesis against the live site finds nothing.

The test serves the site on a free loopback port (pytest-django's live server, on the test
database of whichever engine the suite runs on), points the refresher at a GitHub fake on another
port, gives a user a collection with artifacts and a finished refresh run, and runs schemathesis
with every check on (as `--checks all`, set in the config so that the one per-operation exception
there can apply) with that user's token over every operation of `/api/schema/`: new endpoints
are covered as soon as they are in the document. Its settings (examples per
operation, determinism, the test data the schema cannot describe) are in `schemathesis.toml`
beside this file. On any finding the test fails with schemathesis's report.

Run it alone: `pytest -m contract` (or `pytest tests/api/test_openapi_contract.py`).

No operation is excluded. One check is off on one operation: whether the import accepts a
schema-valid manifest (a manifest's grammar is prose; reason in `schemathesis.toml`). Two settings
shape the data
(both explained in `schemathesis.toml` and docs/decisions.md): generated strings hold no U+0000
(the server refuses it everywhere with a 400, which OpenAPI 3.0 cannot say short of a pattern on
every string), and a schema-valid `source` that is not a GitHub spec is swapped for a valid one by
`contract_hooks.py` (the spec grammar of SPEC 3 is prose the document cannot express).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from rest_framework.authtoken.models import Token

from collections_app.marketplace.views import ShareLinkThrottle
from collections_app.refresh_views import RefreshThrottle
from fakegithub import FakeGitHub, add_demo_repos
from tests.api.contract_hooks import CONTRACT_GIT_HOST
from tests.conftest import client_for
from tests.credentials_support import make_credential
from tests.factories import ArtifactFactory, CollectionFactory, UserFactory
from tests.marketplace_kit import share_link_url

pytestmark = [pytest.mark.contract, pytest.mark.django_db(transaction=True)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
ROOT = Path(__file__).resolve().parents[2]
# A bound on the whole run: on this 2-core machine it takes well under two minutes.
RUN_TIMEOUT_SECONDS = 420
# What schemathesis prints before its failures is progress; the report is the rest.
REPORT_CHARS = 60_000


@pytest.fixture
def fake_github(settings):
    fake = FakeGitHub().start()
    add_demo_repos(fake)
    settings.GITHUB_API_URL = fake.url
    settings.GITHUB_TOKEN = fake.token
    settings.REFRESH_MAX_RETRIES = 1
    settings.REFRESH_RETRY_BACKOFF = 0.01
    settings.REFRESH_HTTP_TIMEOUT = 5.0
    # Webhooks on, so their refusals are the signature's; notifications may go to loopback.
    settings.GITHUB_WEBHOOK_SECRET = "contract-webhook-secret"
    settings.NOTIFY_ALLOW_PRIVATE = True
    # Credentials can be stored, and git logins are for one host nobody can resolve.
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    settings.GIT_ALLOWED_HOSTS = [CONTRACT_GIT_HOST]
    yield fake
    fake.stop()


@pytest.fixture
def contract_data(fake_github, monkeypatch) -> dict[str, str]:
    """A user owning a collection with artifacts of every kind of source, and a finished run."""
    # The run refreshes far more often than the production rate allows; a 429 is documented, but
    # a run answered only with 429s would test nothing behind the throttle.
    monkeypatch.setattr(RefreshThrottle, "rate", "100000/min", raising=False)
    monkeypatch.setattr(ShareLinkThrottle, "rate", "100000/min", raising=False)
    owner = UserFactory(username="contract-owner")
    collection = CollectionFactory(owner=owner, name="Contract collection")
    artifacts = {}
    for kind, name, source in [
        ("skill", "pdf", "anthropics/skills/skills/pdf"),
        ("skill", "docx", "https://github.com/anthropics/skills/tree/main/skills/docx"),
        ("command", "review", "example-org/claude-toolbox/commands/review.md@v1.0.0"),
        ("agent", "notes", "./local/agents/notes.md"),
        ("hook", "elsewhere", "https://gitlab.example.com/team/repo"),
        ("mcp", "unsourced", ""),
    ]:
        artifacts[name] = ArtifactFactory(
            collection=collection, type=kind, name=name, source=source
        )
    # Another user's collection: every operation must keep it out of the owner's sight.
    CollectionFactory(owner=UserFactory(username="contract-other"), name="Not yours")
    make_credential(owner, name="Contract token")

    refreshed = client_for(owner).post(
        f"/api/v1/collections/{collection.id}/refresh", {}, format="json"
    )
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["summary"]["refreshed"] >= 3, refreshed.json()
    # Two artifacts synced as far as the marketplace can tell, so its manifest has plugins.
    collection.artifacts.filter(name__in=["pdf", "review"]).update(resolved_sha="a" * 40)
    token, _ = Token.objects.get_or_create(user=owner)
    return {
        "CONTRACT_SHARE_TOKEN": share_link_url(collection).split("/")[2],
        "CONTRACT_TOKEN": token.key,
        "CONTRACT_COLLECTION_ID": str(collection.id),
        "CONTRACT_ARTIFACT_ID": str(artifacts["unsourced"].id),
        "CONTRACT_RUN_ID": refreshed.json()["run_id"],
    }


def test_schemathesis_finds_no_disagreement_between_the_schema_and_the_site(
    live_server, contract_data, tmp_path
):
    base = live_server.url.replace("://localhost:", "://127.0.0.1:")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/api/schema/",
        "--url",
        base,
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    env = {
        **os.environ,
        **contract_data,
        "SCHEMATHESIS_HOOKS": "tests.api.contract_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        done = subprocess.run(
            command,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode()
        report = partial[-REPORT_CHARS:]
        pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT_SECONDS} s:\n{report}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-REPORT_CHARS:]
    # Every operation of the document was selected and tested: none filtered out or skipped.
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-REPORT_CHARS:]
    assert selected.group(1) == selected.group(2) == tested.group(1), output[-REPORT_CHARS:]
    assert int(tested.group(1)) >= 16, output[-REPORT_CHARS:]
