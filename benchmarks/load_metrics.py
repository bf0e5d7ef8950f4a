"""Per-sensor-hour time of the load metrics: imurehab.analysis.load beside a plain numpy/scipy anchor.

The anchor computes the same epoch values (PlayerLoad 3D, ENMO, MAD over 5 s windows, ActiGraph counts)
straightforwardly with vectorised numpy and scipy.signal, one whole-array operation after another, for
one sensor-hour at 100 Hz with 60 s epochs. Ours: the same subset through the compiled kernels, and the
full load_epochs (every column of the load table). Both run --repeat times, alternating; best and median.

    .venv/bin/python benchmarks/load_metrics.py [--repeat 7] [--rate 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from scipy import signal

from imurehab.analysis.load import STANDARD_GRAVITY as G
from imurehab.analysis.load import load_epochs
from imurehab.analysis.load.axes import ISB_AXES
from imurehab.analysis.load.counts import _BPF_A, _BPF_B, counts_10hz
from imurehab.analysis.load.epochs import enmo_mad_per_epoch, epoch_bounds, magnitude_g
from imurehab.analysis.load.playerload import playerload_per_epoch


def anchor(acc, rate):
    """Plain numpy/scipy: PlayerLoad, ENMO, MAD (5 s windows) and counts per 60 s epoch (rate 100 Hz)."""
    n_ep = acc.shape[0] // int(60 * rate)
    g = acc / G
    pl = np.sqrt((np.diff(g, axis=0, prepend=g[:1]) ** 2).sum(axis=1)) / 100.0
    r = np.linalg.norm(g, axis=1)
    enmo = np.maximum(r - 1.0, 0.0).reshape(n_ep, -1).mean(axis=1) * 1000
    w = r.reshape(-1, int(5 * rate))
    mad = np.abs(w - w.mean(axis=1, keepdims=True)).mean(axis=1).reshape(n_ep, -1).mean(axis=1) * 1000
    # counts: ActiGraph resampling 100 -> 30 Hz (L = 3, M = 10), band-pass, trim, 10 Hz, epoch sums
    up = np.zeros((g.shape[0] * 3, 3))
    up[::3] = g
    a = np.pi / (np.pi + 6)
    b = (np.pi - 6) / (np.pi + 6)
    x30 = np.round(signal.lfilter([a * 3, a * 3], [1.0, b], up, axis=0)[::10], 3)
    zi = signal.lfilter_zi(_BPF_B, _BPF_A)[:, None] * x30[0]
    bpf, _ = signal.lfilter(_BPF_B, _BPF_A, x30, axis=0, zi=zi)
    v = np.abs(bpf * ((3.0 / 4096.0) / (2.6 / 256.0) * 237.5))
    v = np.floor(np.where(v < 4, 0.0, np.minimum(v, 128.0)))
    ten = np.floor(v[: v.shape[0] // 3 * 3].reshape(-1, 3, 3).sum(axis=1) / 3)
    counts = ten.reshape(n_ep, -1, 3).sum(axis=1)
    return pl.reshape(n_ep, -1).sum(axis=1), enmo, mad, counts


def ours_subset(acc, time_us, rate):
    """The same subset through imurehab's kernels."""
    _, bounds = epoch_bounds(time_us, 60_000_000)
    _, wb = epoch_bounds(time_us, 5_000_000)
    r = np.empty(acc.shape[0])
    magnitude_g(acc, r)
    pl = playerload_per_epoch(acc, time_us, bounds, ISB_AXES)[:, 0]
    em = enmo_mad_per_epoch(r, bounds, wb)
    values, _ = counts_10hz(acc, rate, time_us)
    counts = values.reshape(bounds.shape[0] - 1, -1, 3).sum(axis=1)
    return pl, em[:, 0], em[:, 1], counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    rate = args.rate
    n = int(3600 * rate)
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    acc = rng.normal(0.0, 0.3 * G, (n, 3)) + 1.5 * G * np.sin(2 * np.pi * 2.7 * t)[:, None]
    acc[:, 1] += G
    time_us = 1_714_557_600_000_000 + np.round(np.arange(n) * (1e6 / rate)).astype(np.int64)

    ref, got = anchor(acc, rate), ours_subset(acc, time_us, rate)
    for name, x, y in zip(("playerload", "enmo_mg", "mad_mg", "counts"), ref, got, strict=True):
        diff = np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-12))
        print(f"check {name:10s} max relative difference {diff:.2e}")
    load_epochs(acc, time_us, rate_hz=rate, sensor="S1")

    times: dict[str, list[float]] = {"anchor": [], "ours_subset": [], "load_epochs": []}
    for _ in range(args.repeat):
        for name, fn in (
            ("anchor", lambda: anchor(acc, rate)),
            ("ours_subset", lambda: ours_subset(acc, time_us, rate)),
            ("load_epochs", lambda: load_epochs(acc, time_us, rate_hz=rate, sensor="S1")),
        ):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    print(f"one sensor-hour at {rate:g} Hz ({n} samples), 60 s epochs; load average {os.getloadavg()[0]:.2f}")
    for name, values in times.items():
        print(
            f"{name:12s} best {min(values) * 1e3:7.2f} ms  median {statistics.median(values) * 1e3:7.2f} ms"
        )
    print(f"anchor / ours (same subset): best {min(times['anchor']) / min(times['ours_subset']):.1f}x")
    print(f"sensor-hours per second, full load_epochs, one core: {1.0 / min(times['load_epochs']):.0f}")


if __name__ == "__main__":
    main()
