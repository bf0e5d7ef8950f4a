"""Every column of load_epochs against a straightforward numpy/scipy reference of the published definitions.

The reference is written for reading, not speed: whole-array numpy, scipy.signal.lfilter for the
filters, Python loops over runs. The compiled kernels must give the same table: integer columns
exactly, float columns within 1e-12 relative (summation order may differ). The signal is seeded and
realistic (16-bit quantised, steps with heel strikes in every impact zone, forward pushes, rest, a gap,
a start off the epoch grid), so every column holds non-trivial values.
"""

import math
from itertools import pairwise

import numpy as np
import pytest
from scipy import fft, signal

from imurehab.analysis.load import actigraph_counts, load_epochs
from imurehab.analysis.load.counts import _BPF_A, _BPF_B
from imurehab.store import columns as cols

G = 9.80665
RATE = 100.0
EPOCH_US = 60_000_000
T0_US = 1_714_557_612_345_678  # 2024-05-01T10:00:12.345678Z, off the minute grid
REL = 1e-12


def running_session(n, seed):
    """Specific force [m/s²] (n, 3), x forward, y up: steps, impacts, pushes, rest; 16-bit quantised."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    phase = 2 * np.pi * np.cumsum(2.6 + 0.3 * np.sin(2 * np.pi * t / 400.0)) / RATE
    strike = rng.choice([1.0, 2.0, 4.0, 8.0], n) * 12.0 * np.maximum(np.sin(phase), 0.0) ** 12
    acc = np.column_stack([1.5 * np.sin(phase + 0.4), G + strike - 1.0, 0.8 * np.sin(phase / 2)])
    acc += rng.normal(0.0, 0.4, (n, 3))
    for start in rng.integers(0, n - 200, n // 6000):  # pushes and brakes of ~1.5 s
        acc[start : start + 150, 0] += rng.choice([-4.0, 4.0])
    acc[n // 3 : n // 3 + 9000] = np.array([0.0, G, 0.0]) + rng.normal(0.0, 0.02, (9000, 3))  # 90 s at rest
    rowing = slice(3 * n // 4, n)  # strokes at 0.45 Hz instead of steps
    acc[rowing, 1] = G + 5.0 * np.sin(2 * np.pi * 0.45 * t[rowing]) + rng.normal(0.0, 0.4, n - 3 * n // 4)
    lsb = 16 * G / 32768
    return np.round(acc / lsb) * lsb


def epoch_index(time_us):
    """Epoch number per sample and the sample bounds of the epochs that hold samples."""
    ids = time_us // EPOCH_US
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1, [ids.size]))
    return ids, bounds


def per_epoch(bounds, values):
    """Sum of ``values`` over each epoch's samples."""
    return np.array([values[a:b].sum(axis=0) for a, b in pairwise(bounds)])


def reference_enmo_mad(r, time_us, bounds):
    enmo = per_epoch(bounds, np.maximum(r - 1.0, 0.0)) / np.diff(bounds) * 1000.0
    _, windows = epoch_index(time_us // 5_000_000 * EPOCH_US)  # 5 s windows on the same grid
    deviation = np.empty_like(r)
    for a, b in pairwise(windows):
        deviation[a:b] = np.abs(r[a:b] - r[a:b].mean())
    return enmo, per_epoch(bounds, deviation) / np.diff(bounds) * 1000.0


def reference_playerload(acc, time_us, bounds):
    step = np.diff(acc / G, axis=0, prepend=acc[:1] / G)
    step[1:][np.diff(time_us) > 15_000] = 0.0  # no difference across a gap
    fwd, side, up = step[:, 0], step[:, 2], step[:, 1]
    parts = [
        np.sqrt(fwd**2 + side**2 + up**2),
        np.sqrt(fwd**2 + side**2),
        np.abs(fwd),
        np.abs(side),
        np.abs(up),
    ]
    return per_epoch(bounds, np.column_stack(parts) / 100.0)


def reference_impacts(r, bounds, refractory=15):
    above = np.concatenate(([False], r >= 2.0, [False]))
    edges = np.diff(above.astype(int))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    peaks = []  # [index, value]
    for a, b in zip(starts, ends, strict=True):
        i = a + int(np.argmax(r[a:b]))
        if peaks and a - peaks[-1][0] < refractory:
            if r[i] > peaks[-1][1]:
                peaks[-1] = [i, r[i]]
        else:
            peaks.append([i, r[i]])
    zone = np.searchsorted([2.0, 3.0, 5.0, 8.0], [v for _, v in peaks], side="right") - 1
    epoch = np.searchsorted(bounds, [i for i, _ in peaks], side="right") - 1
    out = np.zeros((bounds.size - 1, 4), dtype=np.int64)
    np.add.at(out, (epoch, zone), 1)
    return out


def reference_events(fwd, bounds, half_smooth=25, half_gravity=500, min_len=50):
    n = fwd.size
    prefix = np.concatenate(([0.0], np.cumsum(fwd)))
    i = np.arange(n)

    def moving_mean(half):
        a, b = np.maximum(i - half, 0), np.minimum(i + half + 1, n)
        return (prefix[b] - prefix[a]) / (b - a)

    d = moving_mean(half_smooth) - moving_mean(half_gravity)
    sign = np.where(d >= 2.0, 1, np.where(d <= -2.0, -1, 0))
    change = np.concatenate(([0], np.flatnonzero(np.diff(sign)) + 1, [n]))
    out = np.zeros((bounds.size - 1, 2), dtype=np.int64)
    for a, b in pairwise(change):
        if sign[a] != 0 and b - a >= min_len:
            out[np.searchsorted(bounds, a, side="right") - 1, 0 if sign[a] > 0 else 1] += 1
    return out


def reference_counts_10hz(x30):
    """ActiGraph band-pass (steady state at the first sample), scale, trim, floor, 10 Hz from 30 Hz [g]."""
    zi = signal.lfilter_zi(_BPF_B, _BPF_A)[:, None] * x30[0]
    y = signal.lfilter(_BPF_B, _BPF_A, x30, axis=0, zi=zi)[0]
    v = np.floor(np.clip(np.abs(y * ((3 / 4096) / (2.6 / 256) * 237.5)), 0.0, 128.0))
    v[v < 4.0] = 0.0
    k = x30.shape[0] // 3
    return np.floor(v[: 3 * k].reshape(k, 3, 3).sum(axis=1) / 3.0)


def reference_counts(acc, time_us, index):
    """100 Hz to 30 Hz (zero insertion ×3, first-order IIR, every 10th), round, 10 Hz counts per epoch."""
    up = np.zeros((3 * acc.shape[0], 3))
    up[::3] = acc / G
    a = math.pi / (math.pi + 6)
    b = (math.pi - 6) / (math.pi + 6)
    x30 = np.round(signal.lfilter([a * 3, a * 3], [1.0, b], up, axis=0)[::10], 3)
    values = reference_counts_10hz(x30)
    first_raw = time_us[np.minimum(np.arange(values.shape[0]) * 10, acc.shape[0] - 1)]
    epoch = first_raw // EPOCH_US
    return np.array([values[epoch == e].sum(axis=0) for e in index], dtype=np.int64)


def reference_cadence(r, bounds, mad_mg):
    """Dominant frequency [1/min] of 25 Hz block means of ‖a‖ in the step and stroke bands per epoch."""
    fs, nfft = 25.0, fft.next_fast_len(1500, real=True)
    freq = np.arange(nfft // 2 + 1) * fs / nfft
    out = np.full((bounds.size - 1, 2), np.nan)
    for e, (a, b) in enumerate(pairwise(bounds)):
        blocks = r[a : a + (b - a) // 4 * 4].reshape(-1, 4)
        if mad_mg[e] < 20.0 or (b - a) / RATE < 10.0:
            continue
        power = np.abs(np.fft.rfft(blocks.mean(axis=1) - blocks.mean(), nfft)) ** 2
        total = power[(freq >= 0.25) & (freq <= 8.0)].sum()
        for k, (lo, hi) in enumerate(((1.0, 4.0), (0.25, 1.0))):
            band = np.flatnonzero((freq >= lo) & (freq <= hi))
            j = band[np.argmax(power[band])]
            left, mid, right = np.log(power[j - 1 : j + 2])
            shift = np.clip(0.5 * (left - right) / (left - 2 * mid + right), -0.5, 0.5)
            if power[j - 1 : j + 2].sum() / total >= 0.25:
                out[e, k] = (freq[j] + shift * fs / nfft) * 60.0
    return out


@pytest.fixture(scope="module")
def session():
    n = 40 * 60 * 100
    acc = running_session(n, seed=20250303)
    time_us = T0_US + np.arange(n, dtype=np.int64) * 10_000
    time_us[n // 2 :] += 125_000_000  # 125 s without samples
    table = load_epochs(acc, time_us, rate_hz=RATE, sensor="S1")
    return acc, time_us, table


def column(table, names):
    """One column as a 1-D array, several as (E, k)."""
    return table.get_column(names).to_numpy() if isinstance(names, str) else table.select(names).to_numpy()


def test_the_signal_exercises_every_column(session):
    _, _, table = session
    totals = table.select(*cols.IMPACTS, cols.ACCEL_EVENTS, cols.DECEL_EVENTS).sum().row(0)
    assert min(totals) > 0
    for name in (cols.STEP_CADENCE_SPM, cols.STROKE_CADENCE_SPM):
        assert 0 < table.get_column(name).null_count() < table.height


def test_epochs_enmo_and_mad_equal_the_reference(session):
    acc, time_us, table = session
    ids, bounds = epoch_index(time_us)
    starts = table.get_column(cols.EPOCH_START).dt.epoch("us").to_numpy()
    np.testing.assert_array_equal(starts, ids[bounds[:-1]] * EPOCH_US)
    np.testing.assert_array_equal(column(table, cols.COVERED_S), np.diff(bounds) / RATE)
    r = np.linalg.norm(acc, axis=1) / G
    enmo, mad = reference_enmo_mad(r, time_us, bounds)
    np.testing.assert_allclose(column(table, cols.ENMO_MG), enmo, rtol=REL)
    np.testing.assert_allclose(column(table, cols.MAD_MG), mad, rtol=REL)


def test_playerload_equals_the_reference(session):
    acc, time_us, table = session
    _, bounds = epoch_index(time_us)
    np.testing.assert_allclose(
        column(table, list(cols.PLAYERLOADS)), reference_playerload(acc, time_us, bounds), rtol=REL
    )


def test_impacts_and_events_equal_the_reference(session):
    acc, time_us, table = session
    _, bounds = epoch_index(time_us)
    r = np.linalg.norm(acc, axis=1) / G
    np.testing.assert_array_equal(column(table, list(cols.IMPACTS)), reference_impacts(r, bounds))
    np.testing.assert_array_equal(
        column(table, [cols.ACCEL_EVENTS, cols.DECEL_EVENTS]), reference_events(acc[:, 0], bounds)
    )


def test_counts_equal_the_reference(session):
    acc, time_us, table = session
    ids, bounds = epoch_index(time_us)
    counts = reference_counts(acc, time_us, ids[bounds[:-1]])
    assert counts.sum() > 10_000
    np.testing.assert_array_equal(column(table, list(cols.COUNTS)), counts)
    np.testing.assert_allclose(column(table, cols.COUNTS_VM), np.linalg.norm(counts, axis=1), rtol=REL)


def test_cadence_equals_the_reference(session):
    acc, time_us, table = session
    _, bounds = epoch_index(time_us)
    r = np.linalg.norm(acc, axis=1) / G
    mad_epoch = np.array([np.abs(r[a:b] - r[a:b].mean()).mean() for a, b in pairwise(bounds)])
    expected = reference_cadence(r, bounds, mad_epoch * 1000.0)
    got = column(table, [cols.STEP_CADENCE_SPM, cols.STROKE_CADENCE_SPM])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=REL)


def test_counts_at_a_rate_actigraph_does_not_define_equal_the_reference():
    # 200 Hz: resample_poly to 30 Hz (Kaiser FIR, padtype="line"), round, then the same band-pass
    acc = running_session(200 * 300, seed=5)
    x30 = np.round(signal.resample_poly(acc / G, 3, 20, axis=0, padtype="line"), 3)
    values = reference_counts_10hz(x30)
    expected = np.add.reduceat(values, np.arange(0, values.shape[0], 600), axis=0)
    got = actigraph_counts(acc, 200.0, epoch_s=60.0)
    assert expected.sum() > 1_000
    np.testing.assert_array_equal(got, expected.astype(np.int64))
