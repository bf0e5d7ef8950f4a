"""Compiled per-sample loops of the hinge-joint angle computation (heading alignment and Cardan angles).

Private to :mod:`imurehab.body`. Each loop does in one pass what a chain of vectorised calls does in
:func:`imurehab.body.calibration.heading_offset` and :func:`imurehab.body.angles._angles_for`, with the
same operations in the same order, so a one-hour session needs no full-length temporaries. Compiled with
``nogil=True`` (they may run beside other threads) and ``cache=True`` (machine code kept on disk).
"""

from __future__ import annotations

import math

from numba import njit

from imurehab._quat_kernel import cardan_zxy, qmul, sinc_pi


@njit(cache=True, nogil=True, inline="always")
def _rotate_xy(w, x, y, z, vx, vy, vz):
    """Horizontal (x, y) part of ``q ⊗ (0, v) ⊗ q*`` (Rodrigues form, as :func:`quat_rotate`)."""
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    return vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz)


@njit(cache=True, nogil=True)
def axis_agreement(q_parent, q_child, axis_parent, axis_child, cross, dot):
    """Per sample, the z cross product and the dot product of the horizontal hinge axis in the earth frame.

    Seen from the parent (``q_parent`` applied to ``axis_parent``) and from the child, into ``cross`` and
    ``dot`` (N,).
    """
    px, py, pz = axis_parent[0], axis_parent[1], axis_parent[2]
    cx, cy, cz = axis_child[0], axis_child[1], axis_child[2]
    for n in range(q_parent.shape[0]):
        a0, a1 = _rotate_xy(q_parent[n, 0], q_parent[n, 1], q_parent[n, 2], q_parent[n, 3], px, py, pz)
        b0, b1 = _rotate_xy(q_child[n, 0], q_child[n, 1], q_child[n, 2], q_child[n, 3], cx, cy, cz)
        cross[n] = a0 * b1 - a1 * b0
        dot[n] = a0 * b0 + a1 * b1


@njit(cache=True, nogil=True)
def hinge_cardan_deg(q_parent, q_child, delta, frame_parent, frame_child, flexion_sign, q_aligned, out):
    """Hinge angles [deg] and the heading-aligned parent orientation, per sample.

    ``q_aligned[n] = H(delta[n]) ⊗ q_parent[n]`` (``H`` turns about earth-up) and ``out[n]`` the Z-X-Y
    Cardan angles of ``(q_aligned[n] ⊗ frame_parent)* ⊗ (q_child[n] ⊗ frame_child)``, the first one
    multiplied by ``flexion_sign``. Returns how many samples were at gimbal lock.
    """
    deg = 180.0 / math.pi
    fpw, fpx, fpy, fpz = frame_parent[0], frame_parent[1], frame_parent[2], frame_parent[3]
    fcw, fcx, fcy, fcz = frame_child[0], frame_child[1], frame_child[2], frame_child[3]
    locked = 0
    for n in range(q_parent.shape[0]):
        # quat_from_axis_angle((0, 0, 1), delta) = quat_exp((0, 0, delta / 2))
        h = 0.5 * delta[n]
        half = math.sqrt(h * h)
        tw, tz = math.cos(half), sinc_pi(half) * h
        aw, ax, ay, az = qmul(
            tw, 0.0, 0.0, tz, q_parent[n, 0], q_parent[n, 1], q_parent[n, 2], q_parent[n, 3]
        )
        q_aligned[n, 0], q_aligned[n, 1], q_aligned[n, 2], q_aligned[n, 3] = aw, ax, ay, az
        sw, sx, sy, sz = qmul(aw, ax, ay, az, fpw, fpx, fpy, fpz)
        cw, cx, cy, cz = qmul(q_child[n, 0], q_child[n, 1], q_child[n, 2], q_child[n, 3], fcw, fcx, fcy, fcz)
        rw, rx, ry, rz = qmul(sw, -sx, -sy, -sz, cw, cx, cy, cz)
        a0, a1, a2, lock = cardan_zxy(rw, rx, ry, rz)
        out[n, 0], out[n, 1], out[n, 2] = flexion_sign * (a0 * deg), a1 * deg, a2 * deg
        locked += lock
    return locked
