"""Clients of the GitHub client tests, pointed at the module's own `fake`."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakegithub import FakeGitHub
from refresher.upstream.github.client import GitHubClient

MakeClient = Callable[..., GitHubClient]


@pytest.fixture
def client_defaults() -> dict[str, Any]:
    """Options every client of a module gets; a module overrides this fixture to change them."""
    return {}


@pytest.fixture
def make_client(fake: FakeGitHub, client_defaults: dict[str, Any]) -> Iterator[MakeClient]:
    """Build clients of the fake (options override the defaults); all are closed afterwards."""
    clients: list[GitHubClient] = []

    def make(**options: Any) -> GitHubClient:
        base: dict[str, Any] = {
            "base_url": fake.url,
            "token": fake.token,
            "backoff": 0.01,
            "timeout": 5.0,
            **client_defaults,
        }
        client = GitHubClient(**(base | options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
