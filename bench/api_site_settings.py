"""Settings of the site the API benchmark starts: the site's own, with its timing middleware.

Everything else (DEBUG off, the database, the GitHub fake's URL, REFRESH_UPSTREAM,
REFRESH_SYNC_MAX_ARTIFACTS) comes from the environment `api_bench.py` gives the server.
"""

from skillmeat_site.settings import *  # noqa: F403
from skillmeat_site.settings import MIDDLEWARE as SITE_MIDDLEWARE

# Outermost: what it times is the whole of Django's handling of a request.
MIDDLEWARE = ["api_site_timing.BenchTimingMiddleware", *SITE_MIDDLEWARE]
