"""From per-second features to the race's phases: find the 8 runs, then Viterbi training of every phase.

1. A run-likeness per frame (vigorous and strongly periodic ‖a‖ at every sensor) and a coarse model
   (8 × [run, other]) give the eight runs: the order forces exactly eight, so a slow run or a fast
   farmers carry cannot add or remove one.
2. Between runs ``k`` and ``k + 1`` the initial guess is Roxzone, station ``k``, Roxzone: the two split
   points that best fit one mean to both Roxzones and another to the station (least squares on the
   standardised features; :func:`_split_gap`).
3. Each class's feature Gaussians are estimated from the current labels, the full model is decoded, and
   this repeats until the labels settle (Viterbi training). The classes adapt to the athlete and to how
   the sensors were worn; nothing is trained on other races.
   Frames where every sensor stands still keep only their posture (:func:`neutralise_stillness`).
4. The same again with every Roxzone limited to 3 × the race's median Roxzone (:func:`roxzone_cap`).
5. With a wrist sensor: a station whose features match the Roxzones' was left out; decode once more
   without it (:func:`look_alike_stations`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from imurehab.analysis.hyrox.features import FEATURE_NAMES, FRAME_S
from imurehab.analysis.hyrox.sequence import (
    CLASSES,
    ROXZONE,
    RUN,
    STATIONS,
    RaceStates,
    fit_gaussians,
    gaussian_loglik,
    race_states,
    viterbi,
)

__all__ = ["decode_race", "look_alike_stations", "neutralise_stillness", "roxzone_cap", "run_likeness"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# variance floors per feature [feature units²]: energy, rotation, gravity ×3, cadence, periodicity
_FLOOR = np.array([0.04, 0.04, 0.004, 0.004, 0.004, 0.08, 0.005])
_ROX_MAX_INIT_S = 90.0
_ABSENT = -1e6
_ABSENT_DISTANCE = 0.7
_STILL_ENERGY = -1.0  # log(std ‖a‖ + 0.1) with std ≈ 0.27 m/s²
_ROX_CAP_FACTOR = 3.0
_ROX_CAP_MIN_S = 15.0
_MOVEMENT = [i for i, name in enumerate(FEATURE_NAMES) if not name.startswith("gravity")]


def _logistic(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def run_likeness(features: FloatArray) -> FloatArray:
    """Probability-like score in (0, 1) that each frame is running, from every sensor's features.

    Running shakes every body-worn sensor (std ‖a‖ above ≈ 4 m/s²) with a strongly periodic ‖a‖ at the
    step frequency (above ≈ 2.1 Hz; strokes and walking are slower): the score is the mean over sensors
    of the product of three logistic terms on ``energy``, ``periodicity`` and ``cadence``.

    Parameters
    ----------
    features : ndarray, shape (F, k·len(FEATURE_NAMES))
        Per-frame features of k sensors side by side.
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
    have = np.isfinite(score)
    count = have.sum(axis=1)
    mean = np.where(count > 0, np.where(have, score, 0.0).sum(axis=1) / np.maximum(count, 1), 0.5)
    return np.clip(mean, 0.03, 0.97)


def _split_gap(z: FloatArray, with_exit: bool) -> tuple[int, int]:
    """Where a station starts and ends inside the frames between two runs.

    Least squares over the standardised features ``z`` (L, n): Roxzone frames before ``a`` and from ``b``
    on share one mean (walking both ways), station frames ``[a, b)`` have theirs. Each Roxzone keeps 2
    frames to a quarter of the gap (at most :data:`_ROX_MAX_INIT_S`); without an exit Roxzone (after
    the last station) ``b`` is the end.
    """
    n = z.shape[0]
    s1 = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z, axis=0)])
    s2 = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z * z, axis=0)])
    top = int(min(n // 4, _ROX_MAX_INIT_S / FRAME_S))
    if top < 2:
        return 0, n
    a = np.arange(2, top + 1)[:, None]
    b = (n - np.arange(2, top + 1))[None, :] if with_exit else np.array([[n]])

    def sse(t1: FloatArray, t2: FloatArray, m: FloatArray) -> FloatArray:
        return (t2 - t1 * t1 / np.maximum(m, 1)[..., None]).sum(axis=-1)

    rox1 = s1[a] + (s1[n] - s1[b])
    rox2 = s2[a] + (s2[n] - s2[b])
    station = sse(s1[b] - s1[a], s2[b] - s2[a], (b - a).astype(float))
    cost = sse(rox1, rox2, (a + n - b).astype(float)) + station
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return int(a[i, 0]), int(b[0, j])


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
    with np.errstate(invalid="ignore"):
        z = np.nan_to_num((features - np.nanmean(features, axis=0)) / (np.nanstd(features, axis=0) + 1e-9))
    for k in range(1, 9):
        frames = np.flatnonzero((labels == "other") & (index == k))
        if frames.size == 0:
            continue
        a, b = _split_gap(z[frames], with_exit=k < 8)
        out[frames] = CLASSES.index(STATIONS[k - 1])
        out[frames[:a]] = CLASSES.index(ROXZONE)
        out[frames[b:]] = CLASSES.index(ROXZONE)
    return out


def neutralise_stillness(features: FloatArray, posture: Sequence[bool] | None = None) -> FloatArray:
    """Features with stillness made uninformative, except for the posture it is held in.

    A still sensor (std ‖a‖ below ≈ 0.27 m/s²) has no cadence: its ``cadence`` and ``periodicity`` become
    NaN. In a frame where every sensor is still (standing at the start line, a rest inside a station, a
    pause in a Roxzone, a thigh held in the half squat of a hand-over-hand sled pull) only the direction
    of gravity of the ``posture`` sensors is kept: how still it is does not say which phase the frame
    belongs to, so its neighbours decide, and the phases' feature models describe their movement, not
    their rests; the posture of the lower body does (a standing pause looks like any standing phase, a
    held half squat like the sled pull). Without it, a thigh-only race whose sled pull is all still
    frames (79–93 % of its frames on development seeds 200–229) had a station without evidence, and its
    boundaries drifted by up to 110 s. A forearm's posture at rest is the athlete's choice, not the
    station's: kept, it moved one development race's wall-ball start 1 s later and cost its wrist-only
    count a rep.

    Parameters
    ----------
    features : ndarray, shape (F, k·len(FEATURE_NAMES))
        Per-frame features of k sensors side by side.
    posture : sequence of bool, optional
        Per sensor, whether its posture is kept in frames still everywhere; default every sensor's.
    """
    n = len(FEATURE_NAMES)
    out = features.copy().reshape(features.shape[0], -1, n)
    energy = out[:, :, FEATURE_NAMES.index("energy")]
    with np.errstate(invalid="ignore"):
        still = energy < _STILL_ENERGY
    out[:, :, FEATURE_NAMES.index("cadence")][still] = np.nan
    out[:, :, FEATURE_NAMES.index("periodicity")][still] = np.nan
    everywhere = np.all(still | ~np.isfinite(energy), axis=1) & np.any(np.isfinite(energy), axis=1)
    held = out[everywhere]
    held[:, :, _MOVEMENT] = np.nan
    if posture is not None:
        held[:, ~np.asarray(posture, dtype=bool)] = np.nan
    out[everywhere] = held
    return out.reshape(features.shape)


def _train(
    features: FloatArray,
    states: RaceStates,
    cls: IntArray,
    floor: FloatArray,
    cap: IntArray,
    iterations: int,
    absent: Collection[int] = (),
) -> IntArray:
    path = np.full(features.shape[0], -1, dtype=np.int64)
    for _ in range(iterations):
        mean, var = fit_gaussians(features, cls, len(CLASSES), floor)
        loglik = gaussian_loglik(features, mean, var)
        loglik[:, list(absent)] = _ABSENT
        new_path = viterbi(states, loglik, cap)
        if np.array_equal(new_path, path):
            break
        path, cls = new_path, states.classes[new_path]
    return path


def look_alike_stations(features: FloatArray, classes: IntArray, floor: FloatArray) -> list[int]:
    """Classes of stations whose features are indistinguishable from the Roxzones' (a left-out station).

    The distance is the RMS over features of the difference of the class means in units of their pooled
    standard deviation; below 0.7 the "station" is a piece of Roxzone walking.

    Parameters
    ----------
    features : ndarray, shape (F, n)
        Per-frame features (stillness neutralised).
    classes : ndarray of int, shape (F,)
        Class of each frame from a decode.
    floor : ndarray, shape (n,)
        Variance floor per feature.
    """
    mean, var = fit_gaussians(features, classes, len(CLASSES), floor)
    rox = CLASSES.index(ROXZONE)
    out = []
    for label in STATIONS:
        c = CLASSES.index(label)
        z2 = (mean[c] - mean[rox]) ** 2 / (0.5 * (var[c] + var[rox]))
        if np.any(classes == c) and float(np.sqrt(np.mean(z2))) < _ABSENT_DISTANCE:
            out.append(c)
    return out


def roxzone_cap(path: IntArray, states: RaceStates) -> int:
    """Longest plausible Roxzone [frames]: 3 × the race's median Roxzone, at least 15 s.

    Roxzones of one race cross the same hall, so they take similar times; a "Roxzone" several times
    longer than the others has swallowed part of a station (a farmers carry looks like walking to a
    pelvis or thigh sensor).

    Parameters
    ----------
    path : ndarray of int
        A decoded state path.
    states : RaceStates
        The model it was decoded with.
    """
    rox = [int(np.sum(path == s)) for s, label in enumerate(states.labels) if label == ROXZONE]
    rox = [r for r in rox if r > 0]
    return max(int(_ROX_CAP_FACTOR * np.median(rox)) if rox else 0, int(_ROX_CAP_MIN_S / FRAME_S))


def decode_race(
    features: FloatArray,
    iterations: int = 6,
    *,
    detect_absent: bool = False,
    posture: Sequence[bool] | None = None,
) -> tuple[IntArray, tuple[str, ...], tuple[int, ...]]:
    """State path of the race.

    Parameters
    ----------
    features : ndarray, shape (F, k·len(FEATURE_NAMES))
        The features of k sensors side by side, one row per frame (NaN where a sensor has no data).
    iterations : int
        Maximum rounds of Viterbi training (per stage: without, then with the Roxzone cap).
    detect_absent : bool
        Look for left-out stations (:func:`look_alike_stations`) and decode again without them. Only
        reliable with a wrist sensor: to a pelvis or thigh sensor a sled pull can look like walking.
    posture : sequence of bool, optional
        Per sensor, whether its posture counts in frames where every sensor is still
        (:func:`neutralise_stillness`); default every sensor's.

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
    init = _initial_labels(features)
    features = neutralise_stillness(features, posture)
    path = _train(features, states, init, floor, free, iterations)
    cap = np.where(np.array(states.labels) == ROXZONE, roxzone_cap(path, states), 0)
    path = _train(features, states, states.classes[path], floor, cap, iterations)
    absent = look_alike_stations(features, states.classes[path], floor) if detect_absent else []
    if absent:
        path = _train(features, states, states.classes[path], floor, cap, iterations, absent)
    return path, states.labels, states.index
