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
    second = 2.0 * math.atan2(math.hypot(c, d), math.hypot(a, b))
    lock = False
    if abs(second) <= _GIMBAL_EPS:
        first, third, lock = -2.0 * half_sum, 0.0, True
    elif abs(second - math.pi) <= _GIMBAL_EPS:
        first, third, lock = -2.0 * half_diff, 0.0, True
    else:
        first, third = -(half_sum + half_diff), half_sum - half_diff
    second -= _HALF_PI
    two_pi = 2.0 * math.pi
    return (
        (first + math.pi) % two_pi - math.pi,
        (second + math.pi) % two_pi - math.pi,
        (third + math.pi) % two_pi - math.pi,
        lock,
    )


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
def slerp_rows(q_src, lo, hi, frac, out):
    """``out[n] = slerp(q_src[lo[n]], q_src[hi[n]], frac[n])`` along the shortest arc.

    The steps of :func:`imurehab.quaternion.quat_slerp`: relative rotation, canonical sign, logarithm,
    scaled, exponential, composed with the start.
    """
    for n in range(lo.shape[0]):
        i, j, t = lo[n], hi[n], frac[n]
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
        out[n, 0], out[n, 1], out[n, 2], out[n, 3] = qmul(
            pw, px, py, pz, math.cos(half), k * vx, k * vy, k * vz
        )
