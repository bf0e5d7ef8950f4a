"""Process a session: samples → orientation → joint angles → repetitions and ROM.

Each step is a pure function of typed data; :func:`process_recording` composes them and returns the
results as polars DataFrames in the canonical table schemas (see :mod:`imurehab.store.schema`).
:func:`process_session` reads a session from a dataset, processes it and writes the results beside it.
The command-line app and the demo both call these.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.analysis.quality import RepQuality, angle_key, rep_quality, watched_side
from imurehab.analysis.reps import Rep, segment_reps
from imurehab.analysis.summary import SessionSummary, summarize_session
from imurehab.body.angles import HINGE_JOINTS, HingeJointAngles, hinge_joint_angles
from imurehab.body.calibration import heading_difference_9d
from imurehab.body.segments import JOINT_SEGMENTS, SegmentJointAngles, segment_joint_angles, sided_segment
from imurehab.errors import DatasetNotFoundError, DataValidationError
from imurehab.exercises import ExerciseTemplate, list_templates, load_template
from imurehab.fusion import FusionResult
from imurehab.fusion.table import fuse_sensor, orientation_rows
from imurehab.quaternion import (
    quat_conjugate,
    quat_from_matrix,
    quat_interp,
    quat_multiply,
    quat_to_matrix,
)
from imurehab.simulate.joints import DOF_NAMES, joint_angles_from_quats
from imurehab.store import read_recording, read_table
from imurehab.store import schema as col
from imurehab.store.layout import find_parts
from imurehab.store.staged import StagedTables
from imurehab.types import Recording, SensorSamples

__all__ = [
    "EXERCISE_JOINTS",
    "RESULT_TABLES",
    "ROM_UNCERTAINTY_DEG",
    "JointResult",
    "ProcessedSession",
    "process_recording",
    "process_session",
    "session_processed",
]

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


@dataclass(frozen=True, eq=False)
class ProcessedSession:
    """The results of processing one recording, as canonical tables and as typed objects.

    Attributes
    ----------
    orientation, joint_angles, reps : polars.DataFrame
        Rows for the ``orientation``, ``joint_angles`` and ``reps`` tables.
    joints : list of JointResult
        Per-joint details (calibration quality, repetition indices).
    notes : list of str
        What could not be computed and why (e.g. a joint with only one sensor).
    """

    orientation: pl.DataFrame
    joint_angles: pl.DataFrame
    reps: pl.DataFrame
    joints: list[JointResult]
    notes: list[str] = field(default_factory=list)


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


def _joint_angle_rows(j: JointResult) -> pl.DataFrame:
    n = len(j.time_us)
    return pl.DataFrame(
        {
            col.JOINT: pl.repeat(j.joint, n, dtype=pl.String, eager=True),
            col.SIDE: pl.repeat(j.side, n, dtype=pl.String, eager=True),
            col.TIME: pl.Series(j.time_us).cast(pl.Datetime("us", "UTC")),
            col.FLEXION_DEG: j.angles.flexion_deg,
            col.ABDUCTION_DEG: j.angles.abduction_deg,
            col.ROTATION_DEG: j.angles.rotation_deg,
        },
        schema=col.polars_schema(col.JOINT_ANGLES),
    )


def _rep_rows(j: JointResult, exercise: str | None) -> pl.DataFrame:
    t = j.time_us
    return pl.DataFrame(
        {
            col.EXERCISE: [exercise] * len(j.reps),
            col.JOINT: [j.joint] * len(j.reps),
            col.SIDE: [j.side] * len(j.reps),
            col.REP: [r.rep for r in j.reps],
            col.START: pl.Series([int(t[r.start]) for r in j.reps], dtype=pl.Int64).cast(
                pl.Datetime("us", "UTC")
            ),
            col.END: pl.Series([int(t[r.end]) for r in j.reps], dtype=pl.Int64).cast(
                pl.Datetime("us", "UTC")
            ),
            col.ROM_DEG: [r.rom_deg for r in j.reps],
            col.MIN_DEG: [r.min_deg for r in j.reps],
            col.MAX_DEG: [r.max_deg for r in j.reps],
            col.DURATION_S: [(int(t[r.end]) - int(t[r.start])) / 1e6 for r in j.reps],
            col.FLAGS: [list(q.flags) for q in j.quality] if j.quality else [[] for _ in j.reps],
        },
        schema=col.polars_schema(col.REPS),
    )


def _wanted(template: ExerciseTemplate | None, exercise: str | None) -> list[tuple[str, str | None, str]]:
    """(joint, side, calibration pose) to compute: the template's joint on its sides, or every hinge."""
    if template is None:
        return [(j, side, "standing") for j in HINGE_JOINTS for side in ("left", "right")]
    return [(template.joint, side, template.pose) for side in template.sides]


def _joint(
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


def process_recording(
    rec: Recording,
    *,
    exercise: str | None = None,
    template: ExerciseTemplate | None = None,
    on_orientation: Callable[[pl.DataFrame], object] | None = None,
) -> ProcessedSession:
    """Estimate orientations, joint angles and repetitions of one recording.

    Parameters
    ----------
    rec : Recording
        The session; its placements say which sensor is on which segment.
    exercise : str, optional
        Exercise name (default: the session's). A built-in exercise template
        (:func:`imurehab.exercises.list_templates`) fixes the joint and the calibration pose and sets the
        targets the repetitions are flagged against (``reps.flags``); otherwise every hinge joint with
        both segments instrumented is processed with a standing calibration pose.
    template : ExerciseTemplate, optional
        An exercise template to use instead of looking ``exercise`` up among the built-in ones (e.g.
        one a physiotherapist wrote, :func:`imurehab.exercises.load_template` of a file); its name is
        the exercise.
    on_orientation : callable, optional
        Called with the ``orientation`` table as soon as it is built, before the joints are computed
        (:func:`process_session` starts writing it there, in a worker thread).

    Returns
    -------
    ProcessedSession
        ``orientation`` for every sensor (9D where a magnetometer is present), and ``joint_angles`` and
        ``reps`` for each instrumented hinge joint (from 6D orientations, which indoor magnetic
        disturbances cannot corrupt). Joints that cannot be computed are listed in ``notes``.
    """
    if template is not None:
        exercise = template.name
    else:
        exercise = exercise if exercise is not None else rec.session.exercise
        template = load_template(exercise) if exercise in list_templates() else None
    placements = rec.session.placements

    def fuse(s: SensorSamples) -> tuple[FusionResult, pl.DataFrame]:
        f = fuse_sensor(s)
        return f, orientation_rows(s, placements.get(s.sensor_id), f)

    # The fusion kernels release the GIL: sensors are fused (and tabulated) side by side, one per core.
    with ThreadPoolExecutor(max_workers=max(1, min(len(rec.sensors), os.cpu_count() or 1))) as pool:
        done = list(pool.map(fuse, rec.sensors))
    fused = {sid: f for sid, (f, _) in zip(rec.sensor_ids, done, strict=True)}
    orientation = (
        pl.concat([rows for _, rows in done], how="vertical")
        if done
        else col.polars_schema(col.ORIENTATION).to_frame()
    )
    if on_orientation is not None:
        on_orientation(orientation)
    on_segment = {seg: sid for sid, seg in placements.items()}
    sensors = {seg: (rec[sid].time_us, fused[sid].quat_6d) for seg, sid in on_segment.items()}
    joints: list[JointResult] = []
    notes: list[str] = []
    for joint, side, pose in _wanted(template, exercise):
        parent_seg, child_seg = JOINT_SEGMENTS[joint]
        p_seg, c_seg = sided_segment(parent_seg, side), sided_segment(child_seg, side)
        p_id, c_id = on_segment.get(p_seg), on_segment.get(c_seg)
        label = joint if side is None else f"{joint} {side}"
        if p_id is None or c_id is None:
            # Say so only when this side is partly instrumented (not for a midline sensor alone).
            if any(on_segment.get(x) for x in (p_seg, c_seg) if x not in (parent_seg, child_seg)):
                notes.append(f"{label}: needs sensors on both {p_seg} and {c_seg}")
            continue
        try:
            result = _joint(
                joint, side, pose, rec[p_id], rec[c_id], fused[p_id], fused[c_id], template, sensors
            )
        except DataValidationError as err:
            notes.append(f"{label}: {err}")
            continue
        joints.append(result)
        if getattr(result.angles, "heading", None) == "ambiguous":
            notes.append(
                f"{label}: without magnetometers the {parent_seg}'s heading is ambiguous "
                f"(two solutions 180° apart fit, and neither the {parent_seg}'s pivot nor the joint "
                f"centre tells them apart); flexion may be off by twice the {parent_seg}'s own rotation"
            )
    if template is not None and not joints and not notes:
        parent_seg, child_seg = JOINT_SEGMENTS[template.joint]
        need = " and ".join(
            dict.fromkeys(
                sided_segment(seg, side) for side in template.sides for seg in (parent_seg, child_seg)
            )
        )
        notes.append(f"{exercise}: no {template.joint} to compute: needs sensors placed on {need}")
    angle_frames = [_joint_angle_rows(j) for j in joints]
    rep_frames = [_rep_rows(j, exercise) for j in joints]
    return ProcessedSession(
        orientation=orientation,
        joint_angles=pl.concat(angle_frames)
        if angle_frames
        else col.polars_schema(col.JOINT_ANGLES).to_frame(),
        reps=pl.concat(rep_frames) if rep_frames else col.polars_schema(col.REPS).to_frame(),
        joints=joints,
        notes=notes,
    )


RESULT_TABLES: Final[tuple[str, ...]] = (col.ORIENTATION, col.JOINT_ANGLES, col.REPS)
"""The tables :func:`process_session` writes."""


def session_processed(root: str | Path, *, subject: str, session: str) -> bool:
    """Whether every results table already holds this session.

    Parameters
    ----------
    root : str or Path
        Dataset root folder.
    subject, session : str
        Which session.
    """
    try:
        return all(find_parts(Path(root), t, subject, session) for t in RESULT_TABLES)
    except DatasetNotFoundError:
        return False


def _previous_quality(rows: pl.DataFrame, template: ExerciseTemplate | None) -> list[RepQuality]:
    """Repetitions of an earlier session rebuilt from its ``reps`` rows (what summaries need)."""
    out = []
    for r in rows.sort(col.REP).iter_rows(named=True):
        start_s = r[col.START].timestamp()
        end_s = r[col.END].timestamp()
        increase = template is None or template.direction == "increase"
        out.append(
            RepQuality(
                rep=r[col.REP],
                start=0,
                peak=0,
                end=0,
                start_s=start_s,
                end_s=end_s,
                min_deg=r[col.MIN_DEG],
                max_deg=r[col.MAX_DEG],
                rom_deg=r[col.ROM_DEG],
                peak_deg=r[col.MAX_DEG] if increase else r[col.MIN_DEG],
                duration_s=r[col.DURATION_S],
                time_to_peak_s=math.nan,
                time_to_return_s=math.nan,
                peak_velocity_deg_s=math.nan,
                sparc=None,
                ldlj=None,
                flags=tuple(r[col.FLAGS] or ()),
            )
        )
    return out


def _with_previous_sessions(
    result: ProcessedSession, root: Path, subject: str, session: str
) -> ProcessedSession:
    """Each joint's summary compared with the subject's latest earlier session of the same exercise.

    Same exercise, joint and side, among sessions that have results: the change of mean ROM and whether
    it exceeds the minimal detectable change (:func:`imurehab.analysis.compare_sessions`).
    """
    todo = [j for j in result.joints if j.summary is not None and j.summary.exercise]
    if not todo:
        return result
    try:
        earlier = read_table(root, col.REPS, subject=subject).collect()
    except DatasetNotFoundError:
        return result
    earlier = earlier.filter(pl.col(col.SESSION) != session)
    joints = []
    for j in result.joints:
        summary = j.summary
        if summary is not None and summary.exercise and len(j.time_us):
            side = pl.col(col.SIDE).is_null() if j.side is None else pl.col(col.SIDE) == j.side
            mine = earlier.filter(
                (pl.col(col.EXERCISE) == summary.exercise) & (pl.col(col.JOINT) == j.joint) & side
            )
            starts = mine.group_by(col.SESSION).agg(pl.col(col.START).min()).sort(col.START)
            before = starts.filter(pl.col(col.START).dt.epoch("us") < int(j.time_us[0]))
            if before.height:
                prev_id = before.get_column(col.SESSION)[-1]
                template = load_template(summary.exercise) if summary.exercise in list_templates() else None
                quality = _previous_quality(mine.filter(pl.col(col.SESSION) == prev_id), template)
                u = ROM_UNCERTAINTY_DEG.get(j.joint, 1.0)
                previous = summarize_session(quality, rom_uncertainty_deg=u, template=template, side=j.side)
                summary = summarize_session(
                    j.quality, rom_uncertainty_deg=u, template=template, side=j.side, previous=previous
                )
                j = replace(j, summary=summary)
        joints.append(j)
    return replace(result, joints=joints)


def process_session(
    root: str | Path,
    *,
    subject: str,
    session: str,
    exercise: str | None = None,
    template: ExerciseTemplate | None = None,
    overwrite: bool = False,
) -> ProcessedSession:
    """Read a session's samples from a dataset, process them and write the results tables.

    Parameters
    ----------
    root : str or Path
        Dataset root folder.
    subject, session : str
        Which session.
    exercise : str, optional
        Exercise name, overriding the session's (see :func:`process_recording`).
    template : ExerciseTemplate, optional
        An exercise template to use (see :func:`process_recording`).
    overwrite : bool
        Replace results already written for this session.

    Returns
    -------
    ProcessedSession
        What was written.
    """
    rec = read_recording(root, subject=subject, session=session)
    # The orientation table is written (in a worker thread) while the joints are computed; the three
    # tables become visible together at the end, or not at all if something fails.
    with StagedTables(root, subject=subject, session=session, overwrite=overwrite) as out:
        result = process_recording(
            rec,
            exercise=exercise,
            template=template,
            on_orientation=lambda frame: out.stage(col.ORIENTATION, frame),
        )
        result = _with_previous_sessions(result, Path(root), subject, session)
        out.stage(col.JOINT_ANGLES, result.joint_angles)
        out.stage(col.REPS, result.reps)
    return result
