"""Accuracy on a few real BROAD trials against optical ground truth, with honest margins.

Laidig, Caruso, Cereatti, Seel, "BROAD — A Benchmark for Robust Inertial Orientation Estimation",
Data 6(7), 2021. 6D errors have one constant heading offset per trial removed (the metric's rule).
Margins: measured values (docs/fusion.md) plus about 30 %, and never much worse than vqf's
offlineVQF/VQF run on the same trial (per trial either may win; the means are in docs/fusion.md).
"""

import numpy as np
import pytest
import vqf

from imurehab.fusion import estimate_orientation
from imurehab.fusion.broad import broad_data_dir, broad_errors, broad_trial_paths, read_broad_trial

BROAD = broad_data_dir()
pytestmark = pytest.mark.skipif(
    BROAD is None, reason="BROAD data not found in <repo>/../shared/data/broad (or $IMUREHAB_BROAD_DIR)"
)

# trial prefix → (6D offline, 9D offline) total RMSE bounds [deg]
TRIALS = {"05_": (1.0, 0.7), "16_": (0.95, 0.85), "24_": (1.0, 1.45)}


@pytest.fixture(scope="module", params=sorted(TRIALS))
def trial(request):
    path = next(p for p in broad_trial_paths(BROAD) if p.name.startswith(request.param))
    return request.param, read_broad_trial(path)


def test_offline_accuracy(trial):
    prefix, t = trial
    q6 = estimate_orientation(t.acc, t.gyr, t.rate_hz)
    q9 = estimate_orientation(t.acc, t.gyr, t.rate_hz, t.mag)
    assert np.isfinite(q6).all() and np.isfinite(q9).all()
    e6 = broad_errors(q6, t.quat_ref, t.movement, remove_heading=True).total_deg
    e9 = broad_errors(q9, t.quat_ref, t.movement).total_deg
    ref = vqf.offlineVQF(t.gyr, t.acc, t.mag, 1.0 / t.rate_hz)
    v6 = broad_errors(ref["quat6D"], t.quat_ref, t.movement, remove_heading=True).total_deg
    v9 = broad_errors(ref["quat9D"], t.quat_ref, t.movement).total_deg
    bound6, bound9 = TRIALS[prefix]
    assert e6 < bound6 and e6 < 1.5 * v6
    assert e9 < bound9 and e9 < 1.5 * v9


def test_causal_accuracy(trial):
    _, t = trial
    q9 = estimate_orientation(t.acc, t.gyr, t.rate_hz, t.mag, mode="causal")
    e9 = broad_errors(q9, t.quat_ref, t.movement).total_deg
    ref = vqf.VQF(1.0 / t.rate_hz).updateBatch(t.gyr, t.acc, t.mag)
    v9 = broad_errors(ref["quat9D"], t.quat_ref, t.movement).total_deg
    assert e9 < 1.3 * max(v9, 1.0)
