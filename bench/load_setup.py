#!/usr/bin/env python
"""Prepare users, API tokens and collections for the locust scenario (locustfiles/site.py).

Run from the repository root against the site's database (DATABASE_URL, as the site reads it)::

    .venv/bin/python bench/load_setup.py --users 50 --artifacts 12 --output var/load/users.json

Every user gets a token and one collection of artifacts whose sources are the demo repositories
the GitHub fake serves with ``--demo`` (``python -m fakegithub --demo``). The JSON file
lists ``{username, token, collection_id}`` per user. Running it again reuses what exists.

With ``--warm`` (the default) one collection is refreshed once in check_only mode, which fills the
shared HTTP cache, so every refresh of the load test is a warm one: free 304s upstream.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# What `fakegithub --demo` serves: (type, name, source).
DEMO_SOURCES = [
    ("skill", "pdf", "anthropics/skills/skills/pdf"),
    ("skill", "docx", "https://github.com/anthropics/skills/tree/main/skills/docx"),
    ("skill", "skill-creator", "anthropics/skills/skills/skill-creator"),
    ("command", "review", "example-org/claude-toolbox/commands/review.md"),
    ("agent", "researcher", "example-org/claude-toolbox/agents/researcher.md"),
    ("hook", "format-on-save", "example-org/claude-toolbox/hooks/format-on-save"),
    ("mcp", "filesystem", "example-org/claude-toolbox/mcp/filesystem.json"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--artifacts", type=int, default=12, help="artifacts per collection")
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "load" / "users.json")
    parser.add_argument("--prefix", default="load")
    parser.add_argument("--no-warm", dest="warm", action="store_false")
    args = parser.parse_args(argv)

    # A production-like site: DEBUG off, so it needs a key; a random one per run.

    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from collections_app.models import Artifact, Collection

    User = get_user_model()
    accounts = []
    with transaction.atomic():
        for i in range(args.users):
            username = f"{args.prefix}-user-{i:03d}"
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            token, _ = Token.objects.get_or_create(user=user)
            collection, _ = Collection.objects.get_or_create(
                owner=user,
                name=f"{args.prefix} collection {i:03d}",
                defaults={"description": "Collection for the load test."},
            )
            existing = set(collection.artifacts.values_list("type", "name"))
            for j in range(args.artifacts):
                kind, name, source = DEMO_SOURCES[j % len(DEMO_SOURCES)]
                if j >= len(DEMO_SOURCES):
                    name = f"{name}-{j // len(DEMO_SOURCES) + 1}"
                if (kind, name) not in existing:
                    Artifact(collection=collection, type=kind, name=name, source=source).save()
            accounts.append(
                {"username": username, "token": token.key, "collection_id": str(collection.pk)}
            )

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(accounts, indent=2) + "\n")
    print(f"{len(accounts)} users with a collection of {args.artifacts} artifacts -> {args.output}")

    if args.warm and accounts:
        from refresher.models import Mode
        from refresher.options import RefreshOptions
        from refresher.service import refresh_now

        first = Collection.objects.get(pk=accounts[0]["collection_id"])
        run = refresh_now(first, RefreshOptions(mode=Mode.CHECK_ONLY))
        print(f"warmed the HTTP cache: run {run.pk} {run.status} ({run.total} artifacts)")
        if run.status != "completed":
            print("the warm-up refresh did not complete: is the GitHub fake running?")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
