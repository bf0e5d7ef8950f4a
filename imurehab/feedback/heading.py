"""Which of two live hinge solutions 180° apart in heading is right: lever arms first, then priors.

Without a magnetometer, a knee or elbow whose parent segment (thigh, upper arm) barely turns has two
calibrations that fit the gyroscopes equally: headings 180° apart between the two 6D estimates. The
batch pipeline settles this with physics (:func:`imurehab.body.hinge_joint_angles`); the live engine
uses the same two public functions of :mod:`imurehab.body.joint_center` on the samples received so far:

- :func:`~imurehab.body.joint_center.rotation_pivot`: the parent turns about a fixed point (hip,
  shoulder) that must lie *proximal* of its sensor, i.e. ``−r·y_parent > 0``;
- :func:`~imurehab.body.joint_center.distal_joint_lever`: the joint, seen by the child's accelerations,
  lies *distal* of that pivot (``L > 0``) only with the right heading.

Each solution scores ``clip(−r·y_parent) + clip(L)`` (±1 m), as in the batch code, and the best must beat
every other by :data:`LEVER_MARGIN_M`. Live windows are short (a still second and half a repetition at
the first decision), and there the child's lever ``L`` is often large and of the wrong sign (measured:
decisively wrong on 6 of 8 simulated seated knee extensions at that moment, right once repetitions are
complete). So the live test adds one condition: neither lever arm may favour a rival by more than
:data:`LEVER_CONTRADICTION_M`; lever arms that contradict each other decide nothing.

When the lever arms do not decide, in order: a knee calibrated sitting or supine rests its thigh on the
seat or bed, so the distal thigh does not sink (``"support"``, an assumption the templates instruct);
the joint centre's accelerations (:func:`~imurehab.body.joint_center.joint_center_mismatch`); the upper
arm turns with the forearm during a curl (``"co-rotation"``, an assumption); else ``"ambiguous"``. The
support rule goes before the joint centre because on half a repetition the joint-centre check chose the
wrong seated-knee solution where support chose right (benchmarks/feedback_latency.py, seed 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.body.calibration import align_heading, heading_offset
from imurehab.body.joint_center import distal_joint_lever, joint_center_mismatch, rotation_pivot
from imurehab.quaternion import quat_multiply, quat_rotate

__all__ = [
    "LEVER_CONTRADICTION_M",
    "LEVER_MARGIN_M",
    "HingeSolution",
    "choose_by_lever_arms",
    "choose_by_priors",
    "lever_arms",
    "window_delta",
]

FloatArray = npt.NDArray[np.float64]
Window = Mapping[str, FloatArray]
"""Aligned samples: ``q_p, q_c`` (n, 4), ``acc_p, acc_c`` [m/s²] and ``gyr_p, gyr_c`` [rad/s] (n, 3)."""

LEVER_MARGIN_M: Final[float] = 0.1
"""The best solution's lever-arm score must beat every other's by this much [m] (as the batch code)."""
LEVER_CONTRADICTION_M: Final[float] = 0.05
"""Neither lever arm may favour a rival by more than this [m]."""
_LEVER_CLIP_M: Final[float] = 1.0  # beyond this a lever-arm fit is noise [m]
_JOINT_CENTER_RATIO: Final[float] = 0.7  # the joint-centre check decides below this mismatch ratio
_SUPPORT_DECISIVE: Final[float] = 0.01  # mean rise difference of the distal thigh (≈ 0.6°) that decides
_Y: Final = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True, eq=False)
class HingeSolution:
    """One sign choice of the hinge axes with what it implies.

    Attributes
    ----------
    j_parent, j_child : ndarray, shape (3,)
        The flexion axis in the parent's and child's sensor frames (signed).
    frame_parent, frame_child : ndarray, shape (4,)
        Segment → sensor quaternions (w, x, y, z).
    delta_rad : float
        Heading offset of the parent's 6D estimate at the time it was fitted [rad].
    flexion_deg : ndarray, shape (n,)
        Flexion over the calibration window [deg].
    rest_deg : float
        Mean flexion over the static window [deg].
    off_axis_rms_deg : float
        RMS of the other two Cardan angles about their means [deg].
    plausible : bool
        Inside the physiological range and moving the template's way.
    """

    j_parent: FloatArray
    j_child: FloatArray
    frame_parent: FloatArray
    frame_child: FloatArray
    delta_rad: float
    flexion_deg: FloatArray
    rest_deg: float
    off_axis_rms_deg: float
    plausible: bool

    @property
    def y_parent(self) -> FloatArray:
        """The parent segment's long axis (pointing proximal) in its sensor frame."""
        return quat_rotate(self.frame_parent, _Y)

    @property
    def y_child(self) -> FloatArray:
        """The child segment's long axis (pointing proximal) in its sensor frame."""
        return quat_rotate(self.frame_child, _Y)


def window_delta(w: Window, solution: HingeSolution, rate_hz: float) -> float:
    """The solution's heading offset over a window, as one constant [rad].

    Parameters
    ----------
    w : Mapping
        Aligned samples (see :data:`Window`).
    solution : HingeSolution
        Gives the signed axes.
    rate_hz : float
        Sample rate [Hz].

    Returns
    -------
    float
        Rotation about earth-up aligning the parent's view of the hinge axis with the child's [rad].
    """
    return float(
        heading_offset(w["q_p"], w["q_c"], solution.j_parent, solution.j_child, rate_hz, window_s=1e9)[-1]
    )


def lever_arms(
    w: Window, solutions: Sequence[HingeSolution], deltas: Sequence[float], rate_hz: float
) -> list[tuple[float, float]]:
    """Both lever arms of each solution on a window: ``(−r·y_parent, L)`` [m].

    Parameters
    ----------
    w : Mapping
        Aligned samples (see :data:`Window`).
    solutions : sequence of HingeSolution
        Candidates.
    deltas : sequence of float
        Each candidate's heading offset over ``w`` [rad].
    rate_hz : float
        Sample rate [Hz].

    Returns
    -------
    list of (float, float)
        The parent sensor's distance distal of its pivot, and the joint's distance distal of the pivot
        as the child sees it [m]; both positive for the right solution.
    """
    r = rotation_pivot(w["q_p"], w["acc_p"], w["gyr_p"], rate_hz)
    out = []
    for s, delta in zip(solutions, deltas, strict=True):
        y = s.y_parent
        q_p = align_heading(w["q_p"], delta)
        lever = distal_joint_lever(q_p, w["acc_p"], w["gyr_p"], y, w["q_c"], w["acc_c"], w["gyr_c"], rate_hz)
        out.append((float(-r @ y), lever))
    return out


def choose_by_lever_arms(arms: Sequence[tuple[float, float]]) -> int | None:
    """Index of the solution the lever arms choose, or None when they are not decisive.

    Parameters
    ----------
    arms : sequence of (float, float)
        :func:`lever_arms` of distinct candidates [m].

    Returns
    -------
    int or None
        The candidate whose score (both arms clipped to ±1 m, summed) beats every other's by
        :data:`LEVER_MARGIN_M`, with neither arm favouring another candidate by more than
        :data:`LEVER_CONTRADICTION_M`.
    """
    clipped = np.clip(np.asarray(arms, dtype=np.float64), -_LEVER_CLIP_M, _LEVER_CLIP_M)
    score = clipped.sum(axis=1)
    top = int(np.argmax(score))
    for k in range(len(clipped)):
        if k == top:
            continue
        if score[top] - score[k] < LEVER_MARGIN_M:
            return None
        if np.min(clipped[top] - clipped[k]) < -LEVER_CONTRADICTION_M:
            return None
    return top


def choose_by_priors(
    w: Window, best: HingeSolution, rival: HingeSolution, joint: str, supported: bool, rate_hz: float
) -> tuple[HingeSolution, str]:
    """The fallback when the lever arms do not decide: support, joint centre, co-rotation.

    Parameters
    ----------
    w : Mapping
        The calibration window (see :data:`Window`), starting with the static second.
    best, rival : HingeSolution
        The most hinge-like solution and its rival 180° away in heading.
    joint : {"knee", "elbow"}
        The joint.
    supported : bool
        True when the parent rests on a seat or bed (knee calibrated sitting or supine).
    rate_hz : float
        Sample rate [Hz].

    Returns
    -------
    HingeSolution
        The choice.
    str
        How: ``"support"``, ``"joint-center"``, ``"co-rotation"`` or ``"ambiguous"`` (``best`` kept).
    """
    pair = (best, rival)
    if supported:
        rise = [_distal_rise(w["q_p"], s) for s in pair]
        if abs(rise[1] - rise[0]) > _SUPPORT_DECISIVE:
            return pair[int(np.argmax(rise))], "support"
    mismatch = [
        joint_center_mismatch(
            align_heading(w["q_p"], s.delta_rad),
            w["q_c"],
            w["acc_p"],
            w["gyr_p"],
            w["acc_c"],
            w["gyr_c"],
            s.y_parent,
            s.y_child,
            rate_hz,
        )[0]
        for s in pair
    ]
    if min(mismatch) < _JOINT_CENTER_RATIO * max(mismatch):
        return pair[int(np.argmin(mismatch))], "joint-center"
    if joint == "elbow":
        co = [_co_rotation(w, s) for s in pair]
        if max(co) > 0 > min(co):
            return pair[int(np.argmax(co))], "co-rotation"
    return best, "ambiguous"


def _co_rotation(w: Window, s: HingeSolution) -> float:
    """Mean product of the parent's and child's earth-frame rates about the hinge axis [rad²/s²].

    Positive when the upper arm turns with the forearm: the biceps' long head also flexes the shoulder,
    so a curl tends to bring the elbow forward, not back.
    """
    axis = quat_rotate(w["q_c"], s.j_child)
    w_p = np.sum(quat_rotate(align_heading(w["q_p"], s.delta_rad), w["gyr_p"]) * axis, axis=1)
    w_c = np.sum(quat_rotate(w["q_c"], w["gyr_c"]) * axis, axis=1)
    return float(np.mean(w_p * w_c))


def _distal_rise(q_p: FloatArray, s: HingeSolution) -> float:
    """Mean height change of the parent's distal direction (−y) over the window [unit vector]."""
    distal = -quat_rotate(quat_multiply(align_heading(q_p, s.delta_rad), s.frame_parent), _Y)
    return float(np.mean(distal[:, 2] - distal[0, 2]))
