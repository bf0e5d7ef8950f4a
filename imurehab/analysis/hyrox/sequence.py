"""The fixed race order as a left-to-right hidden Markov model, decoded by Viterbi.

A HYROX race is always: run 1, Roxzone, station 1, Roxzone, run 2, …, run 8, Roxzone, station 8. The
model has one state per phase of that sequence (plus "before" and "after" for recording outside the
race), each emitting the features of its *class* (run, Roxzone, one class per station, rest). A state
either stays or hands over to the next; states may be skipped at a cost (before/after for free, a
Roxzone cheaply, a station dearly), so a station left out or a missing Roxzone still decodes. States
may have a longest duration (Roxzones do, see :mod:`imurehab.analysis.hyrox.decode`). Decoding is exact
dynamic programming (Viterbi, semi-Markov for the capped states) over 1 s frames.

The emission model is a diagonal Gaussian per class whose parameters are re-estimated from the race
itself (Viterbi training): the classes are defined by the order, not by thresholds tuned to one body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.analysis.hyrox._viterbi_kernel import decode
from imurehab.types.hyrox import ROXZONE, RUN, STATIONS

__all__ = [
    "CLASSES",
    "ROXZONE",
    "RUN",
    "STATIONS",
    "RaceStates",
    "fit_gaussians",
    "gaussian_loglik",
    "race_states",
    "viterbi",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

REST = "rest"
CLASSES = (REST, RUN, ROXZONE, *STATIONS)
"""Emission classes: rest (outside the race), run, Roxzone and the eight stations."""

_STATION_SKIP = 60.0
_ROX_SKIP = 4.0
_ADVANCE = 3.0


@dataclass(frozen=True)
class RaceStates:
    """The states of the left-to-right model.

    Attributes
    ----------
    labels : tuple of str
        Phase label of each state (``"rest"`` for before/after the race).
    index : tuple of int
        Run or station number (1–8) of each state; 0 for before/after.
    classes : ndarray of int
        Emission class of each state (an index into the caller's class list).
    skip_cost : ndarray
        Cost (negative log-probability) of skipping the state; inf if it cannot be skipped.
    """

    labels: tuple[str, ...]
    index: tuple[int, ...]
    classes: IntArray
    skip_cost: FloatArray

    def transitions(self) -> FloatArray:
        """Log transition scores ``A[p, s]`` (−inf where not allowed): stay, advance, skip ahead."""
        n = len(self.labels)
        a = np.full((n, n), -np.inf)
        for p in range(n):
            a[p, p] = 0.0
            cost = _ADVANCE
            for s in range(p + 1, n):
                a[p, s] = -cost
                cost += self.skip_cost[s]
                if not np.isfinite(cost):
                    break
        return a


def race_states(classes: tuple[str, ...], *, merged: bool = False) -> RaceStates:
    """States of a full race over ``classes`` (which must contain the labels used).

    Parameters
    ----------
    classes : tuple of str
        Class names; each state's class is the index of its label here.
    merged : bool
        True: a coarse model with one "other" state (class ``"other"``) between consecutive runs and after
        the last, for locating the runs before the classes are known.
    """
    labels, index, skip = ["rest"], [0], [0.0]
    for k in range(1, 9):
        labels.append(RUN)
        index.append(k)
        skip.append(np.inf)
        if merged:
            labels.append("other")
            index.append(k)
            skip.append(np.inf)
            continue
        labels += [ROXZONE, STATIONS[k - 1]]
        index += [k, k]
        skip += [_ROX_SKIP, _STATION_SKIP]
        if k < 8:
            labels.append(ROXZONE)
            index.append(k)
            skip.append(_ROX_SKIP)
    labels.append("rest")
    index.append(0)
    skip.append(0.0)
    cls = np.array([classes.index(lab) for lab in labels], dtype=np.int64)
    return RaceStates(tuple(labels), tuple(index), cls, np.array(skip))


def viterbi(states: RaceStates, loglik: FloatArray, max_frames: npt.ArrayLike | None = None) -> IntArray:
    """Most likely state per frame.

    Parameters
    ----------
    states : RaceStates
        The model.
    loglik : ndarray, shape (F, C)
        Log-likelihood of each frame under each class.
    max_frames : array_like of int, shape (S,), optional
        Longest duration of each state [frames] (0: unbounded); default all unbounded. A capped state is
        decoded with its duration explicit (semi-Markov), exactly.

    Returns
    -------
    ndarray of int, shape (F,)
        State index per frame, non-decreasing.
    """
    emit = np.ascontiguousarray(loglik[:, states.classes], dtype=np.float64)
    n = emit.shape[1]
    cap = np.zeros(n, dtype=np.int64) if max_frames is None else np.asarray(max_frames, dtype=np.int64)
    skip_before = np.concatenate([[0.0], np.cumsum(states.skip_cost)[:-1]])
    skip_after = np.concatenate([np.cumsum(states.skip_cost[::-1])[::-1][1:], [0.0]])
    return decode(emit, states.transitions(), cap, -skip_before, -skip_after)


def fit_gaussians(
    features: FloatArray, labels: IntArray, n_classes: int, floor: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-class mean and variance of every feature (NaN-aware), with a variance floor.

    Parameters
    ----------
    features : ndarray, shape (F, n)
        Per-frame features (NaN: missing).
    labels : ndarray of int, shape (F,)
        Class of each frame.
    n_classes : int
        Number of classes.
    floor : ndarray, shape (n,)
        Added to every variance [feature units²], so a class seen only briefly cannot become
        overconfident.

    Returns
    -------
    mean, var : ndarray, shape (n_classes, n)
        Classes without frames get the mean and variance of all frames.
    """
    n_feat = features.shape[1]
    mean = np.empty((n_classes, n_feat))
    var = np.empty((n_classes, n_feat))
    all_mean = np.nanmean(features, axis=0)
    all_var = np.nanvar(features, axis=0)
    for c in range(n_classes):
        rows = features[labels == c]
        have = np.sum(np.isfinite(rows), axis=0)
        with np.errstate(invalid="ignore"):
            m = np.where(have > 1, np.nansum(rows, axis=0) / np.maximum(have, 1), all_mean)
            v = np.where(have > 1, np.nansum((rows - m) ** 2, axis=0) / np.maximum(have - 1, 1), all_var)
        mean[c], var[c] = m, v + floor
    return np.nan_to_num(mean), np.nan_to_num(var, nan=1.0)


def gaussian_loglik(features: FloatArray, mean: FloatArray, var: FloatArray) -> FloatArray:
    """Log-likelihood (F, C) of each frame under each diagonal Gaussian; NaN features are left out.

    Parameters
    ----------
    features : ndarray, shape (F, n)
        Per-frame features.
    mean, var : ndarray, shape (C, n)
        Per-class means and variances (:func:`fit_gaussians`).
    """
    x = features[:, None, :]
    ll = -0.5 * ((x - mean[None]) ** 2 / var[None] + np.log(2 * np.pi * var[None]))
    return np.where(np.isfinite(ll), ll, 0.0).sum(axis=2)
