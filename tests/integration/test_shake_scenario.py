"""A shake carried by every family's logs: after a sync, each stored sample inside it is the shake.

The physio shakes the sensors together before strapping them on; every sensor measures one rigid
motion, each at its own true sample instants (:mod:`imurehab.virtual.shake_overlay`). Here each family's
twins log such a shake (:meth:`~imurehab.virtual.mixed.MixedScenario.shake_inside_logs`), the host syncs
them over the virtual backend as ``test_mixed_families`` does, and every stored sample whose true instant
is inside the shake must equal ``SensorShake.measure`` at that instant, within the family's quantisation:

- OSP: int16 counts at the power-on ranges (±16 g, ±2000 deg/s): one LSB is 16 g / 32768 ≈ 4.8 mm/s² and
  2000 deg/s / 32768 ≈ 1.07 mrad/s.
- Polar offline recording (±8 g, ±2000 deg/s, int16 counts × float32 factor): one count is ≈ 2.4 mm/s²
  and ≈ 1.07 mrad/s.
- Movesense (float32 on the wire) and DOT (float32 in the export): 1e-4 in SI units, far above float32
  rounding (~2e-6 m/s² at 20 m/s²) and far below a wrong sample (neighbouring samples of the shake
  differ by > 0.01 rad/s at these rates).

A sample one period off would miss by far more than that: the test fails if a family replays the shake
by index, by nearest row or on a clock without its drift.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from imurehab.ble import RetryPolicy
from imurehab.errors import SimulationError
from imurehab.store import columns, read_table
from imurehab.virtual import (
    DotScenario,
    MovesenseScenario,
    PolarScenario,
    VirtualScenario,
)
from imurehab.virtual.mixed import MixedScenario, parse_family_specs, virtual_scenario
from imurehab.virtual.run import sync_scenario

pytestmark = pytest.mark.integration

FAST = RetryPolicy(connect_attempts=4, connect_timeout_s=2.0, backoff_initial_s=0.05, response_timeout_s=3.0)
MINUTES = 0.3
LOG_S = MINUTES * 60
TOLERANCE = {  # family → (acc [m/s²], gyr [rad/s]): one count of its codec, or float32 margin
    "osp": (16 * 9.80665 / 32768, math.radians(2000) / 32768),
    "polar-pmd": (8 * 9.80665 / 32768, math.radians(2000) / 32768),
    "movesense-gsp": (1e-4, 1e-4),
    "movella-dot": (1e-4, 1e-4),
}


def sync_mixed(mixed, out):
    return sync_scenario(mixed, out, policy=FAST, subject="P01", session="shake")


def assert_stored_samples_carry_the_shake(mixed, out):
    """Every sensor: stored samples inside the shake equal it at their true instants; ≥ 2.5 s of them."""
    report = sync_mixed(mixed, out)
    assert report.complete and report.write_error is None
    shake, rows = mixed.shake, read_table(out, "samples").collect()
    for s in report.sensors:
        family = mixed.families[s.address]
        got = rows.filter(rows["sensor"] == s.sensor_id).sort("sample_index")
        truth = mixed.true_sample_times_s(s.address)
        index = got["sample_index"].to_numpy()
        assert len(got) == len(truth) and np.array_equal(index, index[0] + np.arange(len(index))), family
        inside = shake.contains(truth)
        rate_hz = 1.0 / float(np.median(np.diff(truth)))
        assert inside.sum() >= 2.5 * rate_hz, (family, int(inside.sum()), rate_hz)
        acc, gyr, _ = shake.measure(truth[inside], s.address)
        stored = {
            name: got.select(list(cols)).to_numpy()[inside]
            for name, cols in (("acc", columns.ACC), ("gyr", columns.GYR))
        }
        acc_tol, gyr_tol = TOLERANCE[family]
        assert np.max(np.abs(stored["gyr"] - gyr)) <= gyr_tol, family
        assert np.max(np.abs(stored["acc"] - acc)) <= acc_tol, family
        assert np.max(np.abs(gyr)) > 5.0, family  # a real shake, not a sensor at rest


FAMILY_SCENARIOS = {
    "osp": lambda: VirtualScenario(n_sensors=2, minutes=MINUTES, rate_hz=100.0, seed=5),
    # simulated at 100 Hz, recorded at the sensor's 104 Hz: each sample reads the nearest row
    "polar-pmd": lambda: PolarScenario(
        n_sensors=2, minutes=MINUTES, rate_hz=100.0, seed=5, log_seconds=LOG_S
    ),
    # simulated at 208 Hz, logged as whole messages of /Meas/IMU6/104
    "movesense-gsp": lambda: MovesenseScenario(n_sensors=2, minutes=MINUTES, seed=5, log_seconds=LOG_S),
    "movella-dot": lambda: DotScenario(n_sensors=2, minutes=MINUTES, seed=5, log_seconds=LOG_S),
}


@pytest.mark.parametrize("family", list(FAMILY_SCENARIOS))
def test_every_family_logs_the_shake_at_each_samples_true_instant(family, tmp_path):
    scenario = FAMILY_SCENARIOS[family]()
    shake = MixedScenario([scenario], seed=5).shake_inside_logs(seed=5)
    mixed = MixedScenario([scenario], seed=5, shake=shake)
    assert_stored_samples_carry_the_shake(mixed, tmp_path)


def test_two_families_with_drifting_clocks_log_one_shake(tmp_path):
    """OSP and Polar with 50 ppm crystals, from ``virtual_scenario(shake=True)``: drift is in the truth."""
    mixed = virtual_scenario(
        parse_family_specs(["osp:1", "polar-pmd:1"], 1),
        minutes=MINUTES,
        rate_hz=100.0,
        faults=["drift-ppm=50"],
        seed=8,
        shake=True,
    )
    assert isinstance(mixed, MixedScenario) and mixed.shake is not None
    assert_stored_samples_carry_the_shake(mixed, tmp_path)
    for address in mixed.addresses:  # the clocks do drift: sample spacing is not the nominal period
        truth = mixed.true_sample_times_s(address)
        nominal = (truth[-1] - truth[0]) / (len(truth) - 1)
        period = 1.0 / (100.0 if mixed.families[address] == "osp" else 104.0)
        assert abs(nominal / period - 1.0) > 1e-6, mixed.families[address]


def test_no_shake_leaves_the_logs_as_they_were_and_a_shake_needs_logs():
    plain = DotScenario(n_sensors=1, minutes=0.2, seed=3, log_seconds=6.0)
    shaken = DotScenario(n_sensors=1, minutes=0.2, seed=3, log_seconds=6.0)
    shake = MixedScenario([shaken]).shake_inside_logs(duration_s=2.0)
    MixedScenario([shaken], shake=shake)
    ks = np.arange(-360, 0)
    a, b = (s.sensors[0].quantities(ks, ["gyr"])["gyr"] for s in (plain, shaken))
    t = shaken.true_sample_times_s(shaken.addresses[0])
    assert np.array_equal(a[~shake.contains(t)], b[~shake.contains(t)])
    assert not np.allclose(a[shake.contains(t)], b[shake.contains(t)])
    with pytest.raises(SimulationError, match="logs nothing"):
        MixedScenario([DotScenario(n_sensors=1, minutes=0.2, seed=3)]).shake_inside_logs()
    with pytest.raises(SimulationError, match="no room"):
        MixedScenario([DotScenario(n_sensors=1, minutes=0.2, seed=3, log_seconds=3.0)]).shake_inside_logs()
