"""Live joint angles with calibration from the start of the set: hinge joints and tilt-based angles.

Both models read sensor tracks (:class:`~imurehab.feedback.track.SensorTrack`) and produce the exercise
joint's angles [deg] on the sample grid of one *driving* sensor, for every sample whose inputs have all
arrived — nothing ever waits for a later sample than the one being computed.

:class:`HingeJoint` (knee, elbow). The set starts with the patient still in the template's pose for one
second: gravity in each sensor then fixes one anatomical axis per segment. The first movement (about
one slow repetition) gives the flexion axis in both sensor frames (Seel, Raisch & Schauer, Sensors
14(4), 2014, or the relative-rate method when the parent barely moves) and the heading between the two
6D estimates; these are :mod:`imurehab.body.calibration`'s functions applied to the data received so
far. Of the four axis-sign pairs the model keeps one that stays inside the joint's physiological range,
moves the joint at least 10° in the template's direction and is closest to a pure hinge. Two pairs 180°
apart in heading can fit the rotations equally; :mod:`imurehab.feedback.heading` then chooses, by the
parent's and the joint's lever arms when they are decisive (``"lever-arms"``), else by the joint
centre or the priors (``"joint-center"``, ``"support"``, ``"co-rotation"``, ``"ambiguous"``); in those
cases :meth:`HingeJoint.recheck_heading` runs the lever-arm test again on everything received since
(the engine calls it after each repetition) until it decides. Afterwards the heading offset is
re-estimated every second from the last :data:`HEADING_WINDOW_S` seconds, because 6D headings drift.

:class:`TiltJoint` (shoulder elevation, hip flexion, lumbar flexion). Where a hinge does not model the
joint, the angle is how far the segment has tilted from its calibration pose: the angle between earth-up
and the direction that was up in the sensor frame during the static second. It needs no heading (6D
inclination is absolute). The shoulder is taken relative to the vertical (trunk assumed upright, its
lean is a compensation check); hip and lumbar subtract the pelvis's tilt when a pelvis sensor exists.
The angle is unsigned: it suits movements away from the pose in one plane.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.body.angles import HINGE_JOINTS, cardan_zxy_deg
from imurehab.body.calibration import (
    align_heading,
    estimate_hinge_axes,
    find_static_window,
    heading_offset,
    segment_frame,
)
from imurehab.errors import DataValidationError
from imurehab.feedback.heading import (
    HingeSolution,
    choose_by_lever_arms,
    choose_by_priors,
    lever_arms,
    window_delta,
)
from imurehab.feedback.track import SensorTrack
from imurehab.quaternion import quat_from_matrix, quat_multiply, quat_normalize, quat_rotate

__all__ = ["HEADING_WINDOW_S", "KEEP_S", "Calibration", "HingeJoint", "TiltJoint", "sample_at"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HEADING_WINDOW_S: Final[float] = 20.0
"""Window of the causal heading re-alignment [s] (as the batch sliding window)."""
_HEADING_EVERY_S: Final[float] = 1.0
_STATIC_S: Final[float] = 1.0  # length of the static calibration window [s]
_MOVING_RADS: Final[float] = 0.3  # child angular rate that starts the calibration movement [rad/s]
_CAL_TURN_RAD: Final[float] = 1.0  # child rotation needed before the axes are fitted at a pause [rad]
_CAL_TURN_MAX_RAD: Final[float] = 2.5  # ... and without a pause [rad]
KEEP_S: Final[float] = 30.0
"""History kept per sensor and model once calibrated [s]."""
_IN_RANGE_DEG: Final[float] = 1.0
_DISTINCT_DEG: Final[float] = 2.0
_MIN_EXCURSION_DEG: Final[float] = 10.0  # the first movement must move the joint this far [deg]

# Which anatomical axis is vertical in each pose (parent, child); supine: segments horizontal, anterior up.
_SUPINE: Final[tuple[str, str]] = ("x", "x")


@dataclass(frozen=True)
class Calibration:
    """How a live joint model was calibrated.

    Attributes
    ----------
    method : str
        ``"seel2014"`` or ``"relative-rate"`` (hinge axes), or ``"tilt"``.
    heading : str
        Hinge heading decision (:mod:`imurehab.feedback.heading`): ``"hinge"`` (one solution fits),
        ``"lever-arms"`` (physics decided), or, while the lever arms have not decided yet,
        ``"joint-center"``, ``"support"``, ``"co-rotation"`` or ``"ambiguous"``; ``"none"`` for tilt
        angles.
    rest_deg : float
        The joint angle during the static window [deg].
    static_s : float
        Length of the static window used [s].
    off_axis_rms_deg : float
        RMS of the non-flexion angles about their means during calibration [deg] (0 for tilt).
    """

    method: str
    heading: str
    rest_deg: float
    static_s: float
    off_axis_rms_deg: float


def sample_at(track: SensorTrack, time_us: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A track's orientation, specific force and angular rate at given times, interpolated.

    Parameters
    ----------
    track : SensorTrack
        The sensor; it must hold samples up to ``time_us[-1]``.
    time_us : ndarray of int64, shape (n,)
        Times [µs], ascending.

    Returns
    -------
    quat : ndarray, shape (n, 4)
        Orientation (w, x, y, z), normalised linear interpolation of the neighbours.
    acc, gyr : ndarray, shape (n, 3)
        Specific force [m/s²] and angular rate [rad/s], linearly interpolated.
    """
    k = track.index_at(time_us)
    k1 = np.minimum(k + 1, track.end - 1)
    lo, hi = int(k.min()), int(k1.max()) + 1
    t = track.time_us(lo, hi).astype(np.float64)
    i0, i1 = k - lo, k1 - lo
    span = t[i1] - t[i0]
    f = np.where(span > 0, (time_us - t[i0]) / np.where(span > 0, span, 1.0), 0.0)
    f = np.clip(f, 0.0, 1.0)[:, None]
    q = track.quat(lo, hi)
    q0, q1 = q[i0], q[i1]
    q1 = np.where(np.sum(q0 * q1, axis=1, keepdims=True) < 0, -q1, q1)
    acc, gyr = track.acc(lo, hi), track.gyr(lo, hi)
    return (
        quat_normalize(q0 + f * (q1 - q0)),
        acc[i0] + f * (acc[i1] - acc[i0]),
        gyr[i0] + f * (gyr[i1] - gyr[i0]),
    )


class _Columns:
    """Aligned samples of a joint model: time and named columns, grown by packets, trimmed from the front."""

    def __init__(self, widths: dict[str, int]) -> None:
        self.data: dict[str, FloatArray] = {k: np.empty((0, w)) for k, w in widths.items()}
        self.time_us: IntArray = np.empty(0, np.int64)
        self.base = 0

    @property
    def end(self) -> int:
        return self.base + len(self.time_us)

    def extend(self, time_us: IntArray, cols: dict[str, FloatArray]) -> None:
        self.time_us = np.concatenate([self.time_us, time_us])
        for k, v in cols.items():
            self.data[k] = np.concatenate([self.data[k], v])

    def get(self, name: str, lo: int, hi: int) -> FloatArray:
        return self.data[name][lo - self.base : hi - self.base]

    def times(self, lo: int, hi: int) -> IntArray:
        return self.time_us[lo - self.base : hi - self.base]

    def drop_before(self, index: int) -> None:
        cut = max(0, index - self.base)
        if cut > 0:
            self.time_us = self.time_us[cut:]
            self.data = {k: v[cut:] for k, v in self.data.items()}
            self.base += cut


class _LiveJoint:
    """What both models share: aligned buffers, the static window search, the stage."""

    driver: str
    sensors: tuple[str, ...]

    def __init__(self, rate_hz: float, widths: dict[str, int]) -> None:
        self.rate_hz = rate_hz
        self.cols = _Columns(widths)
        self.stage = "static"  # → "movement" (hinge only) → "ready"
        self.calibration: Calibration | None = None
        self.static: slice | None = None  # absolute indices into the aligned columns
        self._checked_to = 0

    def advance(self, tracks: dict[str, SensorTrack]) -> int:
        """Align the driver's new samples with the other sensors' and append them; returns how many."""
        drv = tracks[self.driver]
        start = self.cols.end
        if drv.end <= start:
            return 0
        t = drv.time_us(start, drv.end)
        for sid in self.sensors:
            last = tracks[sid].last_time_us
            if last is None:
                return 0
            t = t[t <= last]
        if len(t) == 0:
            return 0
        cols: dict[str, FloatArray] = {}
        for role, sid in zip(self.roles, self.sensors, strict=True):
            if sid == self.driver:
                hi = start + len(t)
                q, a, g = drv.quat(start, hi).copy(), drv.acc(start, hi).copy(), drv.gyr(start, hi).copy()
            else:
                q, a, g = sample_at(tracks[sid], t)
            cols[f"q_{role}"], cols[f"acc_{role}"], cols[f"gyr_{role}"] = q, a, g
        self.cols.extend(t, cols)
        return len(t)

    @property
    def roles(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _find_static(self) -> None:
        """Move :attr:`static` to the newest second in which every sensor rests (checked per new data)."""
        end = self.cols.end
        need = int(_STATIC_S * self.rate_hz)
        lo = max(self.cols.base, end - need - int(0.25 * self.rate_hz))
        if end - lo < need or end - self._checked_to < max(1, int(0.05 * self.rate_hz)):
            return
        self._checked_to = end
        gyrs = [self.cols.get(f"gyr_{r}", lo, end) for r in self.roles]
        try:
            win = find_static_window(gyrs, self.rate_hz, min_duration_s=_STATIC_S)
        except DataValidationError:
            return
        self.static = slice(lo + win.start, lo + win.stop)

    def forget_before_time(self, time_us: int) -> None:
        """Drop aligned samples older than ``time_us`` (once calibrated)."""
        if self.stage == "ready":
            k = int(np.searchsorted(self.cols.time_us, time_us)) + self.cols.base
            self.cols.drop_before(k)


class HingeJoint(_LiveJoint):
    """A knee or elbow from a parent and a child sensor, calibrated live (see the module notes).

    Parameters
    ----------
    joint : {"knee", "elbow"}
        The joint (:data:`imurehab.body.HINGE_JOINTS`).
    pose : {"standing", "sitting", "supine"}
        Calibration pose at the start of the set.
    parent_id, child_id : str
        Sensors on the parent (thigh, upper arm) and child (shank, forearm) segments.
    rate_hz : float
        Sample rate [Hz].
    direction : {"increase", "decrease"}
        Which way a repetition moves the flexion angle (used to pick the axis signs).
    """

    def __init__(
        self, joint: str, pose: str, parent_id: str, child_id: str, rate_hz: float, direction: str
    ) -> None:
        if joint not in HINGE_JOINTS:
            raise DataValidationError(
                f"{joint!r} is not a hinge joint; expected one of {sorted(HINGE_JOINTS)}"
            )
        super().__init__(
            rate_hz, {f"{k}_{r}": w for r in ("p", "c") for k, w in (("q", 4), ("acc", 3), ("gyr", 3))}
        )
        self.joint, self.jdef, self.direction = joint, HINGE_JOINTS[joint], direction
        self.vertical = self.jdef.vertical_axis.get(pose, _SUPINE if pose == "supine" else None)
        if self.vertical is None:
            raise DataValidationError(f"unknown calibration pose {pose!r} for the {joint}")
        self.driver, self.sensors = child_id, (parent_id, child_id)
        # The thigh rests on the seat (sitting) or the bed (supine): its distal end cannot go down.
        self.supported = joint == "knee" and pose in ("sitting", "supine")
        self.move_start: int | None = None
        self._turn_rad = 0.0
        self._turned_to = 0
        self._axes: tuple[FloatArray, FloatArray] | None = None  # signed axes in parent, child frames
        self._solution: HingeSolution | None = None
        self._rivals: list[HingeSolution] = []  # the solution first chosen from, then distinct rivals
        self.lever_arms_m: list[tuple[float, float]] = []  # last lever-arm test, per rival [m]
        self._frames: tuple[FloatArray, FloatArray] | None = None  # segment → sensor quaternions
        self.delta_rad = 0.0
        self._heading_at = 0

    @property
    def roles(self) -> tuple[str, ...]:
        """Column suffixes of the sensors, in the order of :attr:`sensors`."""
        return ("p", "c")

    def step_calibration(self) -> None:
        """Advance the calibration on the samples aligned so far (call after :meth:`advance`)."""
        if self.stage == "static":
            self._find_static()
            if self.static is None:
                return
            gc = self.cols.get("gyr_c", self.static.stop, self.cols.end)
            moving = np.flatnonzero(np.linalg.norm(gc, axis=1) > _MOVING_RADS)
            if moving.size == 0:
                return
            self.stage, self.move_start = "movement", self.static.stop + int(moving[0])
            self._turned_to = self.move_start
        if self.stage == "movement":
            assert self.move_start is not None and self.static is not None
            end = self.cols.end
            gc = self.cols.get("gyr_c", self._turned_to, end)
            self._turn_rad += float(np.sum(np.linalg.norm(gc, axis=1))) / self.rate_hz
            self._turned_to = end
            recent = self.cols.get("gyr_c", max(self.move_start, end - int(0.1 * self.rate_hz)), end)
            paused = float(np.max(np.linalg.norm(recent, axis=1))) < _MOVING_RADS
            if (self._turn_rad >= _CAL_TURN_RAD and paused) or self._turn_rad >= _CAL_TURN_MAX_RAD:
                self._fit()

    def _fit(self) -> None:
        assert self.static is not None
        lo, hi = self.static.start, self.cols.end
        c = {k: self.cols.get(k, lo, hi) for k in self.cols.data}
        try:
            axes = estimate_hinge_axes(c["gyr_p"], c["gyr_c"], c["q_p"], c["q_c"])
        except DataValidationError:
            return
        st = slice(0, self.static.stop - lo)
        up_p, up_c = c["acc_p"][st].mean(axis=0), c["acc_c"][st].mean(axis=0)
        vp, vc = self.vertical
        lo_deg, hi_deg = self.jdef.flexion_range_deg
        sign = 1.0 if self.direction == "increase" else -1.0
        cands = []
        for sp, sc in ((1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)):
            jp, jc = sp * axes.parent, sc * axes.child
            try:
                fp, fc = (
                    quat_from_matrix(segment_frame(jp, up_p, vp)),
                    quat_from_matrix(segment_frame(jc, up_c, vc)),
                )
            except DataValidationError:
                return
            delta = float(heading_offset(c["q_p"], c["q_c"], jp, jc, self.rate_hz, window_s=1e9)[-1])
            ang = self._cardan(c["q_p"], c["q_c"], fp, fc, delta)
            flex = ang[:, 0]
            outside = np.clip(lo_deg - flex, 0, None) + np.clip(flex - hi_deg, 0, None)
            rest = float(flex[st].mean())
            excursion = sign * (flex[st.stop :] - rest)
            along = excursion.size > 0 and excursion.max() > max(_MIN_EXCURSION_DEG, -2.0 * excursion.min())
            off = float(np.sqrt(np.mean((ang[:, 1:] - ang[:, 1:].mean(axis=0)) ** 2)))
            plausible = float(np.sqrt(np.mean(outside**2))) < _IN_RANGE_DEG and along
            cands.append(HingeSolution(jp, jc, fp, fc, delta, flex, rest, off, plausible))
        pool = sorted([x for x in cands if x.plausible] or cands, key=lambda x: x.off_axis_rms_deg)
        best, heading = pool[0], "hinge"
        rivals = [x for x in pool[1:] if np.max(np.abs(x.flexion_deg - best.flexion_deg)) > _DISTINCT_DEG]
        self._rivals = [best, *rivals]
        if rivals:
            arms = lever_arms(c, self._rivals, [x.delta_rad for x in self._rivals], self.rate_hz)
            self.lever_arms_m = arms
            pick = choose_by_lever_arms(arms)
            if pick is not None:
                best, heading = self._rivals[pick], "lever-arms"
            else:
                best, heading = choose_by_priors(c, best, rivals[0], self.joint, self.supported, self.rate_hz)
        self._use(best)
        self.delta_rad, self._heading_at = best.delta_rad, hi
        self.calibration = Calibration(
            axes.method, heading, best.rest_deg, (self.static.stop - lo) / self.rate_hz, best.off_axis_rms_deg
        )
        self.stage = "ready"

    @property
    def solution(self) -> HingeSolution | None:
        """The hinge solution in use (None until calibrated)."""
        return self._solution

    @property
    def heading_open(self) -> bool:
        """True while the heading was settled by something else than physics and lever arms may still."""
        cal = self.calibration
        return cal is not None and cal.heading not in ("hinge", "lever-arms") and len(self._rivals) > 1

    def recheck_heading(self) -> HingeSolution | None:
        """Run the lever-arm test again on everything kept since the static window (causal).

        Returns
        -------
        HingeSolution or None
            The solution now in use when the lever arms decided (the calibration's ``heading`` becomes
            ``"lever-arms"``), None when they still do not.
        """
        assert self.static is not None and self.calibration is not None
        lo, hi = max(self.cols.base, self.static.start), self.cols.end
        w = {k: self.cols.get(k, lo, hi) for k in self.cols.data}
        deltas = [window_delta(w, s, self.rate_hz) for s in self._rivals]
        arms = lever_arms(w, self._rivals, deltas, self.rate_hz)
        self.lever_arms_m = arms
        pick = choose_by_lever_arms(arms)
        if pick is None:
            return None
        chosen = self._rivals[pick]
        if chosen is not self._solution:
            self._use(chosen)
            self.delta_rad, self._heading_at = deltas[pick], hi
        self.calibration = dataclasses.replace(
            self.calibration,
            heading="lever-arms",
            rest_deg=chosen.rest_deg,
            off_axis_rms_deg=chosen.off_axis_rms_deg,
        )
        return chosen

    def _use(self, s: HingeSolution) -> None:
        self._solution = s
        self._axes, self._frames = (s.j_parent, s.j_child), (s.frame_parent, s.frame_child)

    def _cardan(
        self, q_p: FloatArray, q_c: FloatArray, fp: FloatArray, fc: FloatArray, delta: float
    ) -> FloatArray:
        ang = cardan_zxy_deg(quat_multiply(align_heading(q_p, delta), fp), quat_multiply(q_c, fc))
        ang[:, 0] *= self.jdef.flexion_sign
        return ang

    def angles(self, lo: int, hi: int) -> FloatArray:
        """Flexion, ab/adduction and axial rotation [deg] of aligned samples ``lo`` to ``hi`` (calibrated).

        The heading offset is re-estimated (causally, from samples up to ``hi``) once per second of data.
        """
        assert self._axes is not None and self._frames is not None
        if hi - self._heading_at >= int(_HEADING_EVERY_S * self.rate_hz):
            w0 = max(self.cols.base, hi - int(HEADING_WINDOW_S * self.rate_hz))
            self.delta_rad = float(
                heading_offset(
                    self.cols.get("q_p", w0, hi),
                    self.cols.get("q_c", w0, hi),
                    *self._axes,
                    self.rate_hz,
                    window_s=1e9,
                )[-1]
            )
            self._heading_at = hi
        return self._cardan(
            self.cols.get("q_p", lo, hi), self.cols.get("q_c", lo, hi), *self._frames, self.delta_rad
        )


class TiltJoint(_LiveJoint):
    """A joint angle as its segment's tilt away from the calibration pose (see the module notes).

    Parameters
    ----------
    segment_id : str
        Sensor on the moving segment (upper arm, thigh, trunk).
    reference_id : str or None
        Sensor whose own tilt is subtracted (the pelvis for hip and lumbar), or None.
    rate_hz : float
        Sample rate [Hz].
    """

    def __init__(self, segment_id: str, reference_id: str | None, rate_hz: float) -> None:
        roles = ("s", "r") if reference_id is not None else ("s",)
        super().__init__(
            rate_hz, {f"{k}_{r}": w for r in roles for k, w in (("q", 4), ("acc", 3), ("gyr", 3))}
        )
        self._roles = roles
        self.driver = segment_id
        self.sensors = (segment_id,) if reference_id is None else (segment_id, reference_id)
        self._up: dict[str, FloatArray] = {}

    @property
    def roles(self) -> tuple[str, ...]:
        """Column suffixes of the sensors, in the order of :attr:`sensors`."""
        return self._roles

    def step_calibration(self) -> None:
        """Calibrate on the first second in which the sensors rest."""
        self._find_static()
        if self.static is None:
            return
        for r in self.roles:
            up = self.cols.get(f"acc_{r}", self.static.start, self.static.stop).mean(axis=0)
            self._up[r] = up / np.linalg.norm(up)
        self.calibration = Calibration("tilt", "none", 0.0, _STATIC_S, 0.0)
        self.stage = "ready"

    def angles(self, lo: int, hi: int) -> FloatArray:
        """Tilt from the pose [deg] in column 0 (NaN in columns 1–2) of aligned samples ``lo`` to ``hi``."""
        out = np.full((hi - lo, 3), np.nan)
        tilt = np.zeros(hi - lo)
        for r, sign in zip(self.roles, (1.0, -1.0), strict=False):
            up = quat_rotate(self.cols.get(f"q_{r}", lo, hi), self._up[r])
            tilt += sign * np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
        out[:, 0] = tilt
        return out
