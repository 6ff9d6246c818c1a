"""A GitHub-compatible server on 127.0.0.1 for tests, benchmarks, the load test and offline demos.

``server`` serves it over real HTTP; ``store`` holds the git objects, ``rest`` and ``graphql``
(with ``graphql_schema`` and ``graphql_http``) answer GitHub's two APIs, ``quota`` and ``faults``
keep its rate limits and the failures a test injects, ``git_http`` (over ``git_repos``) serves
git's smart HTTP for clones, ``endpoints`` and ``errors`` are what
GitHub's documentation says of paths and error bodies; ``demo`` loads the demo repositories and
``python -m fakegithub`` serves it by hand. It imports nothing of the site (`make lint` holds
that), so that it cannot share a bug with the client it is tested against.
"""

from .demo import add_demo_repos
from .server import FakeGitHub, RequestRecord
from .store import git_hash

__all__ = ["FakeGitHub", "RequestRecord", "add_demo_repos", "git_hash"]
