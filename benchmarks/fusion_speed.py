"""Orientation estimation speed on one core: samples/s of each estimator beside vqf and ahrs.

Everything runs in this process, pinned to one CPU (``os.sched_setaffinity`` where available) with
BLAS/OpenMP pools limited to one thread (threadpoolctl); each figure is the median of 3 runs after a
warm-up run (numba compilation is excluded: it happens once per machine, cached on disk). Input: one
BROAD trial when ../shared/data/broad is present, else 60,000 synthetic samples at 285.7 Hz. Ratios
compare ours with vqf's VQF batch (causal) and offlineVQF (offline).

Run: .venv/bin/python benchmarks/fusion_speed.py
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import vqf
from threadpoolctl import threadpool_limits

from imurehab.fusion import estimate_orientation, estimate_orientation_detailed
from imurehab.fusion.broad import broad_data_dir, broad_trial_paths, read_broad_trial


def signals() -> tuple[np.ndarray, np.ndarray, np.ndarray, float, str]:
    root = broad_data_dir()
    if root is not None:
        t = read_broad_trial(broad_trial_paths(root)[3])
        return t.acc, t.gyr, t.mag, t.rate_hz, f"BROAD {t.name}"
    rng = np.random.default_rng(0)
    n, rate = 60_000, 285.714
    gyr = np.cumsum(rng.normal(0, 0.05, (n, 3)), axis=0) % 2.0 - 1.0
    acc = rng.normal(0, 0.5, (n, 3)) + np.array([0.0, 0.0, 9.81])
    mag = rng.normal(0, 0.5, (n, 3)) + np.array([0.0, 20.0, -40.0])
    return acc, gyr, mag, rate, "synthetic"


def rate_of(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    warnings.simplefilter("ignore")
    acc, gyr, mag, rate, source = signals()
    n = acc.shape[0]
    ts = 1.0 / rate
    madgwick_n = 6000  # ahrs is pure Python: time a slice
    cases: list[tuple[str, str, Callable[[], object], int]] = []
    for dim, m in (("6D", None), ("9D", mag)):
        cases += [
            ("vqf VQF batch (anchor causal)", dim, lambda m=m: vqf.VQF(ts).updateBatch(gyr, acc, m), n),
            ("vqf offlineVQF (anchor offline)", dim, lambda m=m: vqf.offlineVQF(gyr, acc, m, ts), n),
            (
                "imurehab eskf causal",
                dim,
                lambda m=m: estimate_orientation(acc, gyr, rate, m, mode="causal", method="eskf"),
                n,
            ),
            (
                "imurehab eskf offline",
                dim,
                lambda m=m: estimate_orientation(acc, gyr, rate, m, mode="offline", method="eskf"),
                n,
            ),
            (
                "ahrs Madgwick",
                dim,
                lambda m=m: estimate_orientation(
                    acc[:madgwick_n],
                    gyr[:madgwick_n],
                    rate,
                    None if m is None else m[:madgwick_n],
                    mode="causal",
                    method="madgwick",
                ),
                madgwick_n,
            ),
        ]
    cases.append(
        (
            "imurehab eskf offline, detailed (9D + 6D)",
            "9D",
            lambda: estimate_orientation_detailed(acc, gyr, rate, mag, method="eskf"),
            n,
        )
    )
    with threadpool_limits(limits=1):
        rates = {(name, dim): rate_of(fn, k) for name, dim, fn, k in cases}
    print(f"input: {source}, {n} samples at {rate:.1f} Hz; one core, median of 3\n")
    print(f"{'estimator':42s} {'dim':3s} {'samples/s':>12s} {'vs anchor':>9s}")
    for (name, dim), r in rates.items():
        anchor = "vqf offlineVQF (anchor offline)" if "offline" in name else "vqf VQF batch (anchor causal)"
        print(f"{name:42s} {dim:3s} {r:12,.0f} {r / rates[(anchor, dim)]:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
