"""Network shaping: injected error answers and held answers, matched on the request path."""

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


class Faults:
    """The failure and delay rules a test set; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[FailRule] = []
        self._delays: list[tuple[re.Pattern[str], float]] = []

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

    def clear(self) -> None:
        """Forget every rule."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()

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
