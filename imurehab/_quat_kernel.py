"""Compiled loops over quaternion arrays, for the long full-session passes.

Private to :mod:`imurehab.quaternion` and :mod:`imurehab.body`. Each loop does per sample what a chain of
vectorised calls in :mod:`imurehab.quaternion` does, with the same operations in the same order, but in
one pass without full-length temporaries (a one-hour session has 720 000 samples per sensor). The
functions are compiled with ``nogil=True`` so they can run beside other threads, and ``cache=True`` so
the machine code is kept on disk and later processes skip compilation.

Quaternions are Hamilton, scalar first (w, x, y, z), passed as four scalars so numba keeps them in
registers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_HALF_PI = 0.5 * math.pi
_GIMBAL_EPS = 1e-7  # second Cardan angle this close to its limits [rad]: first and third are one


@njit(cache=True, nogil=True, inline="always")
def qmul(aw, ax, ay, az, bw, bx, by, bz):
    """Hamilton product ``a ⊗ b`` (same expression order as :func:`imurehab.quaternion.quat_multiply`)."""
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


@njit(cache=True, nogil=True, inline="always")
def sinc_pi(theta):
    """``sin(θ)/θ`` computed as :func:`numpy.sinc` ``(θ/π)`` does (1 at 0)."""
    x = theta / math.pi
    y = math.pi * (x if x != 0.0 else 1.0e-20)
    return math.sin(y) / y


@njit(cache=True, nogil=True, inline="always")
def cardan_zxy(w, x, y, z):
    """Intrinsic Z-X-Y Cardan angles [rad] of a rotation, each in [-π, π).

    The half-angle method of Bernardes & Viollet (PLoS ONE 17(11), 2022) for the sequence Z-X-Y, which
    needs no normalisation and stays accurate near the second angle's limits. At gimbal lock (second
    angle within 1e-7 rad of ±π/2) the third angle is set to zero. Returns the three angles and whether
    the rotation was at gimbal lock.
    """
    a = w - x
    b = y - z
    c = x + w
    d = -z - y
    half_sum = math.atan2(b, a)
    half_diff = math.atan2(d, c)
    # (no overflow to guard against in unit-sized quaternions, so no need for the slower math.hypot)
    second = 2.0 * math.atan2(math.sqrt(c * c + d * d), math.sqrt(a * a + b * b))
    lock = False
    if abs(second) <= _GIMBAL_EPS:
        first, third, lock = -2.0 * half_sum, 0.0, True
    elif abs(second - math.pi) <= _GIMBAL_EPS:
        first, third, lock = -2.0 * half_diff, 0.0, True
    else:
        first, third = -(half_sum + half_diff), half_sum - half_diff
    second -= _HALF_PI
    return _wrap_pi(first), _wrap_pi(second), _wrap_pi(third), lock


@njit(cache=True, nogil=True, inline="always")
def _wrap_pi(angle):
    """``(angle + π) % 2π − π`` for ``angle`` in [−3π, 3π), without the slower floating-point modulo.

    Bit for bit the same: below 0 the modulo is one addition of 2π, and from 2π on one subtraction,
    which is exact there (Sterbenz).
    """
    shifted = angle + math.pi
    two_pi = 2.0 * math.pi
    if shifted < 0.0:
        shifted += two_pi
    elif shifted >= two_pi:
        shifted -= two_pi
    return shifted - math.pi


@njit(cache=True, nogil=True)
def relative_cardan_zxy_deg(q_parent, q_child, out):
    """Z-X-Y Cardan angles [deg] of ``q_parent* ⊗ q_child`` per row into ``out`` (N, 3).

    Returns how many rows were at gimbal lock.
    """
    deg = 180.0 / math.pi
    locked = 0
    for n in range(q_parent.shape[0]):
        rw, rx, ry, rz = qmul(
            q_parent[n, 0],
            -q_parent[n, 1],
            -q_parent[n, 2],
            -q_parent[n, 3],
            q_child[n, 0],
            q_child[n, 1],
            q_child[n, 2],
            q_child[n, 3],
        )
        a0, a1, a2, lock = cardan_zxy(rw, rx, ry, rz)
        out[n, 0], out[n, 1], out[n, 2] = a0 * deg, a1 * deg, a2 * deg
        locked += lock
    return locked


@njit(cache=True, nogil=True)
def interp_rows(t_src, q_src, t_dst, out):
    """``out[n]``: slerp between the samples of ``q_src`` around ``t_dst[n]`` (held beyond the ends).

    As :func:`imurehab.quaternion.quat_interp`: the neighbours are ``hi``, the first sample after
    ``t_dst[n]`` (``searchsorted(..., side="right")`` kept within 1..N−1), and ``hi − 1``; the fraction is
    clipped to [0, 1]. Times in increasing order are found by walking on from the previous one, others by
    bisection.
    """
    last = t_src.shape[0] - 1
    pos = 0
    for n in range(t_dst.shape[0]):
        t = t_dst[n]
        if n == 0 or t < t_dst[n - 1]:
            pos = np.searchsorted(t_src, t, side="right")
        else:
            while pos <= last and t_src[pos] <= t:
                pos += 1
        hi = min(max(pos, 1), last)
        lo = hi - 1
        span = np.float64(t_src[hi] - t_src[lo])
        frac = np.float64(t - t_src[lo]) / (span if span > 0.0 else 1.0)
        _slerp_into(q_src, lo, hi, min(max(frac, 0.0), 1.0), out, n)


@njit(cache=True, nogil=True, inline="always")
def _slerp_into(q_src, i, j, t, out, n):
    """``out[n] = slerp(q_src[i], q_src[j], t)`` along the shortest arc.

    The steps of :func:`imurehab.quaternion.quat_slerp`: relative rotation, canonical sign, logarithm,
    scaled, exponential, composed with the start.
    """
    pw, px, py, pz = q_src[i, 0], q_src[i, 1], q_src[i, 2], q_src[i, 3]
    dw, dx, dy, dz = qmul(pw, -px, -py, -pz, q_src[j, 0], q_src[j, 1], q_src[j, 2], q_src[j, 3])
    if dw < 0.0:
        dw, dx, dy, dz = -dw, -dx, -dy, -dz
    w = min(max(dw, -1.0), 1.0)
    s = math.sqrt(dx * dx + dy * dy + dz * dz)
    theta = math.atan2(s, w)
    if s > 1e-12:
        scale = theta / s
    else:
        scale = 1.0 / (w if w != 0.0 else 1.0)
    vx, vy, vz = t * (scale * dx), t * (scale * dy), t * (scale * dz)
    half = math.sqrt(vx * vx + vy * vy + vz * vz)
    k = sinc_pi(half)
    out[n, 0], out[n, 1], out[n, 2], out[n, 3] = qmul(pw, px, py, pz, math.cos(half), k * vx, k * vy, k * vz)
