"""The sweep's unit of work: a named step over due rows, each row under its own guard.

In the manner of GoAlert's engine updaters: one bad row (an invalid time zone, a value a chart
cannot draw) is logged with its step and row, counted and reported, and never stops the other rows
or the other steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from storage.db import retrying

log = logging.getLogger(__name__)
Row = TypeVar("Row")


@dataclass(frozen=True)
class RowFailure:
    step: str
    row: str  # what failed, as an operator would look it up ("initiative churn", "incident 12")
    error: str

    def describe(self) -> str:
        return f"{self.step}: {self.row}: {self.error}"


@dataclass
class StepResult:
    name: str
    done: int = 0  # rows the step acted on (prompts queued, incidents moved, ...)
    counts: dict[str, int] = field(default_factory=dict)  # further named counts (missed, superseded)
    failures: list[RowFailure] = field(default_factory=list)

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def fail(self, row: str, exc: BaseException) -> None:
        log.error("sweep step %s failed on %s", self.name, row, exc_info=exc)
        self.failures.append(RowFailure(self.name, row, f"{type(exc).__name__}: {exc}"[:300]))


def each_row(result: StepResult, rows: Iterable[Row], describe: Callable[[Row], str],
             work: Callable[[Row], int | bool | None]) -> StepResult:
    """Run `work` on every row, each in isolation; what it returns (a count, or True) adds to `done`."""
    for row in rows:
        try:
            outcome = retrying(lambda row=row: work(row))  # a deadlock with a person's flow: run the row again
        except Exception as exc:
            result.fail(describe(row), exc)
            continue
        result.done += int(outcome or 0)
    return result


def each_due_row(result: StepResult, fetch: Callable[[], list[Row]], describe: Callable[[Row], str],
                 work: Callable[[Row], int | bool | None], *, key: Callable[[Row], object]) -> StepResult:
    """`each_row` over everything due, not only the first page `fetch` returns: fetch again while it gives rows
    not yet tried in this pass. Ten thousand reviews falling due at nine on a Monday are all prompted by that
    sweep, not 500 a sweep over the next twenty minutes. A row that failed is not tried twice in one pass,
    and a page of nothing but such rows ends the pass (the rest wait for the next sweep, as before)."""
    tried: set[object] = set()
    while True:
        rows = [row for row in fetch() if key(row) not in tried]
        if not rows:
            return result
        tried.update(key(row) for row in rows)
        each_row(result, rows, describe, work)
