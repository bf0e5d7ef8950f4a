"""Store speed and size against the CSV anchor, measured side by side in one run.

Builds a simulated-looking 6-axis recording with numpy (16-bit quantised accelerometer and gyroscope of
a leg swinging at 0.25 Hz, 100 Hz, no magnetometer), then times, best of 3 with ``time.perf_counter``:

- our store: ``write_table``/``read_table`` of the ``samples`` DataFrame, and ``write_recording``/
  ``read_recording`` of the Recording (with its validation);
- the anchor: polars ``write_csv``/``read_csv`` (typed, with the schema given) of the same DataFrame;

and prints rows/s, bytes per 6-axis sample and ratios ours / CSV (speed: higher is better for us;
size: lower is better for us).

Usage: ``python benchmarks/store.py [--rows N]``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from imurehab.store import columns as cols
from imurehab.store import read_recording, read_table, write_recording, write_table
from imurehab.store import schema as sc
from imurehab.types import STANDARD_GRAVITY, Recording, SensorInfo, SensorSamples, SessionInfo

RATE_HZ = 100.0
N_SENSORS = 4
ACC_LSB_MPS2 = 16 * STANDARD_GRAVITY / 32768  # ±16 g, 16-bit
GYR_LSB_RADS = np.deg2rad(2000.0) / 32768  # ±2000 deg/s, 16-bit
T0_US = 1_735_689_600_000_000  # 2025-01-01 00:00 UTC


def simulated_recording(n_rows: int, seed: int = 0) -> Recording:
    """``n_rows`` samples over :data:`N_SENSORS` sensors: a leg swinging about x, quantised like an IMU."""
    rng = np.random.default_rng(seed)
    per_sensor = n_rows // N_SENSORS
    t = np.arange(per_sensor) / RATE_HZ
    sensors = []
    for k in range(N_SENSORS):
        swing = 2 * np.pi * 0.25 * t + k
        angle = 0.8 * np.sin(swing)  # [rad]
        rate = 0.8 * 2 * np.pi * 0.25 * np.cos(swing)  # [rad/s]
        acc = np.column_stack(
            [np.zeros_like(t), STANDARD_GRAVITY * np.sin(angle), STANDARD_GRAVITY * np.cos(angle)]
        ) + rng.normal(0.0, 0.05, (per_sensor, 3))
        gyr = np.column_stack([rate, np.zeros_like(t), np.zeros_like(t)]) + rng.normal(
            0.0, 0.01, (per_sensor, 3)
        )
        sensors.append(
            SensorSamples(
                info=SensorInfo(f"S{k + 1}", "sim", RATE_HZ, device_clock_hz=1e6),
                time_us=T0_US + np.arange(per_sensor, dtype=np.int64) * 10_000 + k * 7,
                acc=np.round(acc / ACC_LSB_MPS2) * ACC_LSB_MPS2,
                gyr=np.round(gyr / GYR_LSB_RADS) * GYR_LSB_RADS,
                device_time=np.arange(per_sensor, dtype=np.int64) * 10_000 + 123_456,
            )
        )
    info = SessionInfo("s1", "001", datetime(2025, 1, 1, tzinfo=UTC), {"S1": "thigh_right"}, "walk")
    return Recording(session=info, sensors=tuple(sensors))


def best_of_3(action: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    """The fastest of three runs of ``action`` [s]; ``before`` runs untimed ahead of each."""
    times = []
    for _ in range(3):
        before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path`` [bytes]."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="total samples (default 2,000,000)")
    args = parser.parse_args()

    rec = simulated_recording(args.rows)
    n = sum(len(s) for s in rec)
    work = Path(tempfile.mkdtemp(prefix="imurehab-bench-"))
    try:
        parquet_root, recording_root, csv_path = work / "table", work / "recording", work / "samples.csv"
        write_recording(rec, work / "source")
        df = read_table(work / "source", cols.SAMPLES).drop(cols.SUBJECT, cols.SESSION).collect()
        schema = sc.polars_schema(cols.SAMPLES)

        def wipe(path: Path) -> Callable[[], None]:
            return lambda: shutil.rmtree(path, ignore_errors=True)

        ours_w = best_of_3(
            lambda: write_table(df, parquet_root, cols.SAMPLES, subject="001", session="s1"),
            wipe(parquet_root),
        )
        ours_r = best_of_3(lambda: read_table(parquet_root, cols.SAMPLES).collect())
        rec_w = best_of_3(lambda: write_recording(rec, recording_root), wipe(recording_root))
        rec_r = best_of_3(lambda: read_recording(recording_root, subject="001", session="s1"))
        csv_w = best_of_3(lambda: df.write_csv(csv_path))
        csv_r = best_of_3(lambda: pl.read_csv(csv_path, schema=schema))

        # Both are lossless: the timed formats give the same data back.
        assert read_table(parquet_root, cols.SAMPLES).drop(cols.SUBJECT, cols.SESSION).collect().equals(df)
        assert pl.read_csv(csv_path, schema=schema).equals(df)
        assert read_recording(recording_root, subject="001", session="s1").equals(rec)

        ours_b = folder_bytes(parquet_root / cols.SAMPLES) / n
        csv_b = csv_path.stat().st_size / n
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"store benchmark: {n:,} samples ({N_SENSORS} sensors, 6-axis, {RATE_HZ:g} Hz, no mag), best of 3")
    print(f"{'':30s} {'imurehab':>12s} {'CSV (polars)':>14s} {'ours/CSV':>9s}")
    rows = [
        ("write table [M rows/s]", n / ours_w / 1e6, n / csv_w / 1e6),
        ("read table [M rows/s]", n / ours_r / 1e6, n / csv_r / 1e6),
        ("write recording [M rows/s]", n / rec_w / 1e6, n / csv_w / 1e6),
        ("read recording [M rows/s]", n / rec_r / 1e6, n / csv_r / 1e6),
        ("size [bytes/sample]", ours_b, csv_b),
    ]
    for label, ours, anchor in rows:
        print(f"{label:30s} {ours:12.2f} {anchor:14.2f} {ours / anchor:9.2f}")
    print("speed ratios above 1 and size ratios below 1 favour the store; recordings include validation")


if __name__ == "__main__":
    main()
