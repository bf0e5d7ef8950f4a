"""ActiGraph counts against the agcounts package (ActiGraph's reference implementation) as the oracle."""

import warnings

import numpy as np
import pytest

from imurehab.analysis.load import actigraph_counts, load_epochs
from imurehab.simulate import SensorErrorModel, simulate_session
from imurehab.store import columns as cols

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # agcounts pulls in pandas and mne, which may warn on import
    from agcounts.extract import get_counts

G = 9.80665
RATES = [30, 40, 50, 60, 70, 80, 90, 100]


def random_motion(rate, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(rate * seconds) / rate
    acc = rng.normal(0.0, 0.15 * G, (t.size, 3))
    acc += 2.0 * G * np.sin(2 * np.pi * rng.uniform(0.3, 4.0, 3) * t[:, None] + rng.uniform(0, 6, 3))
    acc *= rng.uniform(0, 1, (t.size // rate + 1, 1)).repeat(rate, axis=0)[: t.size]  # bursts and rest
    acc[:, 1] += G
    return acc


@pytest.mark.parametrize("rate", RATES)
def test_counts_equal_agcounts_on_random_signals(rate):
    acc = random_motion(rate, 300, seed=rate)
    expected = get_counts(acc / G, freq=rate, epoch=10)
    got = actigraph_counts(acc, float(rate), epoch_s=10.0)
    assert expected.sum() > 10_000  # the signal moves: not a comparison of zeros
    np.testing.assert_array_equal(got[: expected.shape[0]], expected)


@pytest.mark.parametrize("rate", [50, 100])
def test_counts_equal_agcounts_on_simulated_walking(rate):
    sim = simulate_session(
        "walking", duration_s=60.0, rate_hz=float(rate), errors=SensorErrorModel.ideal(), seed=2
    )
    for sensor in sim.recording.sensors:
        expected = get_counts(sensor.acc / G, freq=rate, epoch=5)
        got = actigraph_counts(sensor.acc, float(rate), epoch_s=5.0)
        assert expected.sum() > 0
        np.testing.assert_array_equal(got[: expected.shape[0]], expected)


def test_table_counts_equal_agcounts_when_the_recording_starts_on_an_epoch():
    acc = random_motion(100, 180, seed=7)
    t = 1_714_557_600_000_000 + np.arange(acc.shape[0], dtype=np.int64) * 10_000
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=60.0, sensor="S1")
    expected = get_counts(acc / G, freq=100, epoch=60)
    got = df.select(cols.COUNTS).to_numpy()
    np.testing.assert_array_equal(got[: expected.shape[0]], expected)
    vm = df.get_column(cols.COUNTS_VM).to_numpy()
    np.testing.assert_allclose(vm, np.linalg.norm(got, axis=1))


def test_other_rates_resample_to_30hz_and_stay_close():
    # 200 Hz is not an ActiGraph rate: polyphase resampling to 30 Hz, compared with the 100 Hz counts of
    # the same band-limited motion (not an identity: the two resamplers differ)
    seconds = 300
    rng = np.random.default_rng(11)
    freqs, amps, phases = (
        rng.uniform(0.3, 4.0, (3, 4)),
        rng.uniform(0.2, 1.0, (3, 4)),
        rng.uniform(0, 6, (3, 4)),
    )

    def motion(rate):
        t = np.arange(rate * seconds) / rate
        acc = np.zeros((t.size, 3))
        for c in range(3):
            acc[:, c] = G * (amps[c] * np.sin(2 * np.pi * freqs[c] * t[:, None] + phases[c])).sum(axis=1)
        acc[:, 1] += G
        return acc

    reference = actigraph_counts(motion(100), 100.0, epoch_s=60.0)[:5]
    got = actigraph_counts(motion(200), 200.0, epoch_s=60.0)[:5]
    assert reference.sum() > 10_000
    np.testing.assert_allclose(got, reference, rtol=0.03)
