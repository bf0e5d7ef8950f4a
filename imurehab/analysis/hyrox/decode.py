"""From per-second features to the race's phases: find the 8 runs, then Viterbi training of every phase.

1. A run-likeness per frame (vigorous and strongly periodic ‖a‖ at every sensor) and a coarse model
   (8 × [run, other]) give the eight runs: the order forces exactly eight, so a slow run or a fast
   farmers carry cannot add or remove one.
2. Between runs ``k`` and ``k + 1`` the initial guess is Roxzone, station ``k``, Roxzone, with Roxzones of
   7 % of the median run duration (4–25 s).
3. Each class's feature Gaussians are estimated from the current labels, the full model is decoded, and
   this repeats until the labels settle (Viterbi training). The classes adapt to the athlete and to how
   the sensors were worn; nothing is trained on other races.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imurehab.analysis.hyrox.features import FEATURE_NAMES
from imurehab.analysis.hyrox.sequence import (
    CLASSES,
    RUN,
    fit_gaussians,
    gaussian_loglik,
    race_states,
    viterbi,
)

__all__ = ["decode_race", "run_likeness"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# variance floors per feature [feature units²]: energy, rotation, gravity ×3, cadence, periodicity
_FLOOR = np.array([0.04, 0.04, 0.004, 0.004, 0.004, 0.08, 0.005])
_ROX_SHARE = 0.07
_ROX_LIMITS_S = (4.0, 25.0)


def _logistic(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def run_likeness(features: FloatArray) -> FloatArray:
    """Probability-like score in (0, 1) that each frame is running, from every sensor's features.

    Running shakes every body-worn sensor (std ‖a‖ above ≈ 4 m/s²) with a strongly periodic ‖a‖ at the
    step frequency (above ≈ 2.1 Hz; strokes and walking are slower): the score is the mean over sensors
    of the product of three logistic terms on ``energy``, ``periodicity`` and ``cadence``.
    """
    n = len(FEATURE_NAMES)
    per_sensor = features.reshape(features.shape[0], -1, n)
    energy = per_sensor[:, :, FEATURE_NAMES.index("energy")]
    period = per_sensor[:, :, FEATURE_NAMES.index("periodicity")]
    cadence = per_sensor[:, :, FEATURE_NAMES.index("cadence")]
    score = (
        _logistic((energy - 1.4) / 0.15)
        * _logistic((period - 0.55) / 0.07)
        * _logistic((cadence - 1.07) / 0.1)
    )
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(score), score, np.nan), axis=1)
    return np.clip(np.nan_to_num(mean, nan=0.5), 0.03, 0.97)


def _initial_labels(features: FloatArray) -> IntArray:
    coarse_classes = ("rest", RUN, "other")
    states = race_states(coarse_classes, merged=True)
    p = run_likeness(features)
    ll = np.stack([np.log1p(-p), np.log(p), np.log1p(-p)], axis=1)
    path = viterbi(states, ll)
    labels = np.array([states.labels[s] for s in path])
    index = np.array([states.index[s] for s in path])
    out = np.full(features.shape[0], CLASSES.index("rest"), dtype=np.int64)
    out[labels == RUN] = CLASSES.index(RUN)
    run_lengths = [np.sum((labels == RUN) & (index == k)) for k in range(1, 9)]
    rox = float(np.clip(_ROX_SHARE * np.median(run_lengths), *_ROX_LIMITS_S))
    for k in range(1, 9):
        frames = np.flatnonzero((labels == "other") & (index == k))
        if frames.size == 0:
            continue
        r = int(min(round(rox), frames.size // 4))
        out[frames] = CLASSES.index(CLASSES[3 + k - 1])
        out[frames[:r]] = CLASSES.index("roxzone")
        if k < 8:
            out[frames[frames.size - r :]] = CLASSES.index("roxzone")
    return out


def decode_race(
    features: FloatArray, iterations: int = 6
) -> tuple[IntArray, tuple[str, ...], tuple[int, ...]]:
    """State path of the race.

    Parameters
    ----------
    features : ndarray, shape (F, k·len(FEATURE_NAMES))
        The features of k sensors side by side, one row per frame (NaN where a sensor has no data).
    iterations : int
        Maximum rounds of Viterbi training.

    Returns
    -------
    path : ndarray of int, shape (F,)
        State index per frame.
    labels, index : tuple
        Label and run/station number of each state.
    """
    states = race_states(CLASSES)
    floor = np.tile(_FLOOR, features.shape[1] // len(FEATURE_NAMES))
    cls = _initial_labels(features)
    path = np.zeros(features.shape[0], dtype=np.int64)
    for _ in range(iterations):
        mean, var = fit_gaussians(features, cls, len(CLASSES), floor)
        new_path = viterbi(states, gaussian_loglik(features, mean, var))
        new_cls = states.classes[new_path]
        if np.array_equal(new_path, path):
            break
        path, cls = new_path, new_cls
    return path, states.labels, states.index
