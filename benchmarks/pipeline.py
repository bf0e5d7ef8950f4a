"""Whole processing of a long session: samples → orientation → joint angles → reps → Parquet.

The session: ``--hours`` of 8 sensors at 200 Hz (thighs, shanks, upper arms, forearms; no magnetometer),
built by repeating a simulated 5-minute set of seated knee extensions with realistic sensor errors end to
end in time (simulating an hour directly takes minutes; the processing cost does not depend on whether
the motion repeats). Timed from a :class:`~imurehab.Recording` in memory to the ``orientation``,
``joint_angles`` and ``reps`` tables written as Parquet, as ``imurehab process`` does
(:func:`imurehab.process_session`): :func:`imurehab.process_recording`, the ``orientation`` table written
in a worker thread (:class:`imurehab.store.staged.StagedTables`) while the joints are computed.

Printed beside it, from the same run: the anchor, fusion alone (every sensor through
:func:`imurehab.fusion.table.fuse_sensor`, one after the other), and reading the samples from Parquet.
Anchor and whole processing alternate ``--repeat`` times; the best and the median of each are printed,
with their ratio. Numba compilation is excluded (a warm-up on a short recording).

Machine load: the times are wall-clock on a shared machine. Other processes running at the same time
slow both sides, the whole processing more (it needs both cores, the anchor one), so the ratio is the
figure to compare between runs; the load average is printed before and after.

Target (issue 6): <= 4 s for 1 hour × 8 sensors × 200 Hz on this 2-core machine.

Usage: ``python benchmarks/pipeline.py [--hours H] [--repeat R]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from imurehab import (
    Recording,
    SensorSamples,
    SessionInfo,
    process_recording,
    read_recording,
    simulate_session,
    write_recording,
)
from imurehab.fusion.table import fuse_sensor
from imurehab.store.schema import JOINT_ANGLES, ORIENTATION, REPS
from imurehab.store.staged import StagedTables

SENSORS = {
    "S1": "thigh_right",
    "S2": "shank_right",
    "S3": "thigh_left",
    "S4": "shank_left",
    "S5": "upper_arm_right",
    "S6": "forearm_right",
    "S7": "upper_arm_left",
    "S8": "forearm_left",
}
RATE_HZ = 200.0


def long_recording(hours: float) -> Recording:
    """A simulated 5-minute set repeated end to end up to ``hours`` [h]."""
    sim = simulate_session(
        "seated-knee-extension", duration_s=300.0, rate_hz=RATE_HZ, sensors=SENSORS, with_mag=False, seed=0
    )
    base = sim.recording
    copies = max(1, round(hours * 3600.0 / 300.0))
    sensors = []
    for s in base.sensors:
        n, period_us = len(s), round(1e6 / RATE_HZ)
        span_us = int(s.time_us[-1] - s.time_us[0]) + period_us
        shift = np.repeat(np.arange(copies, dtype=np.int64), n)
        sensors.append(
            SensorSamples(
                info=s.info,
                time_us=np.tile(s.time_us, copies) + shift * span_us,
                acc=np.tile(s.acc, (copies, 1)),
                gyr=np.tile(s.gyr, (copies, 1)),
                sample_index=np.tile(s.sample_index, copies) + shift * (int(s.sample_index[-1]) + 1),
                flags=np.tile(s.flags, copies),
            )
        )
    info = SessionInfo(
        "long", "sim01", base.session.start_time, base.session.placements, "seated-knee-extension"
    )
    return Recording(info, tuple(sensors))


def process_and_write(rec: Recording, root: Path) -> float:
    """Seconds to process ``rec`` and write its results, as :func:`imurehab.process_session` does."""
    start = time.perf_counter()
    with StagedTables(root, subject="sim01", session="long", overwrite=True) as out:
        result = process_recording(rec, on_orientation=lambda frame: out.stage(ORIENTATION, frame))
        out.stage(JOINT_ANGLES, result.joint_angles)
        out.stage(REPS, result.reps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="session length [h]")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of anchor and ours")
    args = parser.parse_args()
    rec = long_recording(args.hours)
    n = sum(len(s) for s in rec.sensors)
    load_before = os.getloadavg()[0]
    fusion_s, whole_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        process_and_write(long_recording(300 / 3600), root / "warm")  # numba compile / cache load
        write_recording(rec, root / "ds")
        start = time.perf_counter()
        read_recording(root / "ds", subject="sim01", session="long")
        read_s = time.perf_counter() - start
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            for s in rec.sensors:
                fuse_sensor(s)
            fusion_s.append(time.perf_counter() - start)
            whole_s.append(process_and_write(rec, root / "ds"))
    print(f"{args.hours:g} h x {len(rec.sensors)} sensors x {RATE_HZ:g} Hz = {n:,} samples")
    load_after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after, {os.cpu_count()} cores")
    print(f"{'step':<52}{'best s':>8}{'median s':>10}{'M samples/s':>13}")
    for label, seconds in (
        ("read samples from Parquet", [read_s]),
        ("anchor: fusion only, sensors one after the other", fusion_s),
        ("ours: whole processing + writing Parquet", whole_s),
    ):
        best, median = min(seconds), float(np.median(seconds))
        print(f"{label:<52}{best:>8.2f}{median:>10.2f}{n / best / 1e6:>13.2f}")
    ratio_best = min(whole_s) / min(fusion_s)
    ratio_median = float(np.median(whole_s) / np.median(fusion_s))
    print(f"ratio whole / fusion-only: {ratio_best:.2f}x (best), {ratio_median:.2f}x (median)")
    verdict = "PASS" if min(whole_s) / args.hours <= 4.0 else "FAIL"
    print(f"target: whole <= 4 s for 1 h (best of {len(whole_s)}): {verdict}")


if __name__ == "__main__":
    main()
