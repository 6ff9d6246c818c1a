"""GitHub webhook deliveries in the shapes GitHub sends them, signed like GitHub signs them."""

import hashlib
import hmac
import json
import uuid
from typing import Any

from rest_framework.test import APIClient

URL = "/api/v1/webhooks/github"
SECRET = "webhook-secret-for-tests"


def commit(*, added=(), modified=(), removed=(), message="Update skills") -> dict[str, Any]:
    sha = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    return {
        "id": sha,
        "tree_id": uuid.uuid4().hex + uuid.uuid4().hex[:8],
        "distinct": True,
        "message": message,
        "timestamp": "2026-11-30T09:15:00Z",
        "url": f"https://github.com/acme/skills/commit/{sha}",
        "author": {"name": "Dana Ops", "email": "dana@example.org", "username": "dana"},
        "committer": {"name": "Dana Ops", "email": "dana@example.org", "username": "dana"},
        "added": list(added),
        "removed": list(removed),
        "modified": list(modified),
    }


def push(
    *,
    full_name: str = "acme/skills",
    ref: str = "refs/heads/main",
    default_branch: str = "main",
    commits: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    owner, name = full_name.split("/")
    body: dict[str, Any] = {
        "ref": ref,
        "before": "a" * 40,
        "after": "b" * 40,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{full_name}/compare/aaaaaaa...bbbbbbb",
        "repository": {
            "id": 4242,
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": {"name": owner, "login": owner},
            "html_url": f"https://github.com/{full_name}",
            "default_branch": default_branch,
            "master_branch": default_branch,
        },
        "pusher": {"name": "dana", "email": "dana@example.org"},
        "sender": {"login": "dana", "id": 7},
    }
    if commits is not None:
        body["commits"] = commits
        body["head_commit"] = commits[-1] if commits else None
    body.update(extra)
    return body


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    payload: Any,
    *,
    event: str = "push",
    delivery: str | None = None,
    signature: str | None = "auto",
    raw: bytes | None = None,
    client: APIClient | None = None,
):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
        "HTTP_USER_AGENT": "GitHub-Hookshot/0a1b2c3",
    }
    if signature == "auto":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return (client or APIClient()).generic(
        "POST", URL, body, content_type="application/json", **headers
    )
