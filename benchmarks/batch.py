"""Batch processing of many sessions: sessions/s on 1 and 2 local worker processes, and the scaling.

The sessions: ``--sessions`` copies (default 16) of one simulated squat set, 2 sensors × ``--minutes``
(default 2) at 100 Hz, each under its own session id (simulating is slow; the processing cost does not
depend on whether sessions repeat). Every measurement starts from a fresh copy of the inputs, without
results.

Measured in the same run:

- anchor: a plain serial loop in this process calling the pure per-session function
  (:func:`imurehab.batch.process_task`) on every planned task;
- ``run_batch`` without an executor (what ``imurehab process --workers 1`` does): planning, the same
  loop, the comparison with previous sessions;
- a process pool of 1, then 2, spawned worker processes, one thread each (``--executor local``), start-up
  included.

Printed: sessions/s of each, the ratio of each to the anchor, and the scaling from 1 to 2 workers (2.0
would be perfect). The machine is shared: the load average is printed before and after, and the
figures to compare between runs are the ratios.

Usage: ``python benchmarks/batch.py [--sessions N] [--minutes M]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from imurehab import Recording, simulate_session, write_recording
from imurehab.batch import (
    BatchPlan,
    one_thread_environment,
    open_executor,
    plan_batch,
    process_task,
    run_batch,
)


def build_inputs(root: Path, sessions: int, minutes: float) -> None:
    sim = simulate_session("squat", duration_s=60.0 * minutes, seed=0, with_mag=False, subject_id="b01")
    for i in range(sessions):
        info = replace(sim.recording.session, session_id=f"s{i:03d}")
        write_recording(Recording(info, sim.recording.sensors), root)


def timed(inputs: Path, work: Callable[[BatchPlan], int]) -> tuple[float, int]:
    """Seconds to run ``work`` on a plan of a fresh copy of the inputs, and the sessions it processed."""
    with tempfile.TemporaryDirectory(prefix="imurehab-batch-") as tmp:
        root = Path(tmp) / "ds"
        shutil.copytree(inputs, root)
        began = time.perf_counter()
        processed = work(plan_batch(root))
        return time.perf_counter() - began, processed


def anchor(plan: BatchPlan) -> int:
    return sum(process_task(task).status == "processed" for task in plan.tasks)


def serial_batch(plan: BatchPlan) -> int:
    return run_batch(plan).count("processed")


def pool_batch(workers: int) -> Callable[[BatchPlan], int]:
    def work(plan: BatchPlan) -> int:
        if workers > 1:
            with open_executor("local", workers=workers) as pool:
                return run_batch(plan, executor=pool).count("processed")
        # open_executor runs a single worker in this process; a real pool of one shows the pool's cost
        spawn = multiprocessing.get_context("spawn")
        with one_thread_environment(), ProcessPoolExecutor(1, mp_context=spawn) as pool:
            return run_batch(plan, executor=pool).count("processed")

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="imurehab-inputs-") as tmp:
        inputs = Path(tmp)
        build_inputs(inputs, args.sessions, args.minutes)
        timed(inputs, lambda plan: anchor(replace(plan, tasks=plan.tasks[:1])))  # numba compilation, caches
        rows = [
            ("anchor: serial loop of process_task", anchor),
            ("run_batch, no executor (--workers 1)", serial_batch),
            ("process pool, 1 worker", pool_batch(1)),
            ("process pool, 2 workers", pool_batch(2)),
        ]
        rates = {}
        for label, work in rows:
            seconds, processed = timed(inputs, work)
            assert processed == args.sessions, f"{label}: processed {processed} of {args.sessions}"
            rates[label] = args.sessions / seconds
    base = rates[rows[0][0]]
    print(f"{args.sessions} sessions × 2 sensors × {args.minutes:g} min at 100 Hz")
    for label, rate in rates.items():
        print(f"  {label:<40} {rate:6.2f} sessions/s   ×{rate / base:.2f} of the anchor")
    scaling = rates[rows[3][0]] / rates[rows[2][0]]
    print(f"scaling from 1 to 2 worker processes: ×{scaling:.2f} (2.00 = perfect)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
