"""Movement programs: commanded joint angles and root motion over time, with rep and phase windows.

A :class:`Program` is one or more activities on a common timeline, blended by smooth weights (HYROX
stations with transitions; a single exercise is a program of one activity). An activity gives clinical
joint angles [deg] as a function of time and a :class:`RootSpec` that places the pelvis. Everything is a
pure function of time, so the sensor model can evaluate the body at any instant.

Root placement works in the body reference frame B (x forward, y up, z right; see
:mod:`imurehab.simulate.body`). Closed kinematic chains (both feet on the floor) are approximated: the
pelvis is placed so that a weighted mean of the ankles stays put ("anchor") or so that the lowest point
of the feet, heel or forefoot, stays at floor level ("ground"); the other foot may slide a little.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from imurehab.quaternion import quat_multiply, quat_rotate
from imurehab.simulate.body import (
    Posture,
    Skeleton,
    body_to_earth,
    orientations_in_body_frame,
    origins_in_body_frame,
    segment_chain,
)
from imurehab.simulate.joints import (
    DOF_NAMES,
    JOINTS,
    AngleSequence,
    joint_angles_from_rotation,
    joint_rotation,
)
from imurehab.simulate.trajectory import MinJerkPath
from imurehab.simulate.truth import PhaseTruth, RepTruth

__all__ = [
    "Activity",
    "Feet",
    "PoseBlend",
    "Program",
    "RepWindow",
    "Root",
    "RootSpec",
    "evaluate_pose",
    "feet_in_body_frame",
    "joints_for",
]

FloatArray = npt.NDArray[np.float64]
Pose = Mapping[str, tuple[float, float, float]]
"""Joint key → clinical angles (flexion, abduction, rotation) [deg]."""
Axis = Callable[[FloatArray], FloatArray] | float | str

# soft-min widths [m]: between the feet (the pelvis height stays smooth when the supporting foot changes)
# and between heel and forefoot of one foot
_GROUND_SOFTNESS_M = 0.02
_ROLL_SOFTNESS_M = 0.01


def _soft_min(a: FloatArray, b: FloatArray, tau: float) -> FloatArray:
    """Smooth minimum, exact when ``a == b`` and at most ``τ·ln 2`` below ``min(a, b)`` otherwise."""
    return -tau * np.logaddexp(-a / tau, -b / tau) + tau * np.log(2.0)


@dataclass(frozen=True, eq=False)
class Feet:
    """Foot points relative to the pelvis origin, in the body reference frame B [m], each (M, 3).

    ``heel`` and ``toe`` are the contact points of :class:`~imurehab.simulate.body.Skeleton`
    (``heel_offset``, ``toe_offset``); ``ankle`` the ankle joint centre.
    """

    ankle: Mapping[str, FloatArray]
    heel: Mapping[str, FloatArray]
    toe: Mapping[str, FloatArray]

    def lowest_height(self, side: str) -> FloatArray:
        """Height of the foot's lowest point (smooth between heel and forefoot) [m]."""
        return _soft_min(self.heel[side][:, 1], self.toe[side][:, 1], _ROLL_SOFTNESS_M)

    def contact(self, side: str) -> FloatArray:
        """The point the foot rolls on: heel, forefoot or between, weighted by which is lower [m]."""
        w_heel = 0.5 * (
            1.0 + np.tanh((self.toe[side][:, 1] - self.heel[side][:, 1]) / (2 * _ROLL_SOFTNESS_M))
        )
        return w_heel[:, None] * self.heel[side] + (1.0 - w_heel[:, None]) * self.toe[side]


class Root(Protocol):
    """Places the pelvis origin in the body reference frame B [m], given where the feet are."""

    def position(self, t: FloatArray, feet: Feet, skeleton: Skeleton) -> FloatArray:
        """Pelvis origin in B [m], shape (M, 3)."""
        ...


@dataclass(frozen=True)
class RootSpec:
    """How the pelvis origin moves, per axis of the body reference frame B [m].

    Each axis is a callable of time, a constant, ``"anchor"`` (keep the weighted mean of the ankles at its
    standing place, shifted by ``station``) or, for ``up`` only, ``"ground"`` (keep the lowest point of
    the feet on the floor, heel or forefoot).

    Parameters
    ----------
    forward, up, right : callable, float or str
        The three axes.
    station : tuple of float
        (forward, right) offset [m] of the anchored stance from the origin of B.
    anchor_right_weight : float
        Weight of the right ankle in the anchor (0.5: both feet planted).
    """

    forward: Axis = "anchor"
    up: Axis = "anchor"
    right: Axis = "anchor"
    station: tuple[float, float] = (0.0, 0.0)
    anchor_right_weight: float = 0.5

    def position(self, t: FloatArray, feet: Feet, skeleton: Skeleton) -> FloatArray:
        """Pelvis origin in B [m], shape (M, 3)."""
        wr = self.anchor_right_weight
        rest = (1.0 - wr) * skeleton.ankle_rest_position("left") + wr * skeleton.ankle_rest_position("right")
        rest = rest + np.array([self.station[0], 0.0, self.station[1]])
        rel = (1.0 - wr) * feet.ankle["left"] + wr * feet.ankle["right"]
        out = np.empty((t.shape[0], 3))
        for i, axis in enumerate((self.forward, self.up, self.right)):
            if isinstance(axis, str):
                if axis == "anchor":
                    out[:, i] = rest[i] - rel[:, i]
                elif axis == "ground" and i == 1:
                    low = _soft_min(
                        feet.lowest_height("left"), feet.lowest_height("right"), _GROUND_SOFTNESS_M
                    )
                    out[:, i] = -low
                else:
                    raise ValueError(f"unknown root axis mode {axis!r}")
            elif callable(axis):
                out[:, i] = axis(t)
            else:
                out[:, i] = float(axis)
        return out


class Activity(Protocol):
    """One movement on the session timeline: commanded joint angles and root placement."""

    label: str
    root: Root

    def angles(self, t: FloatArray, joints: Collection[str] | None = None) -> dict[str, FloatArray]:
        """Joint key → clinical angles [deg], shape (M, 3), for the joints it moves (filtered)."""
        ...


def _pose_arrays(pose: Pose) -> dict[str, FloatArray]:
    for key in pose:
        if key not in JOINTS:
            raise KeyError(f"unknown joint {key!r}")
    return {k: np.asarray(v, dtype=np.float64) for k, v in pose.items()}


@dataclass(frozen=True, eq=False)
class PoseBlend:
    """Angles = ``base + Σₖ pₖ(t)·deltaₖ``: a rest pose plus poses scaled by progress paths.

    Rep exercises use one progress path per movement component (legs, trunk, arms), each a
    :class:`~imurehab.simulate.trajectory.MinJerkPath` going 0 → amplitude → 0 per rep.
    """

    label: str
    base: Pose
    terms: tuple[tuple[MinJerkPath, Pose], ...]
    root: RootSpec
    _base: dict[str, FloatArray] = field(init=False, repr=False)
    _deltas: dict[str, FloatArray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        base = _pose_arrays(self.base)
        deltas: dict[str, FloatArray] = {}
        for k, (_, pose) in enumerate(self.terms):
            for key, v in _pose_arrays(pose).items():
                deltas.setdefault(key, np.zeros((len(self.terms), 3)))[k] = v
                base.setdefault(key, np.zeros(3))
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_deltas", deltas)

    def angles(self, t: FloatArray, joints: Collection[str] | None = None) -> dict[str, FloatArray]:
        """Joint key → clinical angles [deg], shape (M, 3)."""
        keys = [k for k in self._base if joints is None or k in joints]
        if not keys:
            return {}
        progress = np.stack([path(t) for path, _ in self.terms], axis=-1) if self.terms else None
        out = {}
        for key in keys:
            a = np.broadcast_to(self._base[key], (t.shape[0], 3)).copy()
            if progress is not None and key in self._deltas:
                a += progress @ self._deltas[key]
            out[key] = a
        return out


@dataclass(frozen=True)
class RepWindow:
    """A rep before its extremes are measured: which angle, when, and what was wrong with it.

    ``incomplete`` and ``compensated`` become the :class:`~imurehab.simulate.truth.RepTruth` flags.
    """

    exercise: str
    joint: str
    side: str | None
    start_s: float
    end_s: float
    dof: str = "flexion_deg"
    incomplete: bool = False
    compensated: bool = False


@dataclass(frozen=True, eq=False)
class Program:
    """Activities on one timeline, blended by weights that sum to one.

    Parameters
    ----------
    name : str
        Movement name.
    duration_s : float
        Session length [s].
    activities : tuple
        The activities.
    weights : tuple of MinJerkPath
        One blending weight per activity (values in [0, 1], summing to 1 at every time).
    windows : tuple of RepWindow
        Rep windows; their extremes are measured by :meth:`rep_truth`.
    phases : tuple of PhaseTruth
        Labelled stretches covering ``[0, duration_s)``.
    posture : {"upright", "supine"}
        Whole-body posture (see :mod:`imurehab.simulate.body`); the pelvis angles are relative to it.
    shoulder_sequence : {"YXY", "ZXY"}
        Convention the activities command the shoulders in (ISB Y-X-Y: elevation, plane of elevation,
        axial rotation; or Z-X-Y flexion, abduction, rotation, natural for sagittal arm swing).
        Shoulders are reported in Y-X-Y either way (:meth:`reported_angles`).
    """

    name: str
    duration_s: float
    activities: tuple[Activity, ...]
    weights: tuple[MinJerkPath, ...]
    windows: tuple[RepWindow, ...] = ()
    phases: tuple[PhaseTruth, ...] = ()
    posture: Posture = "upright"
    shoulder_sequence: AngleSequence = "YXY"

    def _weights(self, t: FloatArray) -> list[FloatArray | None]:
        if len(self.activities) == 1:
            return [None]
        return [w(t) for w in self.weights]

    def angles(self, t: FloatArray, joints: Collection[str] | None = None) -> dict[str, FloatArray]:
        """Commanded clinical angles [deg], joint key → (M, 3); joints no activity moves are omitted."""
        out: dict[str, FloatArray] = {}
        for activity, w in zip(self.activities, self._weights(t), strict=True):
            if w is None:
                return activity.angles(t, joints)
            idx = np.flatnonzero(w > 0.0)
            if idx.size == 0:
                continue
            for key, a in activity.angles(t[idx], joints).items():
                acc = out.setdefault(key, np.zeros((t.shape[0], 3)))
                acc[idx] += w[idx, None] * a
        return out

    def reported_angles(self, t: FloatArray, joints: Collection[str] | None = None) -> dict[str, FloatArray]:
        """Commanded angles [deg] in each joint's reporting convention (shoulders in ISB Y-X-Y).

        The shoulders are recomputed from their rotation, so their elevation is in [0°, 180°] and the
        plane and axial rotation in (−180°, 180°] whatever the command convention; every other joint is
        returned as commanded.
        """
        out = self.angles(t, joints)
        for key in out:
            if JOINTS[key].sequence != "ZXY":
                rotation = joint_rotation(key, out[key], self.shoulder_sequence)
                out[key] = joint_angles_from_rotation(key, rotation)
        return out

    def root(self, t: FloatArray, feet: Feet, skeleton: Skeleton) -> FloatArray:
        """Pelvis origin in the body reference frame B [m], shape (M, 3)."""
        out = np.zeros((t.shape[0], 3))
        for activity, w in zip(self.activities, self._weights(t), strict=True):
            if w is None:
                return activity.root.position(t, feet, skeleton)
            idx = np.flatnonzero(w > 0.0)
            if idx.size:
                sub = Feet(
                    *({k: v[idx] for k, v in part.items()} for part in (feet.ankle, feet.heel, feet.toe))
                )
                out[idx] += w[idx, None] * activity.root.position(t[idx], sub, skeleton)
        return out

    def rep_truth(self, step_s: float = 0.002) -> tuple[RepTruth, ...]:
        """Measure each rep window's extremes of the commanded angle (in its reporting convention).

        The angle is evaluated every ``step_s`` [s] across the window, then every ``step_s / 50`` around
        the coarse minimum and maximum, which bounds the error of the extremes at about
        ``(step/50)²·|θ''|/8`` (below 1e-5° for human movement).
        """
        counters: dict[tuple[str, str, str | None], int] = {}
        reps = []
        for win in sorted(self.windows, key=lambda w: (w.start_s, w.joint, w.side or "")):
            ident = (win.exercise, win.joint, win.side)
            counters[ident] = counters.get(ident, 0) + 1
            lo, hi = self._extremes(win, step_s)
            rep = counters[ident]
            reps.append(
                RepTruth(
                    win.exercise,
                    win.joint,
                    win.side,
                    rep,
                    win.start_s,
                    win.end_s,
                    lo,
                    hi,
                    hi - lo,
                    win.dof,
                    incomplete=win.incomplete,
                    compensated=win.compensated,
                )
            )
        return tuple(reps)

    def _extremes(self, win: RepWindow, step_s: float) -> tuple[float, float]:
        key = win.joint if win.side is None else f"{win.joint}_{win.side}"
        dof = DOF_NAMES.index(win.dof)

        def angle(t: FloatArray) -> FloatArray:
            return self.reported_angles(t, joints={key}).get(key, np.zeros((t.shape[0], 3)))[:, dof]

        n = max(int(np.ceil((win.end_s - win.start_s) / step_s)), 1) + 1
        t = np.linspace(win.start_s, win.end_s, n)
        a = angle(t)
        out = []
        for i in (int(np.argmin(a)), int(np.argmax(a))):
            fine = np.linspace(t[max(i - 1, 0)], t[min(i + 1, n - 1)], 101)
            out.append(np.concatenate([angle(fine), a[i : i + 1]]))
        return float(out[0].min()), float(out[1].max())


_FEET = ("foot_left", "foot_right")


def joints_for(segments: Collection[str]) -> set[str]:
    """Keys of every joint the poses of ``segments`` (and the root placement) depend on.

    Parameters
    ----------
    segments : collection of str
        Segment names.
    """
    out = set()
    for seg in set(segments) | set(_FEET):
        for s in segment_chain(seg):
            out.update(k for k, spec in JOINTS.items() if spec.child == s)
    return out


def feet_in_body_frame(
    skeleton: Skeleton, rotations: Mapping[str, FloatArray], origins: Mapping[str, FloatArray]
) -> Feet:
    """Foot points from foot orientations and ankle positions.

    Parameters
    ----------
    skeleton : Skeleton
        Geometry (heel and forefoot offsets).
    rotations : mapping
        Segment → segment-to-B quaternions, with ``foot_left`` and ``foot_right``.
    origins : mapping
        Segment → origin relative to the pelvis in B [m], with ``foot_left`` and ``foot_right``.
    """
    sides = ("left", "right")
    return Feet(
        ankle={s: origins[f"foot_{s}"] for s in sides},
        heel={
            s: origins[f"foot_{s}"] + quat_rotate(rotations[f"foot_{s}"], skeleton.heel_offset) for s in sides
        },
        toe={
            s: origins[f"foot_{s}"] + quat_rotate(rotations[f"foot_{s}"], skeleton.toe_offset) for s in sides
        },
    )


def evaluate_pose(
    program: Program, skeleton: Skeleton, facing_deg: float, t: FloatArray, segments: Collection[str]
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """True pose of ``segments`` at times ``t``.

    Parameters
    ----------
    program : Program
        The commanded movement.
    skeleton : Skeleton
        Body geometry.
    facing_deg : float
        Compass azimuth the body reference frame faces [deg].
    t : ndarray, shape (M,)
        Times [s since session start].
    segments : collection of str
        Segments wanted.

    Returns
    -------
    quats : dict
        Segment → segment-to-earth quaternions (w, x, y, z), shape (M, 4).
    origins : dict
        Segment → origin (proximal joint centre) in the earth frame [m], shape (M, 3).
    """
    t = np.asarray(t, dtype=np.float64)
    angles = program.angles(t, joints_for(segments))
    need = set(segments) | set(_FEET)
    rot_b = orientations_in_body_frame(
        angles, t.shape[0], need, shoulder_sequence=program.shoulder_sequence, posture=program.posture
    )
    rel = origins_in_body_frame(skeleton, rot_b, np.zeros((t.shape[0], 3)), need)
    root = program.root(t, feet_in_body_frame(skeleton, rot_b, rel), skeleton)
    to_earth = body_to_earth(facing_deg)
    quats = {s: quat_multiply(to_earth, rot_b[s]) for s in segments}
    origins = {s: quat_rotate(to_earth, rel[s] + root) for s in segments}
    return quats, origins
