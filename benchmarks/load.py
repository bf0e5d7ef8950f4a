"""Load over a coach's dataset: throughput (sensor-hours/s) and peak memory, against plain numpy.

Builds, in a temporary folder (removed at the end unless ``--keep``), a dataset of ``--sensor-hours``
sensor-hours of ``samples`` at 100 Hz. The data are realistic by default (``--data simulated``):
:func:`imurehab.simulate.simulate_session` walking, a pelvis and a thigh sensor, with
``SensorErrorModel.realistic()`` (noise, bias drift, soft tissue, and 16-bit quantisation of every
channel, as real sensors store them; quantised values compress far better than random floats, and
Parquet decoding, mostly zstd, is a large share of the work). ``--data synthetic`` uses a quicker
running-like signal (steps at ~2.8 Hz, heavy noise), also quantised to 16 bits. To stay within disk and
time only ``--distinct`` sessions are generated; the rest are *hard links* of their part files under
other athlete and session ids. Every session is read and computed in full, but the distinct bytes are
few, so they sit in the OS page cache: the figures are for a warm cache, not for reading from disk.

Runs, each in a fresh child process whose resident memory (RSS, summed over the child and all its
descendants, sampled from /proc every 20 ms) is tracked; its high-water mark is printed:

1. **decode only** (the ceiling): pyarrow reads every session's ``time`` and ``acc_*`` columns, one
   session per thread on ``--workers`` threads, and nothing else.
2. **anchor**: plain per-session numpy, one process, one thread: pyarrow reads the session's
   ``sensor``, ``time`` and ``acc_*`` columns into numpy; PlayerLoad 3D, ENMO and MAD per 60 s epoch by
   direct formulas; nothing written.
3. **ours, same formulas**: ``update_load`` (its reader, atomic writes of the ``load`` table with the
   provenance in the footer) with the anchor's formulas as the epoch function: our I/O and bookkeeping.
4. **ours, full metrics**: ``update_load`` with :func:`imurehab.analysis.load.load_epochs` (every column
   of the ``load`` table), as ``imurehab load --workers N`` runs (threads).
5. **ours, full metrics, malloc retains**: run 4 with glibc told to keep freed memory for reuse
   (``MALLOC_MMAP_THRESHOLD_=64 MiB``, ``MALLOC_TRIM_THRESHOLD_=256 MiB`` in the child's environment): by
   default glibc hands every freed large array back to the OS and the next one faults its pages in again.
   A setting of the process, not of imurehab; shown to measure that cost.
6. **ours, full metrics, processes**: run 4 with ``parallel="processes"`` (spawned workers).

After runs 3-6 a second ``update_load`` over the unchanged dataset (everything skipped) is timed.
Throughput is sensor-hours of samples divided by the time of the computation inside the child (imports
excluded; for processes, the workers' start-up is included); ratios are against the anchor (higher is
better for us). Targets (issue 7): ≥ 50 sensor-hours/s, peak < 1 GB. The machine may be shared: its
load average is printed before and after.

Usage: ``python benchmarks/load.py [--sensor-hours 1000] [--workers 2] [--distinct 4] [--data simulated]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

RATE_HZ = 100.0
EPOCH_S = 60.0
G = 9.80665
ACC_LSB = 16 * G / 32768  # ±16 g, 16-bit
GYR_LSB = np.deg2rad(2000.0) / 32768


# --- the dataset ----------------------------------------------------------------------------------
def _signal(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Running-like specific force: steps at ~2.8 Hz with heel-strike peaks, plus noise; quantised."""
    t = np.arange(n) / RATE_HZ
    cadence = 2.8 + 0.1 * np.sin(2 * np.pi * t / 600.0)
    phase = 2 * np.pi * np.cumsum(cadence) / RATE_HZ
    vertical = G + 6.0 * np.maximum(np.sin(phase), 0.0) ** 6 - 1.5 * np.sin(phase) ** 2
    acc = np.column_stack([2.0 * np.sin(phase + 0.5), vertical, 1.0 * np.sin(phase / 2)]) + rng.normal(
        0.0, 0.3, (n, 3)
    )
    gyr = np.column_stack([1.5 * np.sin(phase), 0.3 * np.sin(phase / 2), 0.2 * np.cos(phase)]) + rng.normal(
        0.0, 0.02, (n, 3)
    )
    return np.round(acc / ACC_LSB) * ACC_LSB, np.round(gyr / GYR_LSB) * GYR_LSB


_SIM_SEGMENTS = (
    "pelvis",
    "thigh_right",
    "thigh_left",
    "shank_right",
    "shank_left",
    "foot_right",
    "foot_left",
)


def _synthetic(d: int, sensors: int, session_hours: float, start: datetime):
    """A recording of the running-like synthetic signal, quantised to 16 bits."""
    from imurehab.types import Recording, SensorInfo, SensorSamples, SessionInfo

    n = int(session_hours * 3600 * RATE_HZ)
    t0 = int(start.timestamp() * 1e6)
    rng = np.random.default_rng(d)
    samples = []
    for k in range(sensors):
        acc, gyr = _signal(rng, n)
        samples.append(
            SensorSamples(
                SensorInfo(f"S{k + 1}", "sim", RATE_HZ), t0 + np.arange(n, dtype=np.int64) * 10_000, acc, gyr
            )
        )
    placements = {"S1": "trunk", **{f"S{k + 1}": "thigh_right" for k in range(1, sensors)}}
    return Recording(SessionInfo(f"d{d}", "distinct", start, placements, "running"), tuple(samples))


def _simulated(d: int, sensors: int, session_hours: float, start: datetime):
    """A simulated walking recording with realistic sensor errors (16-bit quantised)."""
    from imurehab.simulate import SensorErrorModel, simulate_session

    mounts = {f"S{k + 1}": _SIM_SEGMENTS[k % len(_SIM_SEGMENTS)] for k in range(sensors)}
    return simulate_session(
        "walking",
        duration_s=session_hours * 3600,
        rate_hz=RATE_HZ,
        sensors=mounts,
        errors=SensorErrorModel.realistic(),
        seed=d,
        subject_id="distinct",
        session_id=f"d{d}",
        start_time=start,
    ).recording


def build_dataset(
    root: Path,
    sensor_hours: float,
    distinct: int,
    sensors: int,
    session_hours: float,
    data: str = "simulated",
) -> int:
    """Write ``distinct`` sessions, hard-link the rest; returns the number of sessions."""
    from imurehab.store import write_recording

    n_sessions = max(1, round(sensor_hours / (sensors * session_hours)))
    start = datetime(2025, 3, 3, 9, tzinfo=UTC)
    make = _simulated if data == "simulated" else _synthetic
    for d in range(min(distinct, n_sessions)):
        write_recording(make(d, sensors, session_hours, start + timedelta(days=d)), root)
    for i in range(n_sessions):
        d = i % min(distinct, n_sessions)
        for table in ("samples", "sessions"):
            src = root / table / "subject=distinct" / f"session=d{d}"
            dst = root / table / f"subject=A{i % 25:02d}" / f"session=s{i:05d}"
            dst.mkdir(parents=True)
            for part in src.glob("*.parquet"):
                os.link(part, dst / part.name)
    for table in ("samples", "sessions"):
        shutil.rmtree(root / table / "subject=distinct")
    return n_sessions


# --- the direct formulas (anchor, and the epoch function of run 2) --------------------------------
def direct_epochs(acc_mps2, time, *, rate_hz, epoch_s=EPOCH_S, sensor):
    """PlayerLoad 3D (Σ‖Δa‖/100, a in g), ENMO and MAD [mg] per UTC-aligned epoch, straight numpy."""
    del rate_hz
    time = np.asarray(time, dtype=np.int64)
    g = np.asarray(acc_mps2) / G
    epoch_us = round(epoch_s * 1e6)
    ids = time // epoch_us
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1, [ids.size]))
    step = np.sqrt(np.sum(np.diff(g, axis=0, prepend=g[:1]) ** 2, axis=1)) / 100.0
    norm = np.sqrt(np.sum(g * g, axis=1))
    counts = np.diff(bounds)
    playerload = np.add.reduceat(step, bounds[:-1])
    enmo = np.add.reduceat(np.maximum(norm - 1.0, 0.0), bounds[:-1]) / counts * 1000.0
    mean = np.add.reduceat(norm, bounds[:-1]) / counts
    mad = np.add.reduceat(np.abs(norm - np.repeat(mean, counts)), bounds[:-1]) / counts * 1000.0
    return pl.DataFrame(
        {
            "sensor": [sensor] * playerload.size,
            "epoch_start": pl.Series(ids[bounds[:-1]] * epoch_us).cast(pl.Datetime("us", "UTC")),
            "epoch_s": np.full(playerload.size, float(epoch_s)),
            "playerload": playerload,
            "enmo_mg": enmo,
            "mad_mg": mad,
        }
    )


def anchor(root: Path) -> dict[str, float]:
    """Per session: pyarrow reads the columns into numpy, direct formulas per sensor; nothing written."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    hours = 0.0
    epochs = 0
    for session_dir in sorted((root / "samples").glob("subject=*/session=*")):
        files = sorted(session_dir.glob("*.parquet"))
        table = pq.read_table(files, columns=["sensor", "time", "acc_x", "acc_y", "acc_z"])
        for sensor in pc.unique(table["sensor"]).to_pylist():
            rows = table.filter(pc.equal(table["sensor"], sensor))
            time = rows["time"].cast("int64").to_numpy()
            acc = np.column_stack([rows[c].to_numpy() for c in ("acc_x", "acc_y", "acc_z")])
            epochs += direct_epochs(acc, time, rate_hz=RATE_HZ, sensor=sensor).height
            hours += time.size / RATE_HZ / 3600
    return {"sensor_hours": hours, "epochs": epochs}


MODES = ("decode", "anchor", "same", "full", "retain", "processes")


def decode_only(root: Path, workers: int) -> dict[str, float]:
    """pyarrow reads every session's ``time`` and ``acc_*`` columns (one session per thread); nothing else."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    def read(session_dir: Path) -> int:
        files = sorted(session_dir.glob("*.parquet"))
        return sum(
            pq.read_table(f, columns=["time", "acc_x", "acc_y", "acc_z"], use_threads=False).num_rows
            for f in files
        )

    with ThreadPoolExecutor(workers) as pool:
        rows = sum(pool.map(read, sorted((root / "samples").glob("subject=*/session=*"))))
    return {"sensor_hours": rows / RATE_HZ / 3600}


# --- child processes and their memory --------------------------------------------------------------
def child(mode: str, root: Path, workers: int) -> None:
    """Run one measurement in this (fresh) process and print its JSON result."""
    import resource

    from imurehab.training import LoadMetrics, update_load

    def cpu_s() -> float:
        own, reaped = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime

    t = time.perf_counter()
    cpu = cpu_s()
    if mode == "decode":
        result = decode_only(root, workers)
    elif mode == "anchor":
        result = anchor(root)
    else:
        metrics = LoadMetrics(direct_epochs, "direct-1") if mode == "same" else None
        parallel = "processes" if mode == "processes" else "threads"
        report = update_load(root, workers=workers, metrics=metrics, parallel=parallel)
        result = {"sensor_hours": report.sensor_hours, "computed": report.count("computed")}
        result["failed"] = report.count("failed")
        result["seconds"] = time.perf_counter() - t
        result["cpu_seconds"] = cpu_s() - cpu
        t2 = time.perf_counter()
        again = update_load(root, workers=workers, metrics=metrics, parallel=parallel)
        result["rerun_seconds"] = time.perf_counter() - t2
        result["rerun_skipped"] = again.count("skipped")
    result.setdefault("seconds", time.perf_counter() - t)
    result.setdefault("cpu_seconds", cpu_s() - cpu)
    print(json.dumps(result))


def _tree_rss_bytes(pid: int) -> int:
    """RSS of a process and all its descendants [bytes], from /proc (Linux)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


# glibc returns freed blocks above these sizes to the OS at once; every later large array then faults its
# pages in again (≈ 8 ms CPU per sensor-hour here). The "retain" run lets the process keep up to 256 MB.
RETAIN_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(64 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20)}


def measure(mode: str, root: Path, workers: int) -> dict[str, float]:
    """Run ``mode`` in a child process; its result plus the peak RSS of its process tree."""
    env = {**os.environ, **(RETAIN_FREED_MEMORY if mode == "retain" else {})}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, "--root", str(root), "--workers", str(workers)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_bytes(proc.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{mode} run failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = peak / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensor-hours", type=float, default=1000.0)
    parser.add_argument("--distinct", type=int, default=4, help="sessions generated (the rest hard-linked)")
    parser.add_argument("--sensors", type=int, default=2, help="sensors per session")
    parser.add_argument("--session-hours", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", choices=("simulated", "synthetic"), default="simulated")
    parser.add_argument("--keep", action="store_true", help="keep the dataset folder")
    parser.add_argument("--root", type=Path, help="use (or build) the dataset in this folder; kept")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root, args.workers)
        return
    folder = args.root or Path(tempfile.mkdtemp(prefix="imurehab-load-bench-")) / "ds"
    try:
        t = time.perf_counter()
        if not (folder / "sessions").is_dir():
            build_dataset(
                folder, args.sensor_hours, args.distinct, args.sensors, args.session_hours, args.data
            )
        n = sum(1 for _ in (folder / "sessions").glob("subject=*/session=*"))
        print(
            f"dataset: {n} sessions × {args.sensors} sensors × {args.session_hours:g} h at {RATE_HZ:g} Hz, "
            f"{args.data} ({args.distinct} generated, the rest hard links; "
            f"ready in {time.perf_counter() - t:.1f} s)"
        )
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the runs")
        rows = {}
        for mode in MODES:
            shutil.rmtree(folder / "load", ignore_errors=True)
            rows[mode] = measure(mode, folder, 1 if mode == "anchor" else args.workers)
        print(
            f"machine: load average {os.getloadavg()[0]:.2f} after the runs (ours adds up to {args.workers})"
        )
        base = rows["anchor"]["sensor_hours"] / rows["anchor"]["seconds"]
        names = {
            "decode": f"decode only (pyarrow, {args.workers} threads)",
            "anchor": "anchor: numpy per session, 1 process",
            "same": f"ours, same formulas, {args.workers} threads",
            "full": f"ours, full load table, {args.workers} threads",
            "retain": f"ours, full, {args.workers} threads, malloc retains",
            "processes": f"ours, full load table, {args.workers} processes",
        }
        base_cpu = rows["anchor"]["sensor_hours"] / rows["anchor"]["cpu_seconds"]
        print(
            f"{'run':<46}{'sensor-h':>9}{'s':>7}{'sensor-h/s':>11}{'ratio':>7}"
            f"{'sensor-h/CPU-s':>15}{'ratio':>7}{'peak RSS MB':>12}"
        )
        for mode, r in rows.items():
            rate = r["sensor_hours"] / r["seconds"]
            per_cpu = r["sensor_hours"] / r["cpu_seconds"]
            print(
                f"{names[mode]:<46}{r['sensor_hours']:>9.1f}{r['seconds']:>7.2f}{rate:>11.1f}"
                f"{rate / base:>7.2f}{per_cpu:>15.1f}{per_cpu / base_cpu:>7.2f}{r['peak_rss_mb']:>12.0f}"
            )
        print(
            "sensor-h/CPU-s: sensor-hours per second of CPU time (user + system, all threads and worker "
            "processes), which a shared machine's other load does not dilute; × cores bounds what an idle "
            "machine could reach."
        )
        for mode in ("same", "full", "retain", "processes"):
            r = rows[mode]
            print(
                f"{names[mode]}: {r['computed']} computed, {r['failed']} failed; unchanged re-run "
                f"{r['rerun_seconds']:.2f} s ({r['rerun_skipped']} skipped)"
            )
        full = rows["full"]
        rate = full["sensor_hours"] / full["seconds"]
        print(
            f"targets: ≥ 50 sensor-h/s → {rate:.1f} ({'met' if rate >= 50 else 'NOT met'}); "
            f"peak < 1024 MB → {full['peak_rss_mb']:.0f} "
            f"({'met' if full['peak_rss_mb'] < 1024 else 'NOT met'})"
        )
    finally:
        if args.keep or args.root:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
