"""Compiled Viterbi decoding of a left-to-right model whose states may have a maximum duration.

Private to :mod:`imurehab.analysis.hyrox.sequence`. A "free" state (``cap[s] == 0``) stays any number of
frames (self-transition score 0); a "capped" state lasts 1 … ``cap[s]`` frames and is tracked per
duration (an explicit-duration, semi-Markov state). Exact dynamic programming, O(frames · states² +
frames · Σ cap); compiled with ``nogil=True`` and ``cache=True``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_NEG = -1e300


@njit(cache=True, nogil=True)
def decode(emit, trans, cap, init, final):  # pragma: no cover - compiled; tested through viterbi()
    """Most likely state per frame.

    Parameters
    ----------
    emit : (F, S) float64
        Log-likelihood of each frame in each state.
    trans : (S, S) float64
        Log score of handing over from state p to a later state s (−inf where not allowed; the diagonal
        is ignored: staying is free).
    cap : (S,) int64
        Maximum duration of each state [frames]; 0 = unbounded.
    init, final : (S,) float64
        Log score of starting in / ending in each state.

    Returns
    -------
    (F,) int64
        State index per frame.
    """
    n_frames, n = emit.shape
    width = max(1, cap.max()) + 1
    free = np.full(n, _NEG)
    val = np.full((n, width), _NEG)
    pred_s = np.full((n_frames, n), -1, dtype=np.int64)
    pred_d = np.zeros((n_frames, n), dtype=np.int64)
    for s in range(n):
        if cap[s] > 0:
            val[s, 1] = init[s] + emit[0, s]
        else:
            free[s] = init[s] + emit[0, s]
        pred_s[0, s] = -2
    ex = np.empty(n)
    exd = np.zeros(n, dtype=np.int64)
    new_free = np.empty(n)
    new_val = np.full((n, width), _NEG)
    for t in range(1, n_frames):
        for p in range(n):
            if cap[p] > 0:
                best, bd = _NEG, 1
                for d in range(1, cap[p] + 1):
                    if val[p, d] > best:
                        best, bd = val[p, d], d
                ex[p], exd[p] = best, bd
            else:
                ex[p], exd[p] = free[p], 0
        for s in range(n):
            best, bp = _NEG, -1
            for p in range(s):
                v = ex[p] + trans[p, s]
                if v > best:
                    best, bp = v, p
            e = emit[t, s]
            if cap[s] > 0:
                new_val[s, 1] = best + e
                for d in range(2, cap[s] + 1):
                    new_val[s, d] = val[s, d - 1] + e
                pred_s[t, s] = bp
                pred_d[t, s] = exd[bp] if bp >= 0 else 0
            elif free[s] >= best:
                new_free[s] = free[s] + e
                pred_s[t, s] = -1
            else:
                new_free[s] = best + e
                pred_s[t, s] = bp
                pred_d[t, s] = exd[bp]
        free, new_free = new_free, free
        val, new_val = new_val, val
    best, s, d = _NEG, 0, 0
    for p in range(n):
        if cap[p] > 0:
            for k in range(1, cap[p] + 1):
                if val[p, k] + final[p] > best:
                    best, s, d = val[p, k] + final[p], p, k
        elif free[p] + final[p] > best:
            best, s, d = free[p] + final[p], p, 0
    path = np.empty(n_frames, dtype=np.int64)
    for t in range(n_frames - 1, -1, -1):
        path[t] = s
        if t == 0:
            break
        if cap[s] > 0:
            if d > 1:
                d -= 1
            else:
                s, d = pred_s[t, s], pred_d[t, s]
        elif pred_s[t, s] >= 0:
            s, d = pred_s[t, s], pred_d[t, s]
    return path
