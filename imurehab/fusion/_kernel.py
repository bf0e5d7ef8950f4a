"""Compiled core of the error-state Kalman filter and its Rauch–Tung–Striebel smoother.

Private: :mod:`imurehab.fusion.eskf` prepares inputs and documents the model. Everything here works
on plain float64 arrays so numba compiles it once (``cache=True`` keeps the machine code on disk
beside this file, so later processes skip compilation).

Why numba rather than a C extension: the package is built with hatchling, which builds no C code, and a
second build backend (with a compiler on every user's machine) would be a large cost for one loop.
numba compiles the same Python source to machine code at first use, needs no compiler, and its
wheels exist for every platform the project supports.

State (nominal): orientation ``q`` (w, x, y, z, sensor → ENU), gyroscope bias ``b`` [rad/s] and per-axis
scale-factor error ``s`` (``ω = (ω_measured − b)(1 − s)``). Error state (``NX`` = 9): attitude error ``δθ``
in the earth frame (``q_true = exp(δθ) ⊗ q``, δθ a rotation vector), bias error and scale error. The
nominal state is integrated at the full sample rate; the covariance is propagated and the measurements
are applied once per block of samples (about 25 Hz).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imurehab.fusion._kernel_math import (
    NX,
    _inv,
    _mag_heading_error,
    _qexp,
    _qmul,
    _qnormalize,
    _rotmat,
    _symmetrize,
    _tilt_quat,
    _update,
)

# Parameter vector layout (filled by eskf._param_vector).
P_GYR_NOISE = 0
P_BIAS_WALK = 1
P_BIAS_INIT = 2
P_ACC_MOTION = 3
P_ACC_REST = 4
P_MAG_HEADING = 5
P_TILT_INIT = 6
P_HEADING_INIT = 7
P_GAP_RATE = 8
P_SAT_RATE = 9
P_MAX_GAP = 10
P_REST_GYR = 11
P_REST_ACC = 12
P_REST_TIME = 13
P_REST_TAU = 14
P_MAG_NORM_TOL = 15
P_MAG_DIP_TOL = 16
P_MAG_REF_TAU = 17
P_GATE = 18
P_GRAVITY = 19
P_DT_NOMINAL = 20
P_GYR_SCALE = 21
P_ACC_CORR = 22
P_ACC_TAU = 23
P_ACC_LP = 24
P_SCALE_INIT = 25
P_SCALE_WALK = 26
N_PARAMS = 27


# Layout of the per-block accumulator vector.
A_C = 0  # 9: Σ R dt over the block (3×3, row major): the attitude error's sensitivity to bias error
A_QTH = 9  # attitude process-noise variance accumulated over the block [rad²]
A_T = 10  # block duration [s]
A_ACC = 11  # 3: Σ earth-frame specific force of usable samples
A_NACC = 14
A_MAG = 15  # 3: Σ earth-frame magnetic field of usable samples
A_NMAG = 18
A_MNORM = 19  # Σ |m|
A_GYR = 20  # 3: Σ gyroscope reading (for the bias at rest)
A_NREST = 23  # samples of the block at rest
A_N = 24  # samples in the block
A_LA2 = 25  # recent mean squared deviation of the low-passed specific force from gravity [(m/s²)²]
A_CS = 26  # 9: Σ R diag(ω) dt: the attitude error's sensitivity to scale-factor error
A_LP = 35  # 3: earth-frame specific force, low-pass filtered (carried over between blocks)
N_ACC = 38


@njit(cache=True, nogil=True)
def _finish_block(k, st, p, ac, mref, learn_ref, use_mag, prm, smooth, gain, q_filt, b_filt, q_pred, r):
    """Covariance prediction over the block, then the block's measurement updates. Returns mag rejected."""
    # Prediction: Φ = [[I, −C], [0, I]]; Q = diag(qθ I, qb I).
    phi = np.eye(NX)
    for a in range(3):
        for c in range(3):
            phi[a, 3 + c] = -ac[A_C + 3 * a + c]
            phi[a, 6 + c] = -ac[A_CS + 3 * a + c]
    tmp = np.zeros((NX, NX))
    for a in range(NX):
        for c in range(NX):
            s = 0.0
            for j in range(NX):
                s += phi[a, j] * p[j, c]
            tmp[a, c] = s
    p_prev = p.copy() if smooth else p
    pp = np.zeros((NX, NX))
    for a in range(NX):
        for c in range(NX):
            s = 0.0
            for j in range(NX):
                s += tmp[a, j] * phi[c, j]
            pp[a, c] = s
    qb = prm[P_BIAS_WALK] ** 2 * ac[A_T]
    qs = prm[P_SCALE_WALK] ** 2 * ac[A_T]
    for a in range(3):
        pp[a, a] += ac[A_QTH]
        pp[3 + a, 3 + a] += qb
        pp[6 + a, 6 + a] += qs
    _symmetrize(pp)
    if smooth:
        # RTS gain G = P_k Φᵀ (P⁻_{k+1})⁻¹
        inv = np.empty((NX, NX))
        _inv(pp, inv)
        for a in range(NX):
            for c in range(NX):
                s = 0.0
                for j in range(NX):
                    s += p_prev[a, j] * phi[c, j]
                tmp[a, c] = s
        for a in range(NX):
            for c in range(NX):
                s = 0.0
                for j in range(NX):
                    s += tmp[a, j] * inv[j, c]
                gain[k - 1, a, c] = s
    p[:, :] = pp
    for j in range(4):
        q_pred[k, j] = st[j]

    x = np.zeros(NX)
    h = np.zeros((3, NX))
    resid = np.zeros(3)
    rvar = np.zeros(3)
    gate = prm[P_GATE]
    t_blk = max(ac[A_T], 1e-6)
    at_rest = ac[A_NREST] >= ac[A_N] and ac[A_N] > 0
    # Accelerometer: the block-mean earth-frame specific force should point up (x, y components zero).
    if ac[A_NACC] > 0:
        if at_rest:
            ax = ac[A_ACC] / ac[A_NACC]
            ay = ac[A_ACC + 1] / ac[A_NACC]
            az = ac[A_ACC + 2] / ac[A_NACC]
            var = prm[P_ACC_REST] ** 2 / t_blk
        else:
            ax, ay, az = ac[A_LP], ac[A_LP + 1], ac[A_LP + 2]
            var = (prm[P_ACC_MOTION] ** 2 + 2.0 * prm[P_ACC_LP] * ac[A_LA2]) / t_blk
        h[:, :] = 0.0
        h[0, 1] = -az
        h[1, 0] = az
        resid[0] = ax
        resid[1] = ay
        rvar[0] = var
        rvar[1] = var
        _update(p, x, h, resid, rvar, 2, gate)
    # Gyroscope at rest: the mean reading is the bias.
    if at_rest:
        h[:, :] = 0.0
        var = prm[P_GYR_NOISE] ** 2 / t_blk
        for a in range(3):
            h[a, 3 + a] = 1.0
            resid[a] = ac[A_GYR + a] / ac[A_N] - st[4 + a]
            rvar[a] = var
        _update(p, x, h, resid, rvar, 3, gate)
    # Magnetometer: heading only, so a disturbed field can never tilt the estimate.
    rejected = False
    if use_mag and ac[A_NMAG] > 0:
        mx = ac[A_MAG] / ac[A_NMAG]
        my = ac[A_MAG + 1] / ac[A_NMAG]
        mz = ac[A_MAG + 2] / ac[A_NMAG]
        horiz = math.sqrt(mx * mx + my * my)
        norm = ac[A_MNORM] / ac[A_NMAG]
        dip = math.atan2(-mz, horiz)
        if mref[2] == 0.0:
            mref[0] = norm
            mref[1] = dip
            mref[2] = 1.0
        rejected = (
            abs(norm - mref[0]) > prm[P_MAG_NORM_TOL] * mref[0] or abs(dip - mref[1]) > prm[P_MAG_DIP_TOL]
        )
        if not rejected and horiz > 1e-3:
            if learn_ref:
                f = min(1.0, t_blk / prm[P_MAG_REF_TAU])
                mref[0] += f * (norm - mref[0])
                mref[1] += f * (dip - mref[1])
            h[:, :] = 0.0
            h[0, 2] = 1.0
            resid[0] = math.atan2(mx, my)
            rvar[0] = prm[P_MAG_HEADING] ** 2 / t_blk
            _update(p, x, h, resid, rvar, 1, gate)
    # Inject the error state into the nominal state.
    dw, dx, dy, dz = _qexp(x[0], x[1], x[2])
    qw, qx, qy, qz = _qmul(dw, dx, dy, dz, st[0], st[1], st[2], st[3])
    qw, qx, qy, qz = _qnormalize(qw, qx, qy, qz)
    if qw < 0.0 and q_pred[k, 0] * qw + q_pred[k, 1] * qx + q_pred[k, 2] * qy + q_pred[k, 3] * qz < 0.0:
        qw, qx, qy, qz = -qw, -qx, -qy, -qz
    st[0], st[1], st[2], st[3] = qw, qx, qy, qz
    for a in range(6):
        st[4 + a] += x[3 + a]
    # The low-passed specific force is kept in the estimated earth frame: turn it with the correction.
    _rotmat(dw, dx, dy, dz, r)
    lx, ly, lz = ac[A_LP], ac[A_LP + 1], ac[A_LP + 2]
    for a in range(3):
        ac[A_LP + a] = r[a, 0] * lx + r[a, 1] * ly + r[a, 2] * lz
    _symmetrize(p)
    # 6D heading is never observed: keep its variance bounded over arbitrarily long recordings.
    if p[2, 2] > 10.0:
        f = math.sqrt(10.0 / p[2, 2])
        for a in range(NX):
            p[2, a] *= f
            p[a, 2] *= f
    for j in range(4):
        q_filt[k, j] = st[j]
    for j in range(6):
        b_filt[k, j] = st[4 + j]
    ac[:A_LA2] = 0.0
    ac[A_CS:A_LP] = 0.0
    return rejected


@njit(cache=True, nogil=True)
def _initial_state(acc, mag, acc_ok, mag_ok, i0, n_init, use_mag, heading, st, r):
    """Orientation from the mean specific force (and field) of samples i0..i0+n_init; heading kept in 6D."""
    sx = sy = sz = 0.0
    mx = my = mz = 0.0
    na = 0
    nm = 0
    for i in range(i0, min(i0 + n_init, acc.shape[0])):
        if acc_ok[i]:
            sx += acc[i, 0]
            sy += acc[i, 1]
            sz += acc[i, 2]
            na += 1
        if use_mag and mag_ok[i]:
            mx += mag[i, 0]
            my += mag[i, 1]
            mz += mag[i, 2]
            nm += 1
    if na == 0:
        sx, sy, sz = acc[i0, 0], acc[i0, 1], acc[i0, 2]
    qw, qx, qy, qz = _tilt_quat(sx, sy, sz, heading)
    if use_mag and nm > 0:
        err, horiz = _mag_heading_error(qw, qx, qy, qz, mx, my, mz, r)
        if horiz > 1e-6:
            qw, qx, qy, qz = _qmul(math.cos(0.5 * err), 0.0, 0.0, math.sin(0.5 * err), qw, qx, qy, qz)
    st[0], st[1], st[2], st[3] = qw, qx, qy, qz


@njit(cache=True, nogil=True)
def _reset_cov(p, prm, keep_bias):
    """Initial attitude uncertainty; the bias block is kept on a re-initialisation after a gap."""
    for a in range(NX):
        for c in range(NX):
            if not (keep_bias and a >= 3 and c >= 3):
                p[a, c] = 0.0
    p[0, 0] = p[1, 1] = prm[P_TILT_INIT] ** 2
    p[2, 2] = prm[P_HEADING_INIT] ** 2
    if not keep_bias:
        for a in range(3):
            p[3 + a, 3 + a] = prm[P_BIAS_INIT] ** 2
            p[6 + a, 6 + a] = prm[P_SCALE_INIT] ** 2


@njit(cache=True, nogil=True)
def eskf_forward(
    gyr, acc, mag, dt, acc_ok, gyr_ok, mag_ok, use_mag, prm, block_n, mag_ref, smooth,
    q_out, bias_out, rest_out, magdist_out, gain, q_filt, b_filt, q_pred, blk_end, blk_reset,
):  # fmt: skip
    """Forward filter over all samples; returns the number of blocks (state 0 is the initial one).

    ``mag_ref`` = (norm [µT], dip [rad], known): a known reference is kept fixed, an unknown one is
    learnt from the first usable block on. ``dt[i]`` is the time from sample i−1 to i [s].
    """
    n = gyr.shape[0]
    r = np.empty((3, 3))
    st = np.zeros(10)
    p = np.zeros((NX, NX))
    ac = np.zeros(N_ACC)
    mref = mag_ref.copy()
    learn_ref = mref[2] == 0.0
    grav = prm[P_GRAVITY]
    rest_th_g2 = prm[P_REST_GYR] ** 2
    rest_th_a2 = prm[P_REST_ACC] ** 2
    _initial_state(acc, mag, acc_ok, mag_ok, 0, block_n, use_mag, 0.0, st, r)
    _reset_cov(p, prm, False)
    q_filt[0, :] = st[:4]
    b_filt[0, :] = st[4:]
    q_pred[0, :] = st[:4]
    blk_end[0] = 0
    blk_reset[0] = True
    k = 0
    glp = gyr[0].copy()
    alp = acc[0].copy()
    t_rest = 0.0
    ac[A_LP + 2] = grav
    q_out[0, :] = st[:4]
    bias_out[0, :] = st[4:7]
    rest_out[0] = False
    magdist_out[0] = False
    for i in range(1, n):
        if dt[i] > prm[P_MAX_GAP]:
            if ac[A_N] > 0:
                k += 1
                rej = _finish_block(
                    k, st, p, ac, mref, learn_ref, use_mag, prm, smooth, gain, q_filt, b_filt, q_pred, r
                )
                blk_end[k] = i - 1
                blk_reset[k] = False
                for j in range(blk_end[k - 1] + 1, i):
                    magdist_out[j] = rej
                q_out[i - 1, :] = st[:4]
            # Too long to bridge: start again from this sample (tilt from gravity, 6D heading kept).
            k += 1
            heading = 2.0 * math.atan2(st[3], st[0])
            _initial_state(acc, mag, acc_ok, mag_ok, i, block_n, use_mag, heading, st, r)
            _reset_cov(p, prm, True)
            ac[A_LP] = ac[A_LP + 1] = 0.0
            ac[A_LP + 2] = grav
            q_filt[k, :] = st[:4]
            b_filt[k, :] = st[4:]
            q_pred[k, :] = st[:4]
            if smooth:
                gain[k - 1, :, :] = 0.0
            blk_end[k] = i
            blk_reset[k] = True
            glp[:] = gyr[i]
            alp[:] = acc[i]
            t_rest = 0.0
            q_out[i, :] = st[:4]
            bias_out[i, :] = st[4:7]
            rest_out[i] = False
            magdist_out[i] = False
            continue
        h = dt[i]
        # Angular rate over (t[i-1], t[i]]: this sample's reading; across lost samples the mean of both ends.
        if h > 1.5 * prm[P_DT_NOMINAL]:
            wx = (0.5 * (gyr[i, 0] + gyr[i - 1, 0]) - st[4]) * (1.0 - st[7])
            wy = (0.5 * (gyr[i, 1] + gyr[i - 1, 1]) - st[5]) * (1.0 - st[8])
            wz = (0.5 * (gyr[i, 2] + gyr[i - 1, 2]) - st[6]) * (1.0 - st[9])
            ac[A_QTH] += (prm[P_GAP_RATE] * h) ** 2
        else:
            wx = (gyr[i, 0] - st[4]) * (1.0 - st[7])
            wy = (gyr[i, 1] - st[5]) * (1.0 - st[8])
            wz = (gyr[i, 2] - st[6]) * (1.0 - st[9])
        if not gyr_ok[i]:
            ac[A_QTH] += (prm[P_SAT_RATE] * h) ** 2
        dw, dx, dy, dz = _qexp(wx * h, wy * h, wz * h)
        qw, qx, qy, qz = _qmul(st[0], st[1], st[2], st[3], dw, dx, dy, dz)
        qw, qx, qy, qz = _qnormalize(qw, qx, qy, qz)
        st[0], st[1], st[2], st[3] = qw, qx, qy, qz
        _rotmat(qw, qx, qy, qz, r)
        for a in range(3):
            ac[A_C + 3 * a] += r[a, 0] * h
            ac[A_C + 3 * a + 1] += r[a, 1] * h
            ac[A_C + 3 * a + 2] += r[a, 2] * h
            ac[A_CS + 3 * a] += r[a, 0] * wx * h
            ac[A_CS + 3 * a + 1] += r[a, 1] * wy * h
            ac[A_CS + 3 * a + 2] += r[a, 2] * wz * h
        ac[A_QTH] += (prm[P_GYR_NOISE] ** 2 + prm[P_GYR_SCALE] ** 2 * (wx * wx + wy * wy + wz * wz)) * h
        ac[A_T] += h
        ac[A_N] += 1.0
        if acc_ok[i]:
            f = h / (prm[P_ACC_LP] + h)
            la2 = 0.0
            for a in range(3):
                ea = r[a, 0] * acc[i, 0] + r[a, 1] * acc[i, 1] + r[a, 2] * acc[i, 2]
                ac[A_ACC + a] += ea
                ac[A_LP + a] += f * (ea - ac[A_LP + a])
                la2 += (ac[A_LP + a] - grav) ** 2 if a == 2 else ac[A_LP + a] ** 2
            ac[A_NACC] += 1.0
            ac[A_LA2] += (la2 - ac[A_LA2]) * h / (prm[P_ACC_TAU] + h)
        if use_mag and mag_ok[i]:
            for a in range(3):
                ac[A_MAG + a] += r[a, 0] * mag[i, 0] + r[a, 1] * mag[i, 1] + r[a, 2] * mag[i, 2]
            ac[A_NMAG] += 1.0
            ac[A_MNORM] += math.sqrt(mag[i, 0] ** 2 + mag[i, 1] ** 2 + mag[i, 2] ** 2)
        # Rest: gyro and accelerometer stay close to their low-pass values, and the rate is near zero.
        f = h / (prm[P_REST_TAU] + h)
        dg2 = 0.0
        da2 = 0.0
        gl2 = 0.0
        for a in range(3):
            glp[a] += f * (gyr[i, a] - glp[a])
            alp[a] += f * (acc[i, a] - alp[a])
            dg2 += (gyr[i, a] - glp[a]) ** 2
            da2 += (acc[i, a] - alp[a]) ** 2
            gl2 += (glp[a] - st[4 + a]) ** 2
        if dg2 < rest_th_g2 and da2 < rest_th_a2 and gl2 < rest_th_g2 and acc_ok[i] and gyr_ok[i]:
            t_rest += h
        else:
            t_rest = 0.0
        at_rest = t_rest >= prm[P_REST_TIME]
        rest_out[i] = at_rest
        if at_rest:
            ac[A_NREST] += 1.0
            for a in range(3):
                ac[A_GYR + a] += gyr[i, a]
        q_out[i, :] = st[:4]
        bias_out[i, :] = st[4:7]
        if ac[A_N] >= block_n or i == n - 1:
            k += 1
            rej = _finish_block(
                k, st, p, ac, mref, learn_ref, use_mag, prm, smooth, gain, q_filt, b_filt, q_pred, r
            )
            blk_end[k] = i
            blk_reset[k] = False
            for j in range(blk_end[k - 1] + 1, i + 1):
                magdist_out[j] = rej
            q_out[i, :] = st[:4]
            bias_out[i, :] = st[4:7]
    return k
