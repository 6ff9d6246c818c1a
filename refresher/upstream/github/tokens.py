"""Where a GitHub client's token comes from: a fixed one, or one minted anew (an App's)."""

from typing import Protocol

from refresher.secrets import Secret


class TokenSource(Protocol):
    """Where a client's token comes from: a fixed one, or an App installation's, minted anew.

    `current()` may be called from any worker thread (it may ask GitHub, never the database);
    `refused(token)` is told that GitHub answered 401 to `token` and returns a token to try the
    request again with, or None when there is none (the client then stops).
    """

    def current(self) -> Secret: ...

    def refused(self, token: Secret) -> Secret | None: ...


class StaticToken:
    """A token that never changes: the site's own, or a user's personal token."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(********)"

    def current(self) -> Secret:
        return self._token

    def refused(self, token: Secret) -> Secret | None:
        return None
