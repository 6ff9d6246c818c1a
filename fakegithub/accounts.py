"""The REST endpoints about who is asking: ``/user``, a GitHub App and its installations.

Shapes from GitHub's REST reference (version 2022-11-28): "Get the authenticated user", "Get the
authenticated app", "Get an installation for the authenticated app", "Get a repository
installation for the authenticated app", "Create an installation access token for an app"
(201), and "List repositories accessible to the app installation". The App endpoints take the
App's JWT; the others a token. An installation token asking for ``/user`` is refused with 403,
as GitHub refuses integrations there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from .apps import App, Apps, Installation
from .errors import GitHubFailure
from .identities import Identities, Identity
from .json_types import JSONObject
from .quota import Quota
from .responses import json_response
from .rest import RestRoutes
from .store import WEB_URL, RepoStore, iso, node_id

_PATHS = re.compile(
    r"/user|/app|/app/installations/\d+(?:/access_tokens)?|/installation/repositories"
    r"|/repos/[^/]+/[^/]+/installation"
)
PERMISSIONS: JSONObject = {"contents": "read", "metadata": "read"}


@dataclass(frozen=True)
class Answered:
    """An answer, and the quota it is billed to (None: nothing is billed)."""

    response: Response
    quota: Quota | None


class AccountRoutes:
    """Answers the endpoints above, from the Apps and tokens the fake knows."""

    def __init__(
        self,
        store: RepoStore,
        apps: Apps,
        identities: Identities,
        rest: RestRoutes,
        base_url: Callable[[], str],
    ) -> None:
        self.store = store
        self.apps = apps
        self.identities = identities
        self.rest = rest
        self.base_url = base_url

    @staticmethod
    def serves(path: str) -> bool:
        return _PATHS.fullmatch(path) is not None

    def route(self, request: Request, authorization: str) -> Answered:
        path, method = request.path, request.method
        if path in ("/user", "/installation/repositories"):
            identity = self.identities.identify(authorization)
            if identity is None:
                raise GitHubFailure(401, "Requires authentication")
            if method not in ("GET", "HEAD"):
                raise GitHubFailure(404)
            return Answered(self._as_token(path, identity), identity.quota)
        app = self.apps.authenticate(authorization)
        return Answered(self._as_app(request, app), app.quota)

    def _as_token(self, path: str, identity: Identity) -> Response:
        if path == "/user":
            if identity.kind == "installation":
                raise GitHubFailure(403, "Resource not accessible by integration")
            return json_response(self._user(identity))
        if identity.kind != "installation":
            raise GitHubFailure(403, "You must authenticate with an installation access token")
        with self.store.lock:
            # An installation's token reads its installation's repositories, public or not.
            bodies = [
                self.rest.repo_body(r) for r in self.store.repos() if identity.reads_private(r)
            ]
        return json_response(
            {"total_count": len(bodies), "repository_selection": "all", "repositories": bodies}
        )

    def _as_app(self, request: Request, app: App) -> Response:
        path = request.path
        if path == "/app" and request.method == "GET":
            return json_response(self._app(app))
        if match := re.fullmatch(r"/app/installations/(\d+)", path):
            if request.method != "GET":
                raise GitHubFailure(404)
            return json_response(self._installation(self.apps.installation(app, int(match[1]))))
        if match := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path):
            if request.method != "POST":
                raise GitHubFailure(404)
            token, expires, installation = self.apps.mint(app, int(match[1]))
            body: JSONObject = {
                "token": token,
                "expires_at": iso(int(expires)),
                "permissions": PERMISSIONS,
                "repository_selection": _selection(installation),
            }
            return json_response(body, status=201)
        if match := re.fullmatch(r"/repos/([^/]+)/([^/]+)/installation", path):
            with self.store.lock:
                repo = self.store.get(f"{match[1]}/{match[2]}")
            if repo is None or request.method != "GET":
                raise GitHubFailure(404)
            return json_response(self._installation(self.apps.installation_on(app, repo)))
        raise GitHubFailure(404)

    def _user(self, identity: Identity) -> JSONObject:
        login = identity.login
        return {
            "login": login,
            "id": identity.user_id,
            "node_id": node_id("User", login),
            "avatar_url": f"https://avatars.githubusercontent.com/{login}",
            "url": f"{self.base_url()}/users/{login}",
            "html_url": f"{WEB_URL}/{login}",
            "type": "User",
            "site_admin": False,
            "name": None,
        }

    def _app(self, app: App) -> JSONObject:
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("App", app.id),
            "owner": {"login": app.owner, "type": "Organization"},
            "name": app.name,
            "description": "",
            "external_url": f"{WEB_URL}/apps/{app.slug}",
            "html_url": f"{WEB_URL}/apps/{app.slug}",
            "permissions": PERMISSIONS,
            "events": [],
        }

    def _installation(self, installation: Installation) -> JSONObject:
        base = f"{self.base_url()}/app/installations/{installation.id}"
        return {
            "id": installation.id,
            "account": {
                "login": installation.account,
                "id": installation.id * 7,
                "type": installation.account_type,
            },
            "repository_selection": _selection(installation),
            "access_tokens_url": f"{base}/access_tokens",
            "repositories_url": f"{self.base_url()}/installation/repositories",
            "html_url": f"{WEB_URL}/settings/installations/{installation.id}",
            "app_id": installation.app_id,
            "target_id": installation.id * 7,
            "target_type": installation.account_type,
            "permissions": PERMISSIONS,
            "events": [],
            "created_at": iso(int(installation.created_at)),
            "updated_at": iso(int(installation.created_at)),
            "single_file_name": None,
        }


def _selection(installation: Installation) -> str:
    return "all" if installation.repositories is None else "selected"
