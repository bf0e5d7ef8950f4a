"""Compiled Rauch–Tung–Striebel backward pass of the filter (Rauch, Tung, Striebel, AIAA J. 3(8), 1965).

Private to :mod:`imurehab.fusion`; the forward pass (:mod:`imurehab.fusion._kernel`) stores, per block, the
filtered and predicted nominal states and the smoother gain ``G = P Φᵀ (P⁻)⁻¹``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imurehab.fusion._kernel_math import NX, _qexp, _qmul, _qnormalize


@njit(cache=True, nogil=True)
def rts_smooth(q_out, bias_out, gain, q_filt, b_filt, q_pred, blk_end, blk_reset, n_blocks):
    """Rauch–Tung–Striebel backward pass over the blocks, then the correction of every sample.

    ``q_out`` holds the forward filter's nominal orientation (the post-update value at block ends); it
    is overwritten with the smoothed orientation, ``bias_out`` with the smoothed bias.
    """
    e = np.zeros(NX)  # smoothed correction at block k relative to its filtered state
    f = np.zeros(NX)  # ... relative to its predicted state
    for k in range(n_blocks, 0, -1):
        dw, dx, dy, dz = _qexp(e[0], e[1], e[2])
        sw, sx, sy, sz = _qmul(dw, dx, dy, dz, q_filt[k, 0], q_filt[k, 1], q_filt[k, 2], q_filt[k, 3])
        i0 = blk_end[k - 1]
        i1 = blk_end[k]
        if blk_reset[k]:
            for i in range(i0 + 1, i1):
                bias_out[i, :] = b_filt[k - 1, :3]
            q_out[i1, 0], q_out[i1, 1], q_out[i1, 2], q_out[i1, 3] = sw, sx, sy, sz
            for a in range(3):
                bias_out[i1, a] = b_filt[k, a] + e[3 + a]
            e[:] = 0.0
            continue
        # f = x_s ⊖ x_pred: attitude as a rotation vector in the earth frame
        pw, px, py, pz = q_pred[k, 0], q_pred[k, 1], q_pred[k, 2], q_pred[k, 3]
        rw, rx, ry, rz = _qmul(sw, sx, sy, sz, pw, -px, -py, -pz)
        if rw < 0.0:
            rw, rx, ry, rz = -rw, -rx, -ry, -rz
        vn = math.sqrt(rx * rx + ry * ry + rz * rz)
        ang = 2.0 * math.atan2(vn, rw)
        sc = ang / vn if vn > 1e-12 else 2.0
        f[0], f[1], f[2] = sc * rx, sc * ry, sc * rz
        for a in range(6):
            f[3 + a] = b_filt[k, a] + e[3 + a] - b_filt[k - 1, a]
        for a in range(NX):
            s = 0.0
            for c in range(NX):
                s += gain[k - 1, a, c] * f[c]
            e[a] = s
        span = float(i1 - i0)
        for i in range(i0 + 1, i1 + 1):
            t = (i - i0) / span
            vx = (1.0 - t) * e[0] + t * f[0]
            vy = (1.0 - t) * e[1] + t * f[1]
            vz = (1.0 - t) * e[2] + t * f[2]
            if i == i1:
                nw, nx, ny, nz = pw, px, py, pz
            else:
                nw, nx, ny, nz = q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3]
            dw, dx, dy, dz = _qexp(vx, vy, vz)
            qw, qx, qy, qz = _qmul(dw, dx, dy, dz, nw, nx, ny, nz)
            q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = _qnormalize(qw, qx, qy, qz)
            for a in range(3):
                bias_out[i, a] = b_filt[k - 1, a] + (1.0 - t) * e[3 + a] + t * f[3 + a]
    dw, dx, dy, dz = _qexp(e[0], e[1], e[2])
    qw, qx, qy, qz = _qmul(dw, dx, dy, dz, q_filt[0, 0], q_filt[0, 1], q_filt[0, 2], q_filt[0, 3])
    q_out[0, 0], q_out[0, 1], q_out[0, 2], q_out[0, 3] = _qnormalize(qw, qx, qy, qz)
    for a in range(3):
        bias_out[0, a] = b_filt[0, a] + e[3 + a]
