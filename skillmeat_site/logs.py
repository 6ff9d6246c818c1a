"""What every log line knows about its context: the request and the refresh run it belongs to.

The ids live in context variables. The request middleware sets the request id for a web request;
the background task sets both ids around a run, so a worker's lines carry the id of the request
that queued the run. `LogContextFilter` copies them onto every record, and `JsonFormatter` writes
one JSON object per line for log collectors (`LOG_FORMAT=json`).
"""

import contextvars
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

UNKNOWN = "-"

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=UNKNOWN)
run_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default=UNKNOWN)


@contextmanager
def log_context(*, request_id: str | None = None, run_id: str | None = None) -> Iterator[None]:
    """Tag the log lines written inside the block; an id left None keeps the current one."""
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id or UNKNOWN)))
    if run_id is not None:
        tokens.append((run_id_var, run_id_var.set(run_id or UNKNOWN)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def carry_context() -> Callable[[], None]:
    """A thread initializer that gives a pool's threads the ids of the thread that made it.

    Threads start with an empty context, so without this the lines the read plan's threads
    write would lose the run they work for.
    """
    request_id, run_id = request_id_var.get(), run_id_var.get()

    def initializer() -> None:
        request_id_var.set(request_id)
        run_id_var.set(run_id)

    return initializer


class LogContextFilter(logging.Filter):
    """Adds `request_id` and `run_id` to every record (an explicit `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Django writes its django.request lines ("Not Found: ...", "Internal Server
            # Error: ...") after the middleware has returned, outside the request's context; the
            # request it puts on the record still knows its id.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        if not hasattr(record, "run_id"):
            record.run_id = run_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, run_id.

    The ids are null where unknown; an exception's traceback goes into `exc_info` as text, so a
    record never spans several lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", UNKNOWN)
        run_id = getattr(record, "run_id", UNKNOWN)
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == UNKNOWN else request_id,
            "run_id": None if run_id == UNKNOWN else run_id,
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
