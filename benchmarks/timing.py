"""Best-of-n wall-clock timing and the targets the figures are checked against."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def best_of(function: Callable[[], Any], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``function``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


@dataclass(frozen=True)
class Target:
    """A ratio's target (DESIGN.md, "Performance targets") and the noise it may miss by.

    ``margin`` is relative: a ``<= 1.5`` target with margin 0.3 fails above 1.95. The
    margins are the scatter seen between runs on a shared 2-core machine, stated beside
    each figure, so ``--check`` fails on a regression and not on a busy neighbour.
    """

    op: str  # "<=" or ">="
    value: float
    margin: float

    def passes(self, figure: float) -> bool:
        """Whether ``figure`` meets the target within the margin (NaN never does)."""
        if self.op == "<=":
            return figure <= self.value * (1 + self.margin)
        return figure >= self.value / (1 + self.margin)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g} (±{self.margin:.0%})"


@dataclass(frozen=True)
class Figure:
    """One benchmark figure, with the target it is held to (None: reported only)."""

    value: float
    target: Target | None = None

    @property
    def status(self) -> str:
        """ "pass", "MISS" or "" for a figure without a target."""
        if self.target is None:
            return ""
        return "pass" if self.target.passes(self.value) else "MISS"


def at_most(value: float, figure: float, margin: float) -> Figure:
    """``figure`` held to ``<= value`` within ``margin``."""
    return Figure(figure, Target("<=", value, margin))


def at_least(value: float, figure: float, margin: float) -> Figure:
    """``figure`` held to ``>= value`` within ``margin``."""
    return Figure(figure, Target(">=", value, margin))
