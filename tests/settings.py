"""Settings for the test suite: the site's own, with the few changes tests need."""

import os
import secrets
import tempfile

# The site refuses to start with DEBUG off and no key; the suite makes a random one for itself
# (and the processes it starts) unless the environment gives one.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

from skillmeat_site.settings import *  # noqa: F403

# Django's test client sends this host name; the site itself does not allow it.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405

# Hashing test passwords with PBKDF2 would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Background runs execute inside enqueue(); the tests of the real worker use the database
# backend explicitly. Tasks bind their backend when they are defined, so this must be set
# before any task module is imported.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
# The real database backend, for the tests that run a real worker against it.
TASKS["database"] = {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}

# One test database per test process, so two suites running at once never share one.
_default = DATABASES["default"]  # noqa: F405
if _default["ENGINE"] == "django.db.backends.sqlite3":
    _default["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405
else:
    _default["TEST"] = {"NAME": f"test_{_default['NAME']}_{os.getpid()}"}
# Keeps what was queued without running it, for tests that look at the queue itself.
TASKS["dummy"] = {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}

# Git sources: nothing allowed unless a test says so, whatever the environment running the suite.
GIT_ALLOWED_HOSTS: list[str] = []
GIT_ALLOW_LOCAL = False
# Test repositories are made under pytest's temporary directory; the tests of the roots
# themselves set their own.
GIT_LOCAL_ROOTS = [str(VAR_DIR), tempfile.gettempdir()]  # noqa: F405
