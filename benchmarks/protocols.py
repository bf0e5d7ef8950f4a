"""Protocol decoding speed: samples/s of imurehab's decoders next to per-sample `struct` decoders.

Each family's cases live in benchmarks/protocol_cases/<family>.py (`cases()`: frames, our decoder, and a
straightforward per-sample baseline decoder of the same frames). Both are timed in this one run, on one
core where the OS allows pinning; the table prints samples/s and the ratio ours / baseline.

Targets (issue 3): Polar delta frames ≥ 20× the per-sample baseline; OSP log chunks ≥ 5 M samples/s.

    python benchmarks/protocols.py [--family NAME] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

CASES = Path(__file__).resolve().parent / "protocol_cases"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"protocol_cases.{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _best_rate(fn, frames, n_expected: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn(frames)
        dt = time.perf_counter() - t0
        if n != n_expected:
            raise SystemExit(f"decoder returned {n} samples, expected {n_expected}")
        best = min(best, dt)
    return n_expected / best


def _subset(frames, n_samples: int, limit: int):
    """The leading frames holding about `limit` samples (the baseline is slow; its rate is per sample)."""
    if n_samples <= limit:
        return frames, n_samples
    k = max(1, int(len(frames) * limit / n_samples))
    return frames[:k], None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", help="only this case file (e.g. polar_pmd)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    files = sorted(p for p in CASES.glob("*.py") if not p.name.startswith("_"))
    if args.family:
        files = [p for p in files if p.stem == args.family]
    print(f"{'case':<44} {'samples':>10} {'ours [M/s]':>11} {'baseline [M/s]':>15} {'ratio':>7}")
    for path in files:
        for case in _load(path).cases():
            frames, n = case["frames"], case["n_samples"]
            ours = _best_rate(case["ours"], frames, n, args.repeat)
            sub, n_sub = _subset(frames, n, 200_000)
            if n_sub is None:
                n_sub = case["ours"](sub)
            base = _best_rate(case["baseline"], sub, n_sub, 1)
            print(f"{case['name']:<44} {n:>10,} {ours / 1e6:>11.2f} {base / 1e6:>15.3f} {ours / base:>6.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
