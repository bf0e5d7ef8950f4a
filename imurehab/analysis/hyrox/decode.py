"""From per-second features to the race's phases: find the 8 runs, then Viterbi training of every phase.

1. A run-likeness per frame (vigorous and strongly periodic ‖a‖ at every sensor) and a coarse model
   (8 × [run, other]) give the eight runs: the order forces exactly eight, so a slow run or a fast
   farmers carry cannot add or remove one.
2. Between runs ``k`` and ``k + 1`` the initial guess is Roxzone, station ``k``, Roxzone, with Roxzones of
   7 % of the median run duration (4–25 s).
3. Each class's feature Gaussians are estimated from the current labels, the full model is decoded, and
   this repeats until the labels settle (Viterbi training). The classes adapt to the athlete and to how
   the sensors were worn; nothing is trained on other races.
4. The same again with every Roxzone limited to 3 × the race's median Roxzone (:func:`roxzone_cap`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imurehab.analysis.hyrox.features import FEATURE_NAMES, FRAME_S
from imurehab.analysis.hyrox.sequence import (
    CLASSES,
    ROXZONE,
    RUN,
    RaceStates,
    fit_gaussians,
    gaussian_loglik,
    race_states,
    viterbi,
)

__all__ = ["decode_race", "roxzone_cap", "run_likeness"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# variance floors per feature [feature units²]: energy, rotation, gravity ×3, cadence, periodicity
_FLOOR = np.array([0.04, 0.04, 0.004, 0.004, 0.004, 0.08, 0.005])
_ROX_SHARE = 0.07
_ROX_LIMITS_S = (4.0, 25.0)
_ROX_CAP_FACTOR = 3.0
_ROX_CAP_MIN_S = 15.0


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


def _train(
    features: FloatArray, states: RaceStates, cls: IntArray, floor: FloatArray, cap: IntArray, iterations: int
) -> IntArray:
    path = np.full(features.shape[0], -1, dtype=np.int64)
    for _ in range(iterations):
        mean, var = fit_gaussians(features, cls, len(CLASSES), floor)
        new_path = viterbi(states, gaussian_loglik(features, mean, var), cap)
        if np.array_equal(new_path, path):
            break
        path, cls = new_path, states.classes[new_path]
    return path


def roxzone_cap(path: IntArray, states: RaceStates) -> int:
    """Longest plausible Roxzone [frames]: 3 × the race's median Roxzone, at least 15 s.

    Roxzones of one race cross the same hall, so they take similar times; a "Roxzone" several times
    longer than the others has swallowed part of a station (a farmers carry looks like walking to a
    pelvis or thigh sensor).
    """
    rox = [int(np.sum(path == s)) for s, label in enumerate(states.labels) if label == ROXZONE]
    rox = [r for r in rox if r > 0]
    return max(int(_ROX_CAP_FACTOR * np.median(rox)) if rox else 0, int(_ROX_CAP_MIN_S / FRAME_S))


def decode_race(
    features: FloatArray, iterations: int = 6
) -> tuple[IntArray, tuple[str, ...], tuple[int, ...]]:
    """State path of the race.

    Parameters
    ----------
    features : ndarray, shape (F, k·len(FEATURE_NAMES))
        The features of k sensors side by side, one row per frame (NaN where a sensor has no data).
    iterations : int
        Maximum rounds of Viterbi training (per stage: without, then with the Roxzone cap).

    Returns
    -------
    path : ndarray of int, shape (F,)
        State index per frame.
    labels, index : tuple
        Label and run/station number of each state.
    """
    states = race_states(CLASSES)
    floor = np.tile(_FLOOR, features.shape[1] // len(FEATURE_NAMES))
    free = np.zeros(len(states.labels), dtype=np.int64)
    path = _train(features, states, _initial_labels(features), floor, free, iterations)
    cap = np.where(np.array(states.labels) == ROXZONE, roxzone_cap(path, states), 0)
    path = _train(features, states, states.classes[path], floor, cap, iterations)
    return path, states.labels, states.index
