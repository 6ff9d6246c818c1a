"""What a run may read private sources with: its collection's credentials, as plain values.

The engine builds an `Access` for each run from the collection's credentials (in the owner's
order, secrets already decrypted into `Secret`s; `refresher.credentials.access`) and hands it to
the providers in the run's `ReadContext`. Providers pick from it per repository (SPEC 16): for a
GitHub repository an App installed on its owner, else the first token, else the site's own
token; for a git host, the first login for that host and port. Nothing here knows models.
"""

import uuid
from dataclasses import dataclass

from refresher.secrets import Secret


@dataclass(frozen=True, slots=True)
class CredentialRef:
    """Which credential, as messages name it: its name and id (never its secret)."""

    id: uuid.UUID
    name: str

    def describe(self) -> str:
        return f"credential {self.name!r} ({self.id})"


@dataclass(frozen=True, slots=True)
class TokenCredential:
    ref: CredentialRef
    token: Secret
    # Why the credential cannot be used at all (a secret no configured key opens, a token for
    # another GitHub host); it then fails as refused.
    refused: str = ""


@dataclass(frozen=True, slots=True)
class AppCredential:
    ref: CredentialRef
    app_id: int
    private_key: Secret
    installation_id: int | None = None
    refused: str = ""


@dataclass(frozen=True, slots=True)
class GitCredential:
    ref: CredentialRef
    host: str  # host, or host:port when not 443
    username: str
    password: Secret
    refused: str = ""


@dataclass(frozen=True, slots=True)
class ReadAs:
    """Whom a reader reads as: how its errors name that, and whether it may read private
    repositories (the site's token may not, for most collections: no confused deputy)."""

    label: str = "the site's GitHub token"
    private: bool = True
    credential: CredentialRef | None = None

    def refuse_private(self, repository: str) -> str:
        """Why a private repository's answer is refused: what entries say."""
        return (
            f"{repository} is private, and {self.label} reads private repositories only for "
            "the collections SITE_TOKEN_PRIVATE_REPOS names; list a credential of the "
            "collection's owner that can read it on the collection"
        )

    def refused(self, detail: str) -> str:
        """What an entry says when GitHub refused this reader's credentials."""
        return f"GitHub refused {self.label}: {detail}"


# The site's own GITHUB_TOKEN, allowed private repositories: what a reader reads as unless told.
SITE_TOKEN = ReadAs()


def same_host(credential_host: str, source_host: str) -> bool:
    """Port-exact, as GIT_ALLOWED_HOSTS: `h` and `h:443` are one host, `h:8443` another."""

    def normalized(host: str) -> str:
        host = host.lower()
        return host.removesuffix(":443")

    return normalized(credential_host) == normalized(source_host)


@dataclass(frozen=True, slots=True)
class Access:
    """A run's credentials by kind, in the collection's order, and the site token's reach.

    `site_private` says whether the site's own GITHUB_TOKEN may read private repositories for
    this run (SITE_TOKEN_PRIVATE_REPOS and the collection owner). A credential that cannot be
    used (its `refused` says why) stays in its place and fails as refused, so that no other
    credential is silently used instead.
    """

    tokens: tuple[TokenCredential, ...] = ()
    apps: tuple[AppCredential, ...] = ()
    git_logins: tuple[GitCredential, ...] = ()
    site_private: bool = False

    @property
    def token(self) -> TokenCredential | None:
        """The GitHub token repositories fall back to before the site's own."""
        return self.tokens[0] if self.tokens else None

    def git_login_for(self, host: str) -> GitCredential | None:
        """The first login of the collection for this host and port, if any."""
        return next((c for c in self.git_logins if same_host(c.host, host)), None)

    @property
    def credentials(self) -> tuple[CredentialRef, ...]:
        return (
            *(c.ref for c in self.tokens),
            *(c.ref for c in self.apps),
            *(c.ref for c in self.git_logins),
        )
