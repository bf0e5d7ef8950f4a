"""One joint of a session: the two sensors on a common grid, calibration, angles, repetitions, quality."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.analysis.quality import RepQuality, angle_key, rep_quality, watched_side
from imurehab.analysis.reps import Rep, segment_reps
from imurehab.analysis.summary import SessionSummary, summarize_session
from imurehab.body.angles import HINGE_JOINTS, HingeJointAngles, hinge_joint_angles
from imurehab.body.calibration import heading_difference_9d
from imurehab.body.segments import JOINT_SEGMENTS, SegmentJointAngles, segment_joint_angles, sided_segment
from imurehab.errors import DataValidationError
from imurehab.exercises import ExerciseTemplate, list_templates, load_template
from imurehab.fusion import FusionResult
from imurehab.quaternion import (
    quat_conjugate,
    quat_from_matrix,
    quat_interp,
    quat_multiply,
    quat_to_matrix,
)
from imurehab.simulate.joints import DOF_NAMES, joint_angles_from_quats
from imurehab.types import SensorSamples

__all__ = ["EXERCISE_JOINTS", "ROM_UNCERTAINTY_DEG", "JointResult", "joint_result"]

FloatArray = npt.NDArray[np.float64]

ROM_UNCERTAINTY_DEG: Final[dict[str, float]] = {
    "knee": 0.5,
    "elbow": 1.0,
    "hip": 0.5,
    "lumbar": 0.5,
    "ankle": 0.5,
    "shoulder": 1.0,
}
"""Standard uncertainty of one repetition's ROM per joint [deg], as the summaries report it.

From ``benchmarks/kinematics_accuracy.py`` on simulated sets (20 sets per exercise, 6D, realistic sensor
errors, mounts up to 15° off, the calibration pose held with 2° sd): half the 95th percentile of the ROM
error, rounded up to 0.5° (knee ≤ 0.55°, hip 0.44°, lumbar 0.62°, ankle 0.33° → 0.5°; elbow 1.01°,
shoulder ≤ 1.42° → 1.0°). A lower bound: the simulator does not
model everything that happens on people (see docs/simulator.md), and no validation against optical
motion capture on people has been done yet."""

EXERCISE_JOINTS: Final[dict[str, tuple[str, str]]] = {
    name: (t.joint, t.pose) for name in list_templates() if (t := load_template(name)).plane != "transverse"
}
"""Built-in exercise → (joint its repetitions are counted on, calibration pose at the start of the set)."""


@dataclass(frozen=True, eq=False)
class JointResult:
    """One joint's angles on a common time grid, its calibration, and its repetitions.

    Attributes
    ----------
    joint, side : str
        Joint name (``"knee"``) and side (``"left"``/``"right"``).
    time_us : ndarray of int64, shape (M,)
        Times of the angle samples [µs since the Unix epoch, UTC].
    angles : HingeJointAngles or SegmentJointAngles
        Angles [deg] (``flexion_deg``, ``abduction_deg``, ``rotation_deg``) and calibration details.
    reps : list of Rep
        Repetitions found in the flexion angle (indices into ``time_us``).
    quality : list of RepQuality
        Per repetition: tempo, peak velocity, smoothness and flags (against the exercise template when
        there is one).
    summary : SessionSummary or None
        The set's summary (ROM mean, SD, best, each with its uncertainty; normal range; flags), when
        repetitions were found. See :data:`ROM_UNCERTAINTY_DEG` for the uncertainty used.
    """

    joint: str
    side: str | None
    time_us: npt.NDArray[np.int64]
    angles: HingeJointAngles | SegmentJointAngles
    reps: list[Rep]
    quality: list[RepQuality] = field(default_factory=list)
    summary: SessionSummary | None = None

    @property
    def start_us(self) -> int | None:
        """Time of the first angle sample [µs since the Unix epoch, UTC]; None if there is none."""
        return int(self.time_us[0]) if len(self.time_us) else None

    def calibration(self) -> dict[str, Any]:
        """How the joint was calibrated and its quality figures, JSON-ready.

        Hinge joints: ``method`` (``"seel2014"``, ``"seel2014+principal"`` or ``"relative-rate"``),
        ``heading`` (see :class:`~imurehab.body.HingeJointAngles`), ``off_axis_rms_deg`` [deg] and
        ``axis_residual_rad_s`` [rad/s]. Other joints: ``method`` ``"static-pose+functional"``,
        ``heading`` and ``planarity`` (0–1). Both: ``static_s`` [s], the static window used.
        """
        a = self.angles
        w = self.time_us[a.static_window]
        period_us = float(np.median(np.diff(self.time_us))) if len(self.time_us) > 1 else 0.0
        static_s = (float(w[-1] - w[0]) + period_us) / 1e6 if len(w) else 0.0
        if isinstance(a, HingeJointAngles):
            return {
                "method": a.axes.method,
                "heading": a.heading,
                "off_axis_rms_deg": a.off_axis_rms_deg,
                "axis_residual_rad_s": a.axes.residual_rad_s,
                "static_s": static_s,
            }
        return {
            "method": "static-pose+functional",
            "heading": a.heading,
            "planarity": a.planarity,
            "static_s": static_s,
        }


def _resample(t_src: npt.NDArray[np.int64], t_dst: npt.NDArray[np.int64], values: FloatArray) -> FloatArray:
    return np.column_stack([np.interp(t_dst, t_src, values[:, k]) for k in range(values.shape[1])])


def _watched_angles(
    template: ExerciseTemplate | None,
    joint: str,
    side: str | None,
    angles: HingeJointAngles | SegmentJointAngles,
    t: npt.NDArray[np.int64],
    q_parent: FloatArray,
    q_child: FloatArray,
    sensors: Mapping[str, tuple[npt.NDArray[np.int64], FloatArray]],
) -> dict[str, FloatArray]:
    """The angles the template's compensation checks watch, where sensors show them [deg].

    The exercised joint's other angles come straight from its calibration (knee valgus in a squat is
    the knee's own ab/adduction). Another joint is watched when both its segments carry a sensor: its
    segments' axes are taken at the static pose from a segment the exercise calibrated — one of its own
    (the trunk in a shoulder raise, the upper arm in an elbow curl, the pelvis in a straight-leg raise)
    or, standing or lying, the exercised joint's parent (the pelvis and trunk in a squat, from the
    thigh) — as if the watched joint were in its neutral position then (not when sitting, where hips
    and knees are bent, except for a joint of the calibrated segments). A check's flag compares the
    angle with its value at the start of
    each repetition, so that neutral offset does not matter; slow heading drift between the two 6D
    estimates does, a little. Checks whose segments lack a sensor are left out (the rep quality lists
    what was watched).

    Parameters
    ----------
    template : ExerciseTemplate or None
        The exercise.
    joint, side : str
        The exercised joint and side.
    angles : HingeJointAngles or SegmentJointAngles
        Its calibration (segment axes in the two sensor frames) and angles.
    t : ndarray of int64
        The common time grid [µs].
    q_parent, q_child : ndarray, shape (N, 4)
        The exercised joint's sensor orientations on ``t`` (6D).
    sensors : Mapping of str to (time_us, quat)
        Every placed sensor's 6D orientation by segment.
    """
    extra: dict[str, FloatArray] = {}
    if template is None or angles.frame_parent is None or angles.frame_child is None:
        return extra
    parent_seg, child_seg = (sided_segment(s, side) for s in JOINT_SEGMENTS[joint])
    known = {
        parent_seg: (q_parent, angles.frame_parent),
        child_seg: (q_child, angles.frame_child),
    }
    rest = (angles.static_window.start + angles.static_window.stop) // 2
    for check in template.compensations:
        ok, w_side = watched_side(check, side)
        if not ok:
            continue
        key = angle_key(check.joint, w_side, check.dof)
        if check.joint == joint and w_side == side:
            extra[key] = np.asarray(getattr(angles, check.dof))
            continue
        if template.pose == "sitting" and check.joint in ("hip", "knee"):
            continue
        pair = [sided_segment(s, w_side) for s in JOINT_SEGMENTS[check.joint]]
        frames: list[tuple[FloatArray, FloatArray] | None] = [known.get(seg) for seg in pair]
        source = next((f for f in frames if f is not None), None)
        if source is None:
            # Standing or lying, every segment's axes coincide at the static pose, so a joint away from
            # the exercised one (the lumbar spine in a squat) takes them from the exercised joint's parent.
            if template.pose == "sitting":
                continue
            source = known[parent_seg]
        for i, seg in enumerate(pair):
            if frames[i] is None:
                if seg not in sensors:
                    break
                q_other = quat_interp(*sensors[seg], t)
                q_known, frame_known = source
                # The other segment's axes: the known segment's, carried over at the static pose.
                carry = quat_to_matrix(quat_multiply(quat_conjugate(q_other[rest]), q_known[rest]))
                frames[i] = (q_other, carry @ frame_known)
        else:
            (qp, fp), (qc, fc) = frames  # type: ignore[misc]
            joint_key = check.joint if w_side is None else f"{check.joint}_{w_side}"
            ang = joint_angles_from_quats(
                joint_key,
                quat_multiply(qp, quat_from_matrix(fp)),
                quat_multiply(qc, quat_from_matrix(fc)),
            )
            extra[key] = ang[:, DOF_NAMES.index(check.dof)]
    return extra


def _summary(
    joint: str, side: str | None, quality: list[RepQuality], template: ExerciseTemplate | None
) -> SessionSummary | None:
    if not quality:
        return None
    u = ROM_UNCERTAINTY_DEG.get(joint, 1.0)
    return summarize_session(quality, rom_uncertainty_deg=u, template=template, side=side)


def _common_grid(
    parent: SensorSamples, child: SensorSamples, fused_parent: FusionResult, fused_child: FusionResult
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Both sensors' data on the parent's samples inside the child's span.

    Returns (time_us, q_parent, q_child, gyr_parent, gyr_child, acc_parent, acc_child): 6D orientations,
    angular rates [rad/s] and specific forces [m/s²].
    """
    inside = (parent.time_us >= child.time_us[0]) & (parent.time_us <= child.time_us[-1])
    if inside.sum() < 10:
        raise DataValidationError("the two sensors' recordings barely overlap in time")
    t = parent.time_us[inside]
    return (
        t,
        fused_parent.quat_6d[inside],
        quat_interp(child.time_us, fused_child.quat_6d, t),
        parent.gyr[inside],
        _resample(child.time_us, t, child.gyr),
        parent.acc[inside],
        _resample(child.time_us, t, child.acc),
    )


def joint_result(
    joint: str,
    side: str | None,
    pose: str,
    parent: SensorSamples,
    child: SensorSamples,
    fused_parent: FusionResult,
    fused_child: FusionResult,
    template: ExerciseTemplate | None,
    sensors: Mapping[str, tuple[npt.NDArray[np.int64], FloatArray]],
) -> JointResult:
    """One joint's angles, reps and rep quality.

    Hinge calibration for the knee and elbow sitting or standing; otherwise the static-pose and
    functional calibration of :mod:`imurehab.body.segments`.

    Parameters
    ----------
    joint, side : str
        The joint (``"knee"``) and its side (``"left"``, ``"right"``; None for a midline joint).
    pose : str
        Calibration pose at the start of the set: ``"standing"``, ``"sitting"`` or ``"supine"``.
    parent, child : SensorSamples
        The samples of the sensors on the joint's parent and child segments (SI units).
    fused_parent, fused_child : FusionResult
        Their orientations (:func:`imurehab.fusion.table.fuse_sensor`).
    template : ExerciseTemplate or None
        The exercise; required for joints other than the hinges.
    sensors : Mapping of str to (time_us, quat)
        Every placed sensor's 6D orientation by segment [µs since the epoch; Hamilton, scalar first].

    Returns
    -------
    JointResult

    Raises
    ------
    DataValidationError
        If the two sensors barely overlap in time, or the movement cannot be calibrated.
    """
    t, q_parent, q_child, g_p, g_c, a_p, a_c = _common_grid(parent, child, fused_parent, fused_child)
    rate_hz = parent.info.rate_hz
    angles: HingeJointAngles | SegmentJointAngles
    if joint in HINGE_JOINTS and pose in HINGE_JOINTS[joint].vertical_axis and side is not None:
        hint = None
        if parent.mag is not None and child.mag is not None:
            inside = (parent.time_us >= t[0]) & (parent.time_us <= t[-1])
            q9_child = quat_interp(child.time_us, fused_child.quat, t)
            hint = heading_difference_9d(q_parent, fused_parent.quat[inside], q_child, q9_child)
        angles = hinge_joint_angles(
            q_parent,
            q_child,
            g_p,
            g_c,
            a_p,
            a_c,
            rate_hz,
            joint=joint,
            pose=pose,  # type: ignore[arg-type]
            heading_hint_rad=hint,
        )
        counted = angles.flexion_deg
    else:
        assert template is not None  # without a template only hinge joints are processed
        if template.plane == "transverse":
            raise DataValidationError(
                f"{template.name}: movements in the transverse plane are not calibrated from the movement yet"
            )
        angles = segment_joint_angles(
            q_parent,
            q_child,
            g_p,
            g_c,
            a_p,
            a_c,
            rate_hz,
            joint=joint,
            side=side,
            pose=pose,
            movement_axis="x" if template.plane == "frontal" else "z",
            dof=template.dof,
            direction=template.direction,  # type: ignore[arg-type]
        )
        counted = getattr(angles, template.dof)
    reps = segment_reps(counted, rate_hz)
    extra = _watched_angles(template, joint, side, angles, t, q_parent, q_child, sensors)
    quality = rep_quality(counted, rate_hz, reps, template, side=side, extra_angles=extra)
    return JointResult(joint, side, t, angles, reps, quality, _summary(joint, side, quality, template))
