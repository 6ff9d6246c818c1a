"""A GitHub-compatible server on 127.0.0.1 for tests, benchmarks, the load test and offline demos.

``store`` holds the git objects, ``server`` answers GitHub's REST API over real HTTP, ``demo``
loads the demo repositories; ``python -m fakegithub`` serves it by hand.
"""

from .demo import add_demo_repos
from .server import FakeGitHub, RequestRecord
from .store import git_hash

__all__ = ["FakeGitHub", "RequestRecord", "add_demo_repos", "git_hash"]
