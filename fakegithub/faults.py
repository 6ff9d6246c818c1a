"""Network shaping: injected error answers, delayed and held answers, matched on the path."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import DOCS_URL, GitHubFailure


@dataclass
class FailRule:
    """Answer paths matching ``pattern`` with ``status`` (``times`` times, or always)."""

    pattern: re.Pattern[str]
    status: int
    times: int | None
    message: str | None
    headers: dict[str, str]
    documentation_url: str = DOCS_URL


class Hold:
    """A gate: matching requests wait at the fake until :meth:`release` (or the fake stops).

    Tests prove concurrency with it instead of timing: :meth:`wait_for` returns once that many
    requests are waiting at once.
    """

    def __init__(self, path_regex: str) -> None:
        self.pattern = re.compile(path_regex)
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._waiting = 0

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests are held at once; False if that did not happen in time."""
        with self._changed:
            return self._changed.wait_for(lambda: self._waiting >= count, timeout)

    def release(self) -> None:
        """Let every held request, and every later one, through."""
        self._released.set()

    def pass_through(self, stopping: threading.Event) -> None:
        """Hold the calling request until released or until ``stopping`` is set."""
        with self._changed:
            self._waiting += 1
            self._changed.notify_all()
        try:
            while not self._released.wait(0.01) and not stopping.is_set():
                pass
        finally:
            with self._changed:
                self._waiting -= 1
                self._changed.notify_all()


class Faults:
    """The failure and delay rules a test set; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[FailRule] = []
        self._delays: list[tuple[re.Pattern[str], float]] = []
        self._holds: list[Hold] = []

    def add_failure(
        self,
        path_regex: str,
        *,
        status: int,
        times: int | None,
        message: str | None,
        headers: Mapping[str, str] | None,
        documentation_url: str = DOCS_URL,
    ) -> None:
        """Add a failure rule; the oldest matching rule with answers left wins."""
        rule = FailRule(
            re.compile(path_regex), status, times, message, dict(headers or {}), documentation_url
        )
        with self._lock:
            self._failures.append(rule)

    def add_delay(self, path_regex: str, seconds: float) -> None:
        """Hold answers to matching paths for ``seconds`` more."""
        with self._lock:
            self._delays.append((re.compile(path_regex), seconds))

    def add_hold(self, path_regex: str) -> Hold:
        """Hold matching requests until the returned gate is released."""
        hold = Hold(path_regex)
        with self._lock:
            self._holds.append(hold)
        return hold

    def clear(self) -> None:
        """Forget every rule; held requests go through."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release()

    def pass_holds(self, path: str, stopping: threading.Event) -> None:
        """Wait at every gate that holds ``path``."""
        with self._lock:
            holds = [hold for hold in self._holds if hold.pattern.search(path)]
        for hold in holds:
            hold.pass_through(stopping)

    def delay_for(self, path: str) -> float:
        """The seconds every matching delay rule adds to an answer to ``path``."""
        with self._lock:
            return sum(seconds for pattern, seconds in self._delays if pattern.search(path))

    def raise_injected(self, path: str) -> None:
        """Raise the failure a rule holds for ``path`` (spending one of its answers), if any."""
        with self._lock:
            for rule in self._failures:
                if rule.pattern.search(path) and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    raise GitHubFailure(
                        rule.status,
                        rule.message,
                        headers=rule.headers,
                        documentation_url=rule.documentation_url,
                    )
