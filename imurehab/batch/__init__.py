"""Process many sessions of a dataset: planned, idempotent, atomic per session, on any executor.

:func:`plan_batch` lists the sessions whose results are missing, incomplete or stale (made from other
inputs, another exercise or another software version; :mod:`imurehab.pipeline.provenance`) and sets
aside the rest. :func:`run_batch` processes them with :func:`process_task`, a pure function of one
picklable :class:`SessionTask` returning a small :class:`SessionResult`, on the executor given: this
process, a local process pool or a Dask cluster (:func:`open_executor`). Each session's tables are
published atomically, so a batch killed at any point is finished by running it again.

Examples
--------
>>> from imurehab.batch import BatchOptions, open_executor, plan_batch, run_batch  # doctest: +SKIP
>>> plan = plan_batch("data", options=BatchOptions(exercise="squat"))  # doctest: +SKIP
>>> with open_executor("local", workers=2) as pool:  # doctest: +SKIP
...     report = run_batch(plan, executor=pool)
>>> report.count("processed"), report.count("failed")  # doctest: +SKIP
(16, 0)
"""

from imurehab.batch.executors import (
    EXECUTORS,
    ONE_THREAD_ENV,
    default_workers,
    executor_kind,
    one_thread_environment,
    open_executor,
)
from imurehab.batch.run import BatchReport, run_batch
from imurehab.batch.tasks import (
    BatchOptions,
    BatchPlan,
    JointOutcome,
    SessionResult,
    SessionTask,
    plan_batch,
    process_task,
)

__all__ = [
    "EXECUTORS",
    "ONE_THREAD_ENV",
    "BatchOptions",
    "BatchPlan",
    "BatchReport",
    "JointOutcome",
    "SessionResult",
    "SessionTask",
    "default_workers",
    "executor_kind",
    "one_thread_environment",
    "open_executor",
    "plan_batch",
    "process_task",
    "run_batch",
]
