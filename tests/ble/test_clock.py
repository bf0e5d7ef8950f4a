"""Clock fit: offset and drift from round trips, its bound, and the device ↔ UTC mapping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imurehab.ble.clock import MAX_DRIFT_PPM, ClockLog, ClockModel, fit_clock_model
from imurehab.errors import ProtocolError
from imurehab.protocols.osp import ClockSample
from tests.strategies import DETERMINISTIC

UTC0 = 1_800_000_000_000_000  # µs since the Unix epoch (2027)


def round_trip(host_us, offset_us, drift_ppm, forward_us, turnaround_us, backward_us):
    """One round trip against a device clock ``device = utc + offset + drift·(utc − UTC0)``."""

    def device(utc):
        return utc + offset_us + drift_ppm * 1e-6 * (utc - UTC0)

    t2 = round(device(host_us + forward_us))
    t3 = round(device(host_us + forward_us + turnaround_us))
    return ClockSample(host_us, t2, t3, round(host_us + forward_us + turnaround_us + backward_us))


clocks = st.fixed_dictionaries(
    {
        "offset_us": st.floats(-1e15, 1e15),
        "drift_ppm": st.floats(-MAX_DRIFT_PPM, MAX_DRIFT_PPM),
        "span_s": st.floats(2.0, 3_600.0),
        "seed": st.integers(0, 2**32 - 1),
    }
)


def trips(clock, n, max_delay_us):
    rng = np.random.default_rng(clock["seed"])
    hosts = UTC0 + np.sort(rng.uniform(0, clock["span_s"] * 1e6, n)).round().astype(np.int64)
    return [
        round_trip(
            int(h),
            clock["offset_us"],
            clock["drift_ppm"],
            float(rng.uniform(0, max_delay_us)),
            float(rng.uniform(0, 100)),
            float(rng.uniform(0, max_delay_us)),
        )
        for h in hosts
    ]


def device_of(clock, utc):
    return utc + clock["offset_us"] + clock["drift_ppm"] * 1e-6 * (utc - UTC0)


@DETERMINISTIC
@given(clocks, st.integers(3, 60))
def test_inside_the_measured_span_the_error_is_within_the_bound(clock, n):
    samples = trips(clock, n, max_delay_us=2_000)
    model = fit_clock_model(samples, boot_id=1)
    utc = np.linspace(model.first_utc_us, model.last_utc_us, 25)
    error = np.abs(model.to_utc_us(device_of(clock, utc)) - utc)
    # Float64 holds UTC µs to ~0.5 µs; the bound is exact arithmetic.
    assert np.all(error <= model.uncertainty_at(utc) + 2.0)


@DETERMINISTIC
@given(clocks)
def test_symmetric_round_trips_give_the_clock_exactly(clock):
    rng = np.random.default_rng(clock["seed"])
    hosts = UTC0 + np.linspace(0, clock["span_s"] * 1e6, 20).round().astype(np.int64)
    samples = []
    for h in hosts:
        delay = float(rng.uniform(100, 1_000))
        samples.append(round_trip(int(h), clock["offset_us"], clock["drift_ppm"], delay, 50, delay))
    model = fit_clock_model(samples, boot_id=1)
    assert model.drift_ppm == pytest.approx(clock["drift_ppm"], abs=1e-3 + 2e6 / (clock["span_s"] * 1e6))
    utc = UTC0 + clock["span_s"] * 1e6 / 3
    assert model.to_utc_us(device_of(clock, utc)) == pytest.approx(utc, abs=2.0)


@DETERMINISTIC
@given(clocks, st.floats(-1e9, 1e9))
def test_to_device_inverts_to_utc(clock, device_us):
    samples = trips(clock, 10, max_delay_us=500)
    model = fit_clock_model(samples, boot_id=1)
    assert model.to_device_us(model.to_utc_us(device_us)) == pytest.approx(device_us, abs=1.0)


def test_round_trips_within_one_second_fit_no_drift():
    clock = {"offset_us": 5e6, "drift_ppm": 150.0, "span_s": 0.4, "seed": 3}
    model = fit_clock_model(trips(clock, 12, 300), boot_id=9)
    assert (model.drift_ppm, model.drift_sigma_ppm, model.boot_id) == (0.0, MAX_DRIFT_PPM, 9)
    # Away from the span the bound assumes the worst crystal.
    assert model.uncertainty_at(model.last_utc_us + 10e6) == pytest.approx(
        model.uncertainty_us + MAX_DRIFT_PPM * 10
    )


def test_the_least_delay_trips_of_every_window_are_kept():
    clock = {"offset_us": 0.0, "drift_ppm": 0.0, "span_s": 10.0, "seed": 1}
    good = trips(clock, 40, 50)
    # Round trips with a large delay and a skewed split would pull a plain fit off by ~1 ms.
    bad = [round_trip(s.t1_us + 1_000, 0.0, 0.0, 4_000, 0, 200) for s in good]
    model = fit_clock_model(good + bad, boot_id=1)
    assert abs(model.offset_us) < 60 and abs(model.drift_ppm) < 20
    assert model.n_samples <= len(good)


def test_no_valid_round_trip_is_an_error():
    with pytest.raises(ProtocolError, match="non-negative delay"):
        fit_clock_model([ClockSample(100, 50, 60, 90)], boot_id=1)


def test_the_clock_log_keeps_round_trips_per_boot_and_skips_a_torn_line(tmp_path):
    log = ClockLog(tmp_path / "dev" / "clock.jsonl")
    clock = {"offset_us": -UTC0 + 7e6, "drift_ppm": 40.0, "span_s": 30.0, "seed": 2}
    samples = trips(clock, 20, 400)
    log.append(1, samples[:10])
    log.append(2, samples[:3])
    log.append(1, samples[10:])
    with log.path.open("a") as f:
        f.write('{"boot_id": 1, "t": [1, 2')  # a writer killed mid-line
    by_boot = log.samples()
    assert by_boot[1] == samples and by_boot[2] == samples[:3]
    models = log.models()
    assert set(models) == {1, 2}
    assert models[1].drift_ppm == pytest.approx(40.0, abs=15)


def test_json_round_trip():
    model = ClockModel(7, UTC0, -UTC0, 12.5, 80.0, 0.3, UTC0 - 1e6, UTC0 + 1e6, 20, 5)
    assert ClockModel.from_json(model.to_json()) == model
    assert math.isfinite(model.uncertainty_at(UTC0 + 1e9))
