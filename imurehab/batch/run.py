"""Run a batch's tasks on an executor, then compare each processed set with the subject's previous one.

The sessions are independent, so they run in any order on any executor; a session that fails, or whose
worker dies, is reported and the others go on. The comparison with the previous session reads other
sessions' ``reps`` and changes no table; it runs last, in this process, once every session is written,
so its answer does not depend on which session finished first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from imurehab.batch.tasks import BatchPlan, SessionResult, Status, process_task
from imurehab.errors import ImurehabError
from imurehab.pipeline.session import summaries_with_previous

__all__ = ["BatchReport", "run_batch"]

_STATUSES: tuple[Status, ...] = ("processed", "skipped", "failed")


@dataclass(frozen=True)
class BatchReport:
    """What a batch did: one result per session, in the plan's order (oldest session first).

    Attributes
    ----------
    root : Path
        Dataset folder.
    results : tuple of SessionResult
        One per session.
    """

    root: Path
    results: tuple[SessionResult, ...]

    def count(self, status: Status) -> int:
        """How many sessions have this status.

        Parameters
        ----------
        status : {"processed", "skipped", "failed"}
            The status.
        """
        return sum(r.status == status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict: counts per status and every session's result."""
        return {
            "dataset": str(self.root),
            **{s: self.count(s) for s in _STATUSES},
            "sessions": [r.to_dict() for r in self.results],
        }


def _with_previous(root: Path, result: SessionResult) -> SessionResult:
    if result.status != "processed" or not any(j.summary is not None for j in result.joints):
        return result
    try:
        summaries = summaries_with_previous(root, result.subject, result.session, result.joints)
    except ImurehabError as err:
        return replace(result, notes=(*result.notes, f"not compared with the previous session: {err}"))
    joints = tuple(replace(j, summary=s) for j, s in zip(result.joints, summaries, strict=True))
    return replace(result, joints=joints)


def run_batch(
    plan: BatchPlan,
    *,
    executor: Executor | None = None,
    on_result: Callable[[SessionResult], object] | None = None,
) -> BatchReport:
    """Process a plan's sessions and report on every session.

    Parameters
    ----------
    plan : BatchPlan
        From :func:`~imurehab.batch.plan_batch`.
    executor : concurrent.futures.Executor, optional
        Where :func:`~imurehab.batch.process_task` runs (:func:`~imurehab.batch.open_executor`, or any
        executor whose workers can import imurehab and see the dataset). Default: one after the other in
        this process.
    on_result : callable, optional
        Called with each session's result as it arrives (skipped sessions first), e.g. to advance a
        progress bar.

    Returns
    -------
    BatchReport
        Every session of the plan, oldest first; processed sets' summaries compared with the
        subject's previous session (:func:`~imurehab.pipeline.session.summaries_with_previous`).
    """
    results: dict[tuple[str, str], SessionResult] = {}

    def done(result: SessionResult) -> None:
        results[result.subject, result.session] = result
        if on_result is not None:
            on_result(result)

    for skipped in plan.skipped:
        done(skipped)
    if executor is None:
        for task in plan.tasks:
            done(process_task(task))
    else:
        futures = {executor.submit(process_task, task): task for task in plan.tasks}
        for future in as_completed(futures):
            try:
                done(future.result())
            except Exception as err:  # the worker died; the session's own errors come back as results
                done(SessionResult.from_error(futures[future], err))
    ordered = (results[key] for key in plan.order)
    return BatchReport(plan.root, tuple(_with_previous(plan.root, r) for r in ordered))
