"""Small compiled helpers of the filter kernel: scalar quaternion algebra, a Kalman update, an inverse.

Private to :mod:`imurehab.fusion`. Quaternions are passed as four scalars (w, x, y, z) so numba keeps them in
registers; matrices are float64 arrays of size ``NX`` (the error-state dimension).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NX = 9  # error state: attitude (3), gyroscope bias (3), gyroscope scale factor (3)


@njit(cache=True, nogil=True, inline="always")
def _rotmat(w, x, y, z, r):
    r[0, 0] = 1 - 2 * (y * y + z * z)
    r[0, 1] = 2 * (x * y - w * z)
    r[0, 2] = 2 * (x * z + w * y)
    r[1, 0] = 2 * (x * y + w * z)
    r[1, 1] = 1 - 2 * (x * x + z * z)
    r[1, 2] = 2 * (y * z - w * x)
    r[2, 0] = 2 * (x * z - w * y)
    r[2, 1] = 2 * (y * z + w * x)
    r[2, 2] = 1 - 2 * (x * x + y * y)


@njit(cache=True, nogil=True, inline="always")
def _qmul(aw, ax, ay, az, bw, bx, by, bz):
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


@njit(cache=True, nogil=True, inline="always")
def _qexp(vx, vy, vz):
    """Unit quaternion of the rotation vector (vx, vy, vz) [rad]."""
    ang = math.sqrt(vx * vx + vy * vy + vz * vz)
    if ang < 1e-12:
        return 1.0, 0.5 * vx, 0.5 * vy, 0.5 * vz
    s = math.sin(0.5 * ang) / ang
    return math.cos(0.5 * ang), s * vx, s * vy, s * vz


@njit(cache=True, nogil=True, inline="always")
def _qnormalize(w, x, y, z):
    n = math.sqrt(w * w + x * x + y * y + z * z)
    return w / n, x / n, y / n, z / n


@njit(cache=True, nogil=True)
def _tilt_quat(ax, ay, az, heading):
    """Orientation whose z axis maps to the measured 'up' ``a``, then turned by ``heading`` about up."""
    n = math.sqrt(ax * ax + ay * ay + az * az)
    if n < 1e-9:
        ax, ay, az, n = 0.0, 0.0, 1.0, 1.0
    ax, ay, az = ax / n, ay / n, az / n
    # shortest rotation taking a (sensor) onto e_z (earth): axis a × e_z, angle acos(a_z)
    w, x, y = 1.0 + az, ay, -ax
    if w < 1e-9:  # upside down: 180° about x
        w, x, y = 0.0, 1.0, 0.0
    qw, qx, qy, qz = _qnormalize(w, x, y, 0.0)
    return _qmul(math.cos(0.5 * heading), 0.0, 0.0, math.sin(0.5 * heading), qw, qx, qy, qz)


@njit(cache=True, nogil=True)
def _mag_heading_error(qw, qx, qy, qz, mx, my, mz, r):
    """Azimuth [rad] of the earth-frame horizontal field east of the +y (north) axis."""
    _rotmat(qw, qx, qy, qz, r)
    ex = r[0, 0] * mx + r[0, 1] * my + r[0, 2] * mz
    ey = r[1, 0] * mx + r[1, 1] * my + r[1, 2] * mz
    return math.atan2(ex, ey), math.sqrt(ex * ex + ey * ey)


@njit(cache=True, nogil=True)
def _update(p, x, h, resid, rvar, m, gate):
    """Kalman update of error state ``x`` (6) and covariance ``p`` with ``m`` rows of ``h``.

    The rows are uncorrelated with variances ``rvar``; they are applied one after another (exact for
    uncorrelated noise, and needs no matrix inverse). A row whose normalised innovation exceeds
    ``gate`` has its variance inflated so that it lands on the gate (a soft, Huber-like rejection).
    """
    ph = np.empty(NX)
    for row in range(m):
        s = rvar[row]
        for a in range(NX):
            acc = 0.0
            for c in range(NX):
                acc += p[a, c] * h[row, c]
            ph[a] = acc
        hph = 0.0
        innov = resid[row]
        for a in range(NX):
            hph += h[row, a] * ph[a]
            innov -= h[row, a] * x[a]
        s += hph
        d2 = innov * innov / s
        if d2 > gate:
            s = innov * innov / gate
        for a in range(NX):
            x[a] += ph[a] * innov / s
        for a in range(NX):
            for c in range(NX):
                p[a, c] -= ph[a] * ph[c] / s


@njit(cache=True, nogil=True)
def _symmetrize(p):
    for a in range(NX):
        for c in range(a + 1, NX):
            v = 0.5 * (p[a, c] + p[c, a])
            p[a, c] = v
            p[c, a] = v


@njit(cache=True, nogil=True)
def _inv(a, out):
    """Inverse of a symmetric positive-definite NX×NX matrix (Gauss–Jordan with partial pivoting)."""
    m = np.empty((NX, 2 * NX))
    for i in range(NX):
        for j in range(NX):
            m[i, j] = a[i, j]
            m[i, NX + j] = 1.0 if i == j else 0.0
    for col in range(NX):
        piv = col
        for r in range(col + 1, NX):
            if abs(m[r, col]) > abs(m[piv, col]):
                piv = r
        if piv != col:
            for j in range(2 * NX):
                m[col, j], m[piv, j] = m[piv, j], m[col, j]
        d = m[col, col]
        if abs(d) < 1e-300:
            d = 1e-300
        for j in range(2 * NX):
            m[col, j] /= d
        for r in range(NX):
            if r != col:
                f = m[r, col]
                if f != 0.0:
                    for j in range(2 * NX):
                        m[r, j] -= f * m[col, j]
    for i in range(NX):
        for j in range(NX):
            out[i, j] = m[i, NX + j]
