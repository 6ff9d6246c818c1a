"""Wall time per phase of a refresh, measured by wrapping the functions the engine calls.

The refresh benchmark installs the engine's phases around each refresh it drives; the API
benchmark's site (`api_site_timing.py`) installs them, and a few of the API layer's, for the whole
life of its web process. A hook names a module attribute (`select_artifacts`), a method
(`Refresher._read`) or a property (`RefreshResponseSerializer.data`); its time is summed over
every call while it is installed.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hook:
    """Where a phase's time is taken: `attribute` of the module `module` (dotted for a class's)."""

    label: str
    module: str
    attribute: str


# What refresher.engine calls for each phase of a run. Whichever read plan answers, the network
# phase is the engine's one call to its providers (`Refresher._read`).
ENGINE_HOOKS = (
    Hook("start_run", "refresher.engine", "start_run"),
    Hook("select_artifacts", "refresher.engine", "select_artifacts"),
    Hook("network (read plan)", "refresher.engine", "Refresher._read"),
    Hook("evaluate", "refresher.engine", "evaluate"),
    Hook("apply_decisions", "refresher.engine", "apply_decisions"),
)


class PhaseTimer:
    """Sums the wall time spent inside each hooked function, per label."""

    def __init__(self, hooks: tuple[Hook, ...] = ENGINE_HOOKS) -> None:
        self.hooks = hooks
        self.totals: Counter[str] = Counter()
        self.missing: list[str] = []  # hooks whose target no longer exists (code moved)

    @contextmanager
    def installed(self) -> Iterator[None]:
        undo = self.install()
        try:
            yield
        finally:
            undo()

    def install(self) -> Callable[[], None]:
        """Wrap every hook's target; returns what puts the originals back."""
        undo: list[Callable[[], None]] = []
        self.missing = []
        for hook in self.hooks:
            target = _resolve(hook)
            if target is None:
                self.missing.append(f"{hook.module}.{hook.attribute}")
                continue
            owner, name = target
            undo.append(self._wrap(owner, name, hook.label))

        def restore() -> None:
            for step in reversed(undo):
                step()

        return restore

    def _wrap(self, owner: Any, name: str, label: str) -> Callable[[], None]:
        static = inspect.getattr_static(owner, name)
        own = name in vars(owner)
        if isinstance(static, property) and static.fget is not None:
            replacement: Any = property(self._timed(label, static.fget))
        else:
            replacement = self._timed(label, getattr(owner, name))
        setattr(owner, name, replacement)

        def restore() -> None:
            if own:
                setattr(owner, name, static)
            else:
                delattr(owner, name)  # the class inherited it: let it inherit again

        return restore

    def _timed(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[label] += time.perf_counter() - started

        return timed


def _resolve(hook: Hook) -> tuple[Any, str] | None:
    try:
        owner: Any = importlib.import_module(hook.module)
    except ImportError:
        return None
    *path, name = hook.attribute.split(".")
    for part in path:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    if not hasattr(owner, name):
        return None
    return owner, name
