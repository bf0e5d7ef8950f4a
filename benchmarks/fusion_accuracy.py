"""Orientation accuracy on the BROAD trials: estimator × 6D/9D × mean total RMSE, with anchors.

BROAD: D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD — A Benchmark for Robust Inertial Orientation
Estimation", Data 6(7), 2021, doi:10.3390/data6070072 (CC BY 4.0). The data are read from
<repo>/../shared/data/broad (or $IMUREHAB_BROAD_DIR), never copied into the repository.

6D errors have one constant heading offset per trial removed (heading is unobservable without a
magnetometer). The anchors — vqf's offlineVQF and causal VQF — run in this same process, and every row
prints its ratio to the anchor of its mode.

Run: .venv/bin/python benchmarks/fusion_accuracy.py
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import vqf

from imurehab.fusion import estimate_orientation
from imurehab.fusion.broad import (
    CATEGORIES,
    BroadTrial,
    broad_data_dir,
    broad_errors,
    broad_trial_paths,
    read_broad_trial,
)

Estimator = Callable[[BroadTrial, bool], np.ndarray]


def ours(mode: str) -> Estimator:
    def run(t: BroadTrial, nine: bool) -> np.ndarray:
        return estimate_orientation(
            t.acc, t.gyr, t.rate_hz, t.mag if nine else None, mode=mode, method="eskf"
        )

    return run


def vqf_offline(t: BroadTrial, nine: bool) -> np.ndarray:
    out = vqf.offlineVQF(t.gyr, t.acc, t.mag if nine else None, 1.0 / t.rate_hz)
    return out["quat9D" if nine else "quat6D"]


def vqf_causal(t: BroadTrial, nine: bool) -> np.ndarray:
    out = vqf.VQF(1.0 / t.rate_hz).updateBatch(t.gyr, t.acc, t.mag if nine else None)
    return out["quat9D" if nine else "quat6D"]


def madgwick(t: BroadTrial, nine: bool) -> np.ndarray:
    return estimate_orientation(
        t.acc, t.gyr, t.rate_hz, t.mag if nine else None, mode="causal", method="madgwick"
    )


ESTIMATORS: dict[str, tuple[str, Estimator]] = {
    "vqf offlineVQF (anchor)": ("offline", vqf_offline),
    "imurehab eskf offline (RTS)": ("offline", ours("offline")),
    "vqf VQF causal (anchor)": ("causal", vqf_causal),
    "imurehab eskf causal": ("causal", ours("causal")),
    "ahrs Madgwick causal": ("causal", madgwick),
}
ANCHOR = {"offline": "vqf offlineVQF (anchor)", "causal": "vqf VQF causal (anchor)"}


def main() -> int:
    root = broad_data_dir()
    if root is None:
        print("BROAD data not found in <repo>/../shared/data/broad (or $IMUREHAB_BROAD_DIR): skipped")
        return 0
    warnings.simplefilter("ignore")
    paths = broad_trial_paths(root)
    skip_madgwick = "--no-madgwick" in sys.argv
    # errors[name][dim] = list of (category, total RMSE)
    errors: dict[str, dict[str, list[tuple[str, float]]]] = {n: {"6D": [], "9D": []} for n in ESTIMATORS}
    t0 = time.perf_counter()
    for path in paths:
        trial = read_broad_trial(path)
        for name, (_, fn) in ESTIMATORS.items():
            if skip_madgwick and "Madgwick" in name:
                continue
            for dim, nine in (("6D", False), ("9D", True)):
                q = fn(trial, nine)
                if not np.isfinite(q).all():
                    raise SystemExit(f"{name} gave NaN/inf on {trial.name}")
                e = broad_errors(q, trial.quat_ref, trial.movement, remove_heading=not nine)
                errors[name][dim].append((trial.category, e.total_deg))
    print(f"BROAD development trials: {len(paths)} ({time.perf_counter() - t0:.0f} s)")
    print("mean total RMSE [deg]; 6D with one constant heading offset per trial removed\n")
    cats = [c for c in CATEGORIES if any(c == cat for cat, _ in errors[ANCHOR["offline"]]["6D"])]
    head = f"{'estimator':30s} {'dim':3s} {'mean':>6s} {'ratio':>6s} " + " ".join(
        f"{c[:11]:>11s}" for c in cats
    )
    print(head)
    print("-" * len(head))
    for name, (mode, _) in ESTIMATORS.items():
        for dim in ("6D", "9D"):
            rows = errors[name][dim]
            if not rows:
                continue
            mean = np.mean([e for _, e in rows])
            anchor = np.mean([e for _, e in errors[ANCHOR[mode]][dim]])
            per_cat = [np.mean([e for c, e in rows if c == cat]) for cat in cats]
            print(
                f"{name:30s} {dim:3s} {mean:6.2f} {mean / anchor:6.2f} "
                + " ".join(f"{v:11.2f}" for v in per_cat)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
