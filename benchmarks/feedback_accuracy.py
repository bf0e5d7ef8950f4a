"""Live feedback accuracy: ROM per rep and rep counts of the causal engine, beside the batch pipeline.

Every built-in exercise template, seeds ``--seeds`` (default 1–4), at 100 and 200 Hz: a simulated set
(realistic sensor errors, no magnetometer) is fed to :class:`imurehab.feedback.FeedbackEngine` packet by
packet, as a live stream delivers it (``--packet`` samples per sensor and packet), and the same set is
processed offline by :func:`imurehab.process_recording` in the same run (the anchor: it sees the whole
set at once, a smoother, and all the data for its calibration). Both are compared with the simulator's
truth: the absolute ROM error per rep (a rep matches the true rep of the same number when the counts
agree), and how many sets had their reps counted exactly. The live engine's hinge heading decision at
``ready`` is tallied too.

Simulated data that the methods were developed on: a consistency check, not validation on people.

Usage: ``python benchmarks/feedback_accuracy.py [--seeds 1 5] [--packet 20] [--workers 2]``
"""

from __future__ import annotations

import argparse
import collections
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from imurehab import process_recording, simulate_session
from imurehab.errors import DataValidationError
from imurehab.exercises import list_templates, load_template
from imurehab.feedback import FeedbackEngine
from imurehab.feedback.engine import required_segments


@dataclass
class SetResult:
    exercise: str
    live_errors: list[float] | None  # None when the live rep count differs from the truth
    batch_errors: list[float] | None
    heading: str | None


def _errors(found: list[tuple[int, float]], truth: list[tuple[int, float]]) -> list[float] | None:
    if [r for r, _ in found] != [r for r, _ in truth]:
        return None
    return [abs(a - b) for (_, a), (_, b) in zip(found, truth, strict=True)]


def one_set(job: tuple[str, int, float, int]) -> SetResult:
    exercise, seed, rate_hz, packet = job
    sim = simulate_session(exercise, seed=seed, rate_hz=rate_hz, with_mag=False)
    rec = sim.recording
    engine = FeedbackEngine(load_template(exercise), rec.session.placements, rate_hz)
    events = []
    n = min(len(s) for s in rec.sensors)
    for k in range(0, n, packet):
        part = slice(k, min(k + packet, n))
        for s in rec.sensors:
            events += engine.push(s.sensor_id, s.time_us[part], s.acc[part], s.gyr[part])
    joint, side = engine.template.joint, engine.side
    truth = [(r.rep, r.rom_deg) for r in sim.truth.reps if r.joint == joint and r.side == side]
    live = [(e.values["rep"], e.values["rom_deg"]) for e in events if e.kind == "rep"]
    ready = [e for e in events if e.kind == "ready"]
    batch = process_recording(rec, exercise=exercise)
    batch_reps = [(r.rep, r.rom_deg) for j in batch.joints if j.joint == joint for r in j.reps]
    return SetResult(
        exercise,
        _errors(live, truth),
        _errors(batch_reps, truth),
        str(ready[0].values.get("heading")) if ready else None,
    )


def _stats(errors: list[float]) -> str:
    if not errors:
        return f"{'–':>7}{'–':>7}{'–':>7}"
    e = np.asarray(errors)
    return f"{np.median(e):>7.2f}{np.percentile(e, 95):>7.2f}{e.max():>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(1, 5), help="seed range [first, last)")
    parser.add_argument("--packet", type=int, default=20, help="samples per sensor and packet")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    args = parser.parse_args()
    live, no_model = [], []
    for exercise in list_templates():
        try:
            required_segments(load_template(exercise), "right")
            live.append(exercise)
        except DataValidationError:
            no_model.append(exercise)
    jobs = [
        (exercise, seed, rate, args.packet)
        for exercise in live
        for seed in range(*args.seeds)
        for rate in (100.0, 200.0)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(one_set, jobs))
    by_exercise: dict[str, list[SetResult]] = collections.defaultdict(list)
    for r in results:
        by_exercise[r.exercise].append(r)
    print(f"{len(results)} simulated sets (seeds {args.seeds[0]}–{args.seeds[1] - 1}, 100 and 200 Hz, 6D)")
    if no_model:
        print(f"no live model yet (not run): {', '.join(no_model)}")
    print(
        f"{'exercise':<24}{'live |ROM error| med/p95/max':>28}{'count ok':>10}"
        f"{'batch (anchor) med/p95/max':>28}{'count ok':>10}  live heading at ready"
    )
    for exercise, rows in sorted(by_exercise.items()):
        live = [e for r in rows if r.live_errors for e in r.live_errors]
        batch = [e for r in rows if r.batch_errors for e in r.batch_errors]
        live_ok = sum(r.live_errors is not None for r in rows)
        batch_ok = sum(r.batch_errors is not None for r in rows)
        headings = dict(collections.Counter(r.heading for r in rows))
        print(
            f"{exercise:<24}{'':>7}{_stats(live)}{live_ok:>7}/{len(rows):<2}"
            f"{'':>7}{_stats(batch)}{batch_ok:>7}/{len(rows):<2}  {headings}"
        )
    live_all = [e for r in results if r.live_errors for e in r.live_errors]
    batch_all = [e for r in results if r.batch_errors for e in r.batch_errors]
    if live_all and batch_all:
        ratio = np.percentile(live_all, 95) / np.percentile(batch_all, 95)
        print(f"95th-percentile ROM error, live / batch, all sets: {ratio:.2f}x")


if __name__ == "__main__":
    main()
