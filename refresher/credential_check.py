"""Trying a credential upstream: `POST /api/v1/credentials/{id}/test` (SPEC 16).

A GitHub token is asked who it is (`GET /user`); a GitHub App signs a JWT and is asked what it
is (`GET /app`), and mints a token of its named installation; a git login has no host-wide
question to ask, so it lists the refs of a repository: the one the request names, or one of its
owner's git sources of that host. With a `source`, a GitHub credential is also tried on that
repository, as the account a run would read it as. Nothing here raises for what upstream says:
a refusal is `ok: false` with GitHub's or git's words (never the secret).
"""

from dataclasses import dataclass

from collections_app.models import Artifact, Credential, CredentialKind
from refresher.credentials.access import mark_used
from refresher.exceptions import GitFailed, InvalidRequest, InvalidSource, SecretUnreadable
from refresher.factory import CredentialConnector, git_from_settings, github_client
from refresher.secrets import Secret, secret_box
from refresher.sources import Source, SourceKind, parse_source
from refresher.upstream.access import AppCredential, CredentialRef, same_host
from refresher.upstream.git.cli import GitLogin
from refresher.upstream.github.apps import InstallationToken
from refresher.upstream.github.client import GitHubClient, GitHubError, StaticToken


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What trying a credential found: `login` for tokens and logins, `app` for an App."""

    ok: bool
    detail: str
    login: str | None = None
    app: str | None = None


def check_credential(credential: Credential, *, source: str = "") -> CheckResult:
    """Try the credential upstream; mark it used when upstream accepted it."""
    target = _parse(source)
    try:
        secret = secret_box().open(credential.secret_encrypted)
    except SecretUnreadable:
        return CheckResult(False, "Its secret cannot be decrypted with CREDENTIAL_KEYS.")
    if credential.kind == CredentialKind.GITHUB_TOKEN:
        result = _check_token(secret, target)
    elif credential.kind == CredentialKind.GITHUB_APP:
        result = _check_app(credential, secret, target)
    else:
        result = _check_login(credential, secret, target)
    if result.ok:
        mark_used({credential.pk})
    return result


def _parse(text: str) -> Source | None:
    if not text.strip():
        return None
    try:
        source = parse_source(text, strict=True)
    except InvalidSource as exc:
        raise InvalidRequest(
            f"source: {exc}", details={"source": [f"Invalid source: {exc}."]}
        ) from None
    if not source.refreshable:
        raise InvalidRequest(
            "source: not a repository that can be read",
            details={"source": ["Give a GitHub (owner/repo) or git+https source."]},
        )
    return source


def _check_token(token: Secret, target: Source | None) -> CheckResult:
    with github_client(auth=StaticToken(token), max_retries=0) as client:
        try:
            data = client.get("/user").data
        except GitHubError as exc:
            return CheckResult(False, f"GitHub refused the token: {exc.message}")
        login = data.get("login") if isinstance(data, dict) else None
        result = CheckResult(True, f"GitHub knows the token as {login}.", login=login)
        return _try_repository(client, target, result)


def _check_app(credential: Credential, key: Secret, target: Source | None) -> CheckResult:
    ref = CredentialRef(credential.pk, credential.name)
    plain = AppCredential(ref, credential.app_id or 0, key, credential.installation_id)
    app = CredentialConnector().app(plain)
    try:
        slug = app.slug()
        installation = credential.installation_id
        if target is not None and target.kind is SourceKind.GITHUB:
            found = app.installation_for(target.owner, target.repo)
            if found is None:
                detail = f"The App {slug} is not installed on {target.owner}."
                return CheckResult(False, detail, app=slug)
            installation = found.id
        if installation is None:
            return CheckResult(True, f"GitHub accepted the App's key ({slug}).", app=slug)
        client = github_client(auth=InstallationToken(app, installation), max_retries=0)
        with client:
            client.get("/installation/repositories", params={"per_page": "1"})
            result = CheckResult(
                True, f"The App {slug} reads as installation {installation}.", app=slug
            )
            return _try_repository(client, target, result)
    except GitHubError as exc:
        return CheckResult(False, f"GitHub refused the App: {exc.message}")
    finally:
        app.flush()


def _try_repository(
    client: GitHubClient, target: Source | None, result: CheckResult
) -> CheckResult:
    if target is None:
        return result
    if target.kind is not SourceKind.GITHUB:
        return CheckResult(
            False, "A GitHub credential reads GitHub sources only.", result.login, result.app
        )
    try:
        data = client.get(f"/repos/{target.owner}/{target.repo}").data
    except GitHubError as exc:
        detail = f"It cannot read {target.full_name}: {exc.message}"
        return CheckResult(False, detail, result.login, result.app)
    private = isinstance(data, dict) and data.get("private") is True
    detail = f"{result.detail} It reads {target.full_name}" + (" (private)." if private else ".")
    return CheckResult(True, detail, result.login, result.app)


def _check_login(credential: Credential, password: Secret, target: Source | None) -> CheckResult:
    target = target or _a_source_of(credential)
    if target is None:
        return CheckResult(
            False,
            f"None of your collections has a git source of {credential.host} to try the login "
            "on; name one as `source`.",
            login=credential.username,
        )
    if target.kind is not SourceKind.GIT or not same_host(credential.host, target.host):
        detail = f"A git login for {credential.host} reads git+https sources of that host only."
        return CheckResult(False, detail, login=credential.username)
    login = GitLogin(credential.host, credential.username, password)
    try:
        git_from_settings().run(["ls-remote", "--heads", "--", target.url], login=login)
    except GitFailed as exc:
        return CheckResult(False, f"{target.url}: {exc.message}", login=credential.username)
    return CheckResult(True, f"{target.url} lets it in.", login=credential.username)


def _a_source_of(credential: Credential) -> Source | None:
    """A git source of the credential's host in its owner's collections, to try it on."""
    sources = Artifact.objects.filter(
        collection__owner=credential.owner_id, source_kind=SourceKind.GIT.value
    ).values_list("source", flat=True)
    for text in sources.order_by("source")[:200]:
        try:
            source = parse_source(text)
        except InvalidSource:
            continue
        if source.kind is SourceKind.GIT and same_host(credential.host, source.host):
            return source
    return None
