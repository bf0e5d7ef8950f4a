"""One-way arrival fits corrected by a read round trip: the DOT and Polar probes' shared correction."""

from __future__ import annotations

import asyncio

import numpy as np

from imurehab.ble.clock import READS, fit_arrival_clock, read_round_trips, with_read_latency
from imurehab.ble.polar_recordings import probe_clock

UTC0 = 1_800_000_000_000_000  # µs since the Unix epoch (2027)
OFFSET = -7_000_000_000  # device − UTC [µs]


def probe(least_lag_us: int, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Frames sampled every 0.6 s, arriving ``least_lag_us`` or more after they were sampled [µs]."""
    sampled = UTC0 + np.arange(n, dtype=np.int64) * 600_000
    lag = least_lag_us + (np.arange(n) % 3) * 2_000
    return sampled + lag, sampled + OFFSET


def test_half_the_least_read_round_trip_moves_the_offset_and_widens_the_bound():
    host, device = probe(least_lag_us=400)
    fitted = fit_arrival_clock(host, device)
    corrected = with_read_latency(fitted, [1_500, 800, 950])  # one-way 400 µs ≈ half of 800
    late = float(fitted.to_utc_us(device[0]) - (host[0] - 400))
    error = float(corrected.to_utc_us(device[0]) - (host[0] - 400))
    assert late == 400 and error == 0
    assert corrected.uncertainty_us == fitted.uncertainty_us + 400
    assert with_read_latency(fitted, []) == fitted


def test_the_polar_probe_clock_takes_the_read_round_trips():
    host, device = probe(least_lag_us=3_000)
    arrivals = list(zip(host.tolist(), device.tolist(), strict=True))
    without, with_reads = probe_clock(arrivals), probe_clock(arrivals, [6_000, 7_000])
    assert with_reads.offset_us - without.offset_us == 3_000
    assert with_reads.uncertainty_us - without.uncertainty_us == 3_000
    assert with_reads.drift_ppm == 0  # a probe of seconds measures no drift
    sampled = device - OFFSET  # when each frame's last sample was taken
    assert np.max(np.abs(with_reads.to_utc_us(device) - sampled)) <= 1


def test_read_round_trips_times_each_read():
    calls = []

    async def read() -> bytes:
        calls.append(1)
        await asyncio.sleep(0)
        return b""

    trips = asyncio.run(read_round_trips(read))
    assert len(trips) == len(calls) == READS and min(trips) >= 0
