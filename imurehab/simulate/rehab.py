"""Rehabilitation exercises as rep programs, with optional compensations and incomplete reps.

Every exercise is a rest pose plus a progress path times a movement pose (``base + p(t)·delta``): each
rep takes ``p`` from 0 to its amplitude ``a`` (1 = the full movement), holds, and back to 0. Sessions
start and end with 2 s of rest; each rep draws its own tempo (±12 % by default), amplitude and the
pause after it. A session's :class:`~imurehab.simulate.reps.RepVariation` can make chosen reps stop at
40–70 % of the full amplitude, and add a compensation: a second pose that grows with the rep's progress
(same timing) to ``compensation_deg`` at the turning point and returns with it. The deviations are drawn
from their own random stream, so a session without them is exactly what it was before they existed.

Postures: seated and standing exercises are upright; the straight-leg raise and the heel slide are
supine (:mod:`imurehab.simulate.body`), the pelvis resting at a fixed height above the floor.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from imurehab.simulate.body import Posture
from imurehab.simulate.compensations import COMPENSATIONS
from imurehab.simulate.joints import AngleSequence
from imurehab.simulate.program import Activity, Pose, PoseBlend, Program, RepWindow, RootSpec
from imurehab.simulate.reps import MovementRequest, RepDraft, Tempo, plan_reps
from imurehab.simulate.trajectory import MinJerkPath
from imurehab.simulate.truth import PhaseTruth

__all__ = ["CALIBRATION_HOLD_S", "LEAD_S", "TAIL_S", "single_activity"]

LEAD_S = 2.0
"""Rest before the first rep [s]."""
TAIL_S = 2.0
"""Rest after the last rep [s]."""
CALIBRATION_HOLD_S = 3.0
"""Length of the calibration-pose hold that opens a session when one is asked for [s]."""
_CALIBRATION_MOVE_S = 1.0

# Hip-centre height above the floor when lying supine, × body height: about half the depth of the
# pelvis (an estimate; the soft tissue of the buttocks is not modelled).
_SUPINE_PELVIS_HEIGHT = 0.05


def _lat(side: str) -> float:
    return 1.0 if side == "right" else -1.0


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def single_activity(
    name: str,
    activity: Activity,
    windows: list[RepWindow],
    duration_s: float,
    *,
    posture: Posture = "upright",
    shoulder_sequence: AngleSequence = "YXY",
) -> Program:
    """A program of one activity covering the whole session, labelled as one phase.

    Parameters
    ----------
    name : str
        Movement name (program and phase label).
    activity : Activity
        The activity.
    windows : list of RepWindow
        Its rep windows.
    duration_s : float
        Session length [s].
    posture : {"upright", "supine"}
        Whole-body posture.
    shoulder_sequence : {"YXY", "ZXY"}
        Convention of the activity's shoulder commands.
    """
    return Program(
        name=name,
        duration_s=duration_s,
        activities=(activity,),
        weights=(MinJerkPath(np.array([0.0]), np.array([1.0])),),
        windows=tuple(windows),
        phases=(PhaseTruth(name, 0.0, duration_s),),
        posture=posture,
        shoulder_sequence=shoulder_sequence,
    )


def _scaled(pose: Pose, factor: float) -> Pose:
    return {k: (v[0] * factor, v[1] * factor, v[2] * factor) for k, v in pose.items()}


def _rep_program(
    req: MovementRequest,
    name: str,
    *,
    base: Pose,
    delta: Pose,
    root: RootSpec,
    tempo: Tempo,
    amplitude: tuple[float, float],
    counted: list[tuple[str, str | None, str]],
    posture: Posture = "upright",
    shoulder_sequence: AngleSequence = "YXY",
    calibration: Pose | None = None,
) -> Program:
    """A rep exercise ``base + p(t)·delta`` (+ ``c(t)·compensation``), ``p`` going 0 → a → 0 per rep.

    ``calibration`` is the instructed calibration pose where it differs from ``base`` (joints not named
    hold their rest angles); it is used when the session opens with a calibration hold.
    """
    var = req.variation
    if var.tempo_jitter is not None:
        tempo = dataclasses.replace(tempo, spread=var.tempo_jitter)
    terms = [delta]
    if var.compensation is not None:
        terms.append(_scaled(COMPENSATIONS[name][var.compensation].pose(req.side), var.compensation_deg))

    def maker(
        incomplete: Mapping[int, float], compensated: frozenset[int]
    ) -> Callable[[np.random.Generator, float, int], RepDraft]:
        def make(rng: np.random.Generator, t0: float, index: int) -> RepDraft:
            out, hold, back = tempo.draw(rng)
            a = float(rng.uniform(*amplitude))  # drawn even when overridden: the stream stays aligned
            a = incomplete.get(index, a)
            t1, t2 = t0 + out, t0 + out + hold
            t3 = t2 + back
            flags = (index in incomplete, index in compensated)
            wins = [RepWindow(name, joint, side, t0, t3, dof, *flags) for joint, side, dof in counted]
            knots = [[(t0, 0.0), (t1, a), (t2, a), (t3, 0.0)]]
            if len(terms) > 1:
                knots.append([(t0, 0.0), (t1, 1.0), (t2, 1.0), (t3, 0.0)] if flags[1] else [])
            return RepDraft(t0, t3, knots, wins)

        return make

    until = None if req.duration_s is None else req.duration_s - TAIL_S
    reps = req.reps if (req.reps is not None or until is not None) else 10

    def plan(
        rng: np.random.Generator, make: Callable[[np.random.Generator, float, int], RepDraft]
    ) -> tuple[list[MinJerkPath], list[RepWindow], float]:
        return plan_reps(
            rng,
            make,
            initial=[0.0] * len(terms),
            t_start=t_start,
            pause_s=tempo.pause_s,
            reps=reps,
            until_s=until,
            what=name,
        )

    t_start = LEAD_S
    if var.calibration_pose_sd_deg is not None:
        t_start += CALIBRATION_HOLD_S + _CALIBRATION_MOVE_S
    incomplete: dict[int, float] = {}
    compensated: frozenset[int] = frozenset()
    if var.incomplete_reps or var.compensation is not None:
        if reps is None:  # as many as fit: count them on a copy of the stream first
            reps_found = len(plan(copy.deepcopy(req.rng), maker({}, frozenset()))[1]) // len(counted)
        else:
            reps_found = reps
        assert req.variation_rng is not None
        incomplete, compensated = var.choose(req.variation_rng, reps_found)
    paths, windows, end = plan(req.rng, maker(incomplete, compensated))
    duration = req.duration_s if req.duration_s is not None else end + TAIL_S
    blend = list(zip(paths, terms, strict=True))
    if var.calibration_pose_sd_deg is not None:
        assert req.variation_rng is not None
        joints = {f"{j}_{side}" if side else j for j, side, _ in counted} | set(calibration or {})
        blend.append(
            _calibration_hold(base, calibration or {}, sorted(joints), var.calibration_pose_sd_deg, req)
        )
    activity = PoseBlend(name, base, tuple(blend), root)
    return single_activity(
        name, activity, windows, duration, posture=posture, shoulder_sequence=shoulder_sequence
    )


def _calibration_hold(
    base: Pose, calibration: Pose, joints: list[str], sd_deg: float, req: MovementRequest
) -> tuple[MinJerkPath, Pose]:
    """The term that holds ``joints`` in the calibration pose, each first angle off by N(0, sd), then lets go.

    Its progress path is 1 for :data:`CALIBRATION_HOLD_S` and moves to 0 (the rest pose) within 1 s.
    """
    assert req.variation_rng is not None
    offsets: Pose = {}
    for key in joints:
        rest = np.asarray(base.get(key, (0.0, 0.0, 0.0)), dtype=np.float64)
        held = np.asarray(calibration.get(key, rest), dtype=np.float64)
        held[0] += req.variation_rng.normal(0.0, sd_deg)
        d = held - rest
        offsets[key] = (float(d[0]), float(d[1]), float(d[2]))
    hold = CALIBRATION_HOLD_S
    return MinJerkPath(np.array([0.0, hold, hold + _CALIBRATION_MOVE_S]), np.array([1.0, 1.0, 0.0])), offsets


def ankle_pumps(req: MovementRequest) -> Program:
    """Seated ankle pumps: the relaxed foot pulled up from 10–20° plantarflexion to 15–20° dorsiflexion.

    The legs hang from a high seat, knees at 90°.
    """
    s = req.side
    rest = float(req.rng.uniform(-20.0, -10.0))
    base: Pose = {**_seated(s), f"ankle_{s}": (rest, 0.0, 0.0)}
    delta: Pose = {f"ankle_{s}": (20.0 - rest, 0.0, 0.0)}
    sk = req.skeleton
    root = RootSpec(forward=0.0, up=sk.ankle_height_m + sk.shank_length_m + 0.05, right=0.0)
    return _rep_program(
        req,
        "ankle-pumps",
        base=base,
        delta=delta,
        root=root,
        tempo=Tempo(1.0, 0.5, 1.2, (0.5, 1.5)),
        amplitude=((15.0 - rest) / (20.0 - rest), 1.0),
        counted=[("ankle", s, "flexion_deg")],
        calibration={f"ankle_{s}": (0.0, 0.0, 0.0)},  # foot at a right angle to the shank
    )


def _supine_root(req: MovementRequest) -> RootSpec:
    return RootSpec(forward=0.0, up=_SUPINE_PELVIS_HEIGHT * req.skeleton.height_m, right=0.0)


def _seated(side: str) -> Pose:
    """Sitting upright: hips and knees at 90°, hands resting on the thighs."""
    o = _other(side)
    return {
        f"hip_{side}": (90.0, 0.0, 0.0),
        f"hip_{o}": (90.0, 0.0, 0.0),
        f"knee_{side}": (90.0, 0.0, 0.0),
        f"knee_{o}": (90.0, 0.0, 0.0),
        "shoulder_right": (30.0, 0.0, 0.0),
        "shoulder_left": (30.0, 0.0, 0.0),
        "elbow_right": (60.0, 0.0, 0.0),
        "elbow_left": (60.0, 0.0, 0.0),
    }


def seated_knee_extension(req: MovementRequest) -> Program:
    """Seated knee extension: thigh horizontal, shank hanging (≈ 90° flexion), extend to 0–15°."""
    s = req.side
    rest_knee = float(req.rng.uniform(87.0, 93.0))
    base: Pose = {**_seated(s), f"knee_{s}": (rest_knee, 0.0, 0.0)}
    delta: Pose = {
        f"knee_{s}": (-rest_knee, 0.0, 0.0),
        f"hip_{s}": (4.0, 0.0, 0.0),
        f"ankle_{s}": (8.0, 0.0, 0.0),
    }
    sk = req.skeleton
    root = RootSpec(forward=0.0, up=sk.ankle_height_m + sk.shank_length_m, right=0.0)
    lo = (rest_knee - 15.0) / rest_knee
    return _rep_program(
        req,
        "seated-knee-extension",
        base=base,
        delta=delta,
        root=root,
        tempo=Tempo(1.5, 1.0, 2.0, (1.0, 2.5)),
        amplitude=(lo, 1.0),
        counted=[("knee", s, "flexion_deg")],
        calibration={f"knee_{s}": (90.0, 0.0, 0.0)},  # shank vertical
        shoulder_sequence="ZXY",  # arms resting forward, sagittal: as first written
    )


def squat(req: MovementRequest) -> Program:
    """Bodyweight squat: hips, knees and ankles flex together, pelvis and trunk lean forward, arms forward."""
    asym = 1.0 + 0.02 * req.rng.standard_normal(2)
    delta: Pose = {"pelvis": (20.0, 0.0, 0.0), "lumbar": (15.0, 0.0, 0.0)}
    for k, side in enumerate(("right", "left")):
        delta[f"hip_{side}"] = (100.0 * asym[k], 0.0, 0.0)
        delta[f"knee_{side}"] = (110.0 * asym[k], 0.0, 0.0)
        delta[f"ankle_{side}"] = (30.0 * asym[k], 0.0, 0.0)
        delta[f"shoulder_{side}"] = (70.0, 0.0, 0.0)
        delta[f"elbow_{side}"] = (10.0, 0.0, 0.0)
    return _rep_program(
        req,
        "squat",
        base={},
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(1.6, 0.3, 1.3, (0.8, 2.0)),
        amplitude=(0.8, 1.0),
        counted=[("knee", "right", "flexion_deg"), ("knee", "left", "flexion_deg")],
        shoulder_sequence="ZXY",
    )


def elbow_flexion(req: MovementRequest) -> Program:
    """Standing elbow flexion (biceps curl) from ≈ 8° to 115–135°."""
    s = req.side
    base: Pose = {f"elbow_{s}": (8.0, 0.0, 0.0), f"elbow_{_other(s)}": (5.0, 0.0, 0.0)}
    delta: Pose = {
        f"elbow_{s}": (127.0, 0.0, 0.0),
        f"shoulder_{s}": (8.0, 0.0, 0.0),
        f"wrist_{s}": (10.0, 0.0, 0.0),
    }
    return _rep_program(
        req,
        "elbow-flexion",
        base=base,
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(1.4, 0.4, 1.8, (0.8, 2.0)),
        amplitude=(0.85, 1.0),
        counted=[("elbow", s, "flexion_deg")],
        shoulder_sequence="ZXY",
        calibration={f"elbow_{s}": (0.0, 0.0, 0.0), f"shoulder_{s}": (0.0, 0.0, 0.0)},  # arm straight
    )


# Shoulder raises: elevation from 5° at rest to 150–165° (ISB Y-X-Y: elevation, plane, rotation).
_ARM_REST_DEG = 5.0
_ARM_RAISE_DEG = 160.0
_ARM_AMPLITUDE = ((150.0 - _ARM_REST_DEG) / _ARM_RAISE_DEG, 1.0)


def _shoulder_raise(
    req: MovementRequest, name: str, plane_deg: float, trunk: Pose, rotation_deg: float
) -> Program:
    s = req.side
    base: Pose = {f"shoulder_{s}": (_ARM_REST_DEG, plane_deg, -plane_deg), f"elbow_{s}": (10.0, 0.0, 0.0)}
    delta: Pose = {f"shoulder_{s}": (_ARM_RAISE_DEG, 0.0, rotation_deg), **trunk}
    return _rep_program(
        req,
        name,
        base=base,
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(2.0, 0.5, 2.5, (1.0, 2.0)),
        amplitude=_ARM_AMPLITUDE,
        counted=[("shoulder", s, "flexion_deg")],
        calibration={f"shoulder_{s}": (0.0, plane_deg, -plane_deg), f"elbow_{s}": (0.0, 0.0, 0.0)},
    )


def shoulder_abduction(req: MovementRequest) -> Program:
    """Standing lateral raise in the frontal plane to 150–165° elevation, turning the arm out by 20°.

    The trunk bends 3° away from the arm at the top (natural; a "trunk-lean" compensation adds more).
    """
    lean = -3.0 * _lat(req.side)
    return _shoulder_raise(req, "shoulder-abduction", 0.0, {"lumbar": (0.0, lean, 0.0)}, -20.0)


def shoulder_flexion(req: MovementRequest) -> Program:
    """Standing forward raise in the sagittal plane to 150–165° elevation; the trunk extends 3° at the top."""
    return _shoulder_raise(req, "shoulder-flexion", 90.0, {"lumbar": (-3.0, 0.0, 0.0)}, 0.0)


def straight_leg_raise(req: MovementRequest) -> Program:
    """Supine straight-leg raise to 44–55° of hip flexion, the other leg bent with the foot flat.

    The knee stays at 2°, the pelvis tilts 4° posteriorly at the top while the trunk stays on the floor.
    """
    s, o = req.side, _other(req.side)
    base: Pose = {
        f"hip_{o}": (45.0, 0.0, 0.0),
        f"knee_{o}": (90.0, 0.0, 0.0),
        f"ankle_{o}": (-45.0, 0.0, 0.0),  # foot flat on the floor
        f"knee_{s}": (2.0, 0.0, 0.0),
    }
    delta: Pose = {f"hip_{s}": (55.0, 0.0, 0.0), "pelvis": (-4.0, 0.0, 0.0), "lumbar": (4.0, 0.0, 0.0)}
    return _rep_program(
        req,
        "straight-leg-raise",
        base=base,
        delta=delta,
        root=_supine_root(req),
        tempo=Tempo(1.8, 1.0, 2.2, (1.0, 2.5)),
        amplitude=(0.8, 1.0),
        counted=[("hip", s, "flexion_deg")],
        posture="supine",
    )


def heel_slide(req: MovementRequest) -> Program:
    """Supine heel slide: the heel slides toward the buttock, knee flexion to 84–105°, hip following.

    The hip flexion keeps the ankle at the height it has with the leg straight (exact at the turning point
    of a full rep, within millimetres elsewhere), so the heel stays near the floor.
    """
    s = req.side
    knee = 105.0
    k = np.deg2rad(knee)
    thigh, shank = req.skeleton.thigh_length_m, req.skeleton.shank_length_m
    hip = float(np.rad2deg(np.arctan2(shank * np.sin(k), thigh + shank * np.cos(k))))
    delta: Pose = {
        f"knee_{s}": (knee, 0.0, 0.0),
        f"hip_{s}": (hip, 0.0, 0.0),
        f"ankle_{s}": (-10.0, 0.0, 0.0),
    }
    return _rep_program(
        req,
        "heel-slide",
        base={},
        delta=delta,
        root=_supine_root(req),
        tempo=Tempo(2.0, 0.8, 2.0, (1.0, 2.5)),
        amplitude=(0.8, 1.0),
        counted=[("knee", s, "flexion_deg")],
        posture="supine",
    )


def lumbar_flexion(req: MovementRequest) -> Program:
    """Standing forward bend, knees straight: lumbar flexion to 40–50°, the pelvis tilting 32–40° forward.

    The hips flex with the pelvis plus 8° as the ankles plantarflex (the hips shift back over the feet);
    the arms hang vertically.
    """
    pelvis, lumbar, shift = 40.0, 50.0, 8.0
    delta: Pose = {"pelvis": (pelvis, 0.0, 0.0), "lumbar": (lumbar, 0.0, 0.0)}
    base: Pose = {}
    for side in ("right", "left"):
        delta[f"hip_{side}"] = (pelvis + shift, 0.0, 0.0)
        delta[f"ankle_{side}"] = (-shift, 0.0, 0.0)
        base[f"shoulder_{side}"] = (0.0, 90.0, -90.0)
        delta[f"shoulder_{side}"] = (pelvis + lumbar, 0.0, 0.0)
    return _rep_program(
        req,
        "lumbar-flexion",
        base=base,
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(2.5, 1.0, 2.5, (1.0, 2.5)),
        amplitude=(0.8, 1.0),
        counted=[("lumbar", None, "flexion_deg")],
    )
