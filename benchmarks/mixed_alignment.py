"""Mixed-family alignment on the virtual air: each family's own clock (the anchor) and the shared shake.

For every pair of families, 2 sensors each, a session of ``--minutes`` is logged before the air opens with
the sensors shaken together at both ends of it (``SensorShake`` in every family's logs: before strapping
on and after taking off), then synced over the real bleak API on the virtual backend. The same journals are
written twice in the same run: ``write_study(align=False)`` (each sensor on its own clock: round trips for
OSP, notification arrivals for the others; the anchor) and ``write_study(align=True)`` (the default: the
sensors moved onto the reference's timeline by the shake). Error = stored ``time`` minus the true instant
of each logged sample (each twin's clock is defined against air time); **alignment** = the largest
difference between two sensors' errors at one instant (errors interpolated on a 5 ms grid of true time);
**bound** = the largest reported ``clock_uncertainty_us`` of the session's sensors. Crystals drift
±``--drift-ppm`` on odd seeds (0 on even ones).

The shake's timing precision depends on the simulated signals (band-limited 2–6 Hz rotation; gyroscope
noise as each twin's codec quantises it): this is a consistency check of the method and the plumbing, not
a claim about real hand shakes, whose lever arms, gyroscope scale errors and sensor filter delays it does
not model (docs/sensors-mixed.md).

Usage: ``python benchmarks/mixed_alignment.py [--seeds 0 4] [--minutes 0.3] [--drift-ppm 50]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from imurehab.ble import RetryPolicy
from imurehab.ble.dataset import write_study
from imurehab.ble.layout import JournalRoot
from imurehab.store import read_table
from imurehab.virtual import (
    DotScenario,
    MovesenseScenario,
    PolarScenario,
    VirtualScenario,
)
from imurehab.virtual.mixed import MixedScenario
from imurehab.virtual.run import sync_scenario

FAMILIES = ("osp", "movella-dot", "polar-pmd", "movesense-gsp")
POLICY = RetryPolicy(
    connect_attempts=4, connect_timeout_s=2.0, backoff_initial_s=0.05, response_timeout_s=3.0
)


def _scenario(family: str, first: int, minutes: float, seed: int, faults: list[str]):
    log = minutes * 60.0
    common = {"n_sensors": 2, "minutes": minutes, "seed": seed, "first_placement": first}
    if family == "osp":
        return VirtualScenario(**common, faults=faults)
    cls = {"movella-dot": DotScenario, "polar-pmd": PolarScenario, "movesense-gsp": MovesenseScenario}[family]
    return cls(**common, log_seconds=log, faults=faults)


def _errors(mixed: MixedScenario, out: Path, origin_utc_s: float, ids: dict[str, str]) -> tuple[float, float]:
    """(alignment [µs], largest bound [µs]) of the session as written now."""
    rows = read_table(out, "samples").collect()
    sessions = read_table(out, "sessions").collect()
    bound = max(float(s["clock_uncertainty_us"]) for s in sessions["sensors"][0])
    errors, truths = [], []
    for address in mixed.addresses:
        got = rows.filter(rows["sensor"] == ids[address]).sort("sample_index")
        truth = mixed.true_sample_times_s(address)
        truth_us = (truth + mixed.origin_monotonic + origin_utc_s) * 1e6
        errors.append(got["time"].cast(int).to_numpy() - truth_us)
        truths.append(truth)
    lo, hi = max(t[0] for t in truths), min(t[-1] for t in truths)
    grid = np.arange(lo, hi, 0.005)
    at = np.array([np.interp(grid, t, e) for t, e in zip(truths, errors, strict=True)])
    return float(np.max(at.max(axis=0) - at.min(axis=0))), bound


def run_pair(pair: tuple[str, str], seed: int, minutes: float, drift_ppm: float) -> dict[str, float]:
    faults = [f"drift-ppm={drift_ppm:g}"] if seed % 2 and drift_ppm else []
    scenarios = [_scenario(f, 2 * i, minutes, seed, faults if f != "osp" else []) for i, f in enumerate(pair)]
    shakes = MixedScenario(scenarios, seed=seed).shake_inside_logs(seed=seed, count=2)
    mixed = MixedScenario(scenarios, seed=seed, shake=shakes)
    out = Path(tempfile.mkdtemp(prefix="mixed-align-"))
    origin_utc_s = time.time() - time.monotonic()

    try:
        report = sync_scenario(mixed, out, policy=POLICY, subject="P01", session="mixed")
        if not report.complete:
            raise RuntimeError(f"{pair} seed {seed}: sync incomplete: {report.to_json()}")
        root, study = JournalRoot(out), ("P01", "mixed")
        ids = {r.address: r.sensor_id for r in report.sensors}
        write_study(root, study, align=False)
        clock = _errors(mixed, out, origin_utc_s, ids)
        write_study(root, study, align=True)
        shaken = _errors(mixed, out, origin_utc_s, ids)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"clock": clock[0], "clock_bound": clock[1], "shake": shaken[0], "shake_bound": shaken[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 4), metavar=("FIRST", "STOP"))
    parser.add_argument("--minutes", type=float, default=0.3)
    parser.add_argument("--drift-ppm", type=float, default=50.0)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}; seeds {args.seeds[0]}-{args.seeds[1] - 1}")
    print("pair                          clock-only alignment (max) / bound   shaken alignment (max) / bound")
    for pair in itertools.combinations(FAMILIES, 2):
        runs = [run_pair(pair, s, args.minutes, args.drift_ppm) for s in range(*args.seeds)]
        c = max(r["clock"] for r in runs) / 1e3
        cb = max(r["clock_bound"] for r in runs) / 1e3
        k = max(r["shake"] for r in runs) / 1e3
        kb = max(r["shake_bound"] for r in runs) / 1e3
        cm = np.median([r["clock"] for r in runs]) / 1e3
        km = np.median([r["shake"] for r in runs]) / 1e3
        print(
            f"{' + '.join(pair):28s}  {cm:6.3f} ({c:6.3f}) ms / {cb:7.2f} ms"
            f"        {km:6.3f} ({k:6.3f}) ms / {kb:7.2f} ms   ratio {c / max(k, 1e-9):6.1f}x"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
