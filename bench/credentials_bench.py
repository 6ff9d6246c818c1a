#!/usr/bin/env python
"""Credentials benchmark: what reading private repositories with a collection's own credential
costs against reading them with the site's token.

Run from the repository root::

    .venv/bin/python bench/credentials_bench.py [--artifacts 500] [--repos 50] [--latency 0.02]
        [--plan rest|graphql] [--database-url postgres://postgres@127.0.0.1:5432/skillmeat_bench]

N private skills in R repositories of R/10 owners are served by the GitHub fake in a child
process. Three collections hold the same artifacts and read them through the production path
(`refresher.service.refresh_now`, the factory, the database):

- `site`: a staff user's collection, read with the site's token (the old path);
- `token`: a user's collection listing a GitHub token credential that may read the repositories;
- `app`: a user's collection listing a GitHub App installed on every owner.

Each is refreshed cold (the HTTP cache emptied first), then warm (nothing changed upstream).
Per refresh it prints wall time, requests by kind (installation lookups and token mints
included), and database queries. A credential costs one more query per run (the collection's
credentials, decrypted) and its quota row's; an App one installation lookup and one token per
owner the first time, then nothing while its token is kept.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from typing import Any

from scenario import (
    FakeProcess,
    Layout,
    database_version,
    make_collection,
    prepare_database,
    publish,
    setup_django,
)

USER_TOKEN = "ghp_bench_user_token_0000000000000000"
APP_ID = 77001


def kind_of(path: str) -> str:
    if path.endswith("/installation"):
        return "lookup"
    if path.endswith("/access_tokens"):
        return "mint"
    if path == "/graphql":
        return "graphql"
    return path.split("/")[4] if path.count("/") >= 4 else "repo"


def refresh(collection: Any, fake: FakeProcess) -> tuple[float, Counter[str], int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from refresher.options import RefreshOptions
    from refresher.service import refresh_now

    fake.call("take_log")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        run = refresh_now(collection, RefreshOptions())
        wall = time.perf_counter() - started
    records, _peak, _graphql_left = fake.call("take_log")
    kinds = Counter(kind_of(path) for path, *_ in records)
    return wall, kinds, len(queries.captured_queries), f"{run.status} {run.refreshed}/{run.total}"


def collections(layout: Layout, app_key: str, fake: FakeProcess) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from django.contrib.auth import get_user_model

    from collections_app.models import Credential
    from refresher.credentials.kinds import github_host, store_secret
    from refresher.secrets import Secret

    users = get_user_model().objects
    staff = users.create(username="bench-staff", is_staff=True)
    owner = users.create(username="bench-user")
    key = serialization.load_pem_private_key(app_key.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    owners = sorted({repo.split("/")[0] for repo in layout.repos})
    fake.call("add_token", (USER_TOKEN, "bench-user", layout.repos))
    fake.call("add_app", (APP_ID, public.decode(), owners))

    def credential(name: str, kind: str, secret: str, **fields: Any) -> Credential:
        made = Credential(owner=owner, name=name, kind=kind, host=github_host(), **fields)
        store_secret(made, Secret(secret))
        made.save()
        return made

    made = {
        "site": make_collection(staff, "site", layout),
        "token": make_collection(owner, "token", layout),
        "app": make_collection(owner, "app", layout),
    }
    made["token"].credentials.add(
        credential("token", "github_token", USER_TOKEN), through_defaults={"position": 0}
    )
    made["app"].credentials.add(
        credential("app", "github_app", app_key, app_id=APP_ID), through_defaults={"position": 0}
    )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=500)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--plan", choices=("rest", "graphql"), default="rest")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    url, cleanup = prepare_database(args.database_url, sqlite_name="credentials.sqlite3")
    fake = FakeProcess(args.latency)
    try:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        os.environ["CREDENTIAL_KEYS"] = Fernet.generate_key().decode()
        os.environ["GITHUB_API_URL"] = fake.url
        os.environ["GITHUB_TOKEN"] = fake.token
        os.environ["REFRESH_UPSTREAM"] = args.plan
        setup_django(url)
        layout = Layout.build(args.artifacts, args.repos, "bench")
        publish(fake, layout, seed=7)
        fake.call("make_private", layout.repos)
        app_key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
            .decode()
        )
        made = collections(layout, app_key, fake)
        from refresher.models import HttpCacheEntry

        print(
            f"{args.artifacts} private artifacts in {len(layout.repos)} repositories, "
            f"{args.latency * 1000:.0f} ms per request, {args.plan} plan, {database_version()}"
        )
        print(f"{'collection':<10} {'refresh':<6} {'wall s':>7} {'queries':>8}  requests by kind")
        for name, collection in made.items():
            for phase in ("cold", "warm"):
                if phase == "cold":
                    # Each collection starts from nothing cached (its trees and blobs would
                    # otherwise come from the collection read before it).
                    HttpCacheEntry.objects.all().delete()
                wall, kinds, queries, outcome = refresh(collection, fake)
                by_kind = " ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
                print(f"{name:<10} {phase:<6} {wall:7.2f} {queries:8d}  {by_kind}  ({outcome})")
    finally:
        fake.stop()
        cleanup()


if __name__ == "__main__":
    main()
