"""A recording's results: every sensor fused, each instrumented joint's angles and reps, as tables."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from imurehab.align.worn import worn_recording
from imurehab.body.angles import HINGE_JOINTS
from imurehab.body.segments import JOINT_SEGMENTS, sided_segment
from imurehab.errors import DataValidationError
from imurehab.exercises import ExerciseTemplate, list_templates, load_template
from imurehab.fusion import FusionResult
from imurehab.fusion.table import fuse_sensor, orientation_rows
from imurehab.pipeline.joints import JointResult, joint_result
from imurehab.store import schema as col
from imurehab.types import Recording, SensorSamples

__all__ = ["ProcessedSession", "process_recording"]


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
        Of the session's longest part between shakes of the sensors held together, if they were
        (:func:`imurehab.align.worn_recording`; said in ``notes``). ``orientation`` for every sensor
        (9D where a magnetometer is present), and ``joint_angles`` and ``reps`` for each instrumented
        hinge joint (from 6D orientations, which indoor magnetic
        disturbances cannot corrupt). Joints that cannot be computed are listed in ``notes``.
    """
    if template is not None:
        exercise = template.name
    else:
        exercise = exercise if exercise is not None else rec.session.exercise
        template = load_template(exercise) if exercise in list_templates() else None
    placements = rec.session.placements
    rec, worn_note = worn_recording(rec)  # sensors shaken together in the hand are not the body

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
    notes: list[str] = [] if worn_note is None else [worn_note]
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
            result = joint_result(
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
