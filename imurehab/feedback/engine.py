"""The live feedback engine: packets in, cue events out, causally.

:class:`FeedbackEngine` binds an exercise template to the sensors worn: it keeps a
:class:`~imurehab.feedback.track.SensorTrack` per sensor it needs, a live joint model
(:class:`~imurehab.feedback.joint.HingeJoint` or :class:`~imurehab.feedback.joint.TiltJoint`) and, once
calibrated, a :class:`~imurehab.feedback.reps.RepDetector`. Every event is computed from the samples
pushed so far only, so pushing later samples never changes an event already returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.analysis.quality import watched_side
from imurehab.body.angles import HINGE_JOINTS
from imurehab.body.segments import sided_segment
from imurehab.errors import DataValidationError
from imurehab.exercises import ExerciseTemplate
from imurehab.feedback.events import CueEvent
from imurehab.feedback.joint import KEEP_S, Calibration, HingeJoint, TiltJoint
from imurehab.feedback.reps import RepDetector, RepTargets, WatchedChannel
from imurehab.feedback.track import SensorTrack
from imurehab.quaternion import quat_rotate_inverse
from imurehab.simulate.joints import DOF_NAMES

__all__ = ["TILT_JOINTS", "FeedbackEngine", "required_segments"]

FloatArray = npt.NDArray[np.float64]

TILT_JOINTS: Final[dict[str, tuple[str, str | None]]] = {
    "shoulder": ("upper_arm", None),
    "hip": ("thigh", "pelvis"),
    "lumbar": ("trunk", "pelvis"),
}
"""Joints measured as a segment's tilt from the pose: joint → (segment, segment whose tilt is subtracted)."""

# Compensation checks on other joints, watched as the tilt of one segment (rotation about the vertical
# is invisible to tilt, so axial-rotation checks are not watched this way).
_TILT_PROXIES: Final[dict[str, str]] = {"lumbar": "trunk", "shoulder": "upper_arm"}
_TRIM_EVERY_S: Final[float] = 5.0
_POSE_TEXT: Final[dict[str, str]] = {
    "sitting": "sitting upright",
    "standing": "standing upright, arms at your sides",
    "supine": "lying on your back, legs straight",
}


def _rounded(arms: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    return tuple((round(a, 3), round(b, 3)) for a, b in arms)


def required_segments(template: ExerciseTemplate, side: str | None) -> tuple[str, ...]:
    """Segments that need a sensor for the live angle of ``template``'s joint on ``side``.

    Parameters
    ----------
    template : ExerciseTemplate
        The exercise.
    side : {"left", "right"} or None
        The side exercised (None for midline joints).

    Returns
    -------
    tuple of str
        Segment names (``"thigh_right"``, ``"shank_right"``); the optional pelvis of tilt joints is not
        included.

    Raises
    ------
    DataValidationError
        If the joint has no live model (the ankle).
    """
    if template.joint in HINGE_JOINTS:
        jdef = HINGE_JOINTS[template.joint]
        return (sided_segment(jdef.parent, side), sided_segment(jdef.child, side))
    if template.joint in TILT_JOINTS:
        return (sided_segment(TILT_JOINTS[template.joint][0], side),)
    raise DataValidationError(f"no live model for the {template.joint} yet", column="joint")


class FeedbackEngine:
    """Real-time feedback for one set of an exercise, fed packet by packet.

    Parameters
    ----------
    template : ExerciseTemplate
        The exercise (:func:`imurehab.exercises.load_template`).
    placements : Mapping of str to str
        Sensor id → segment (``{"S1": "thigh_right", "S2": "shank_right"}``); sensors not needed are
        ignored.
    rate_hz : float
        Sample rate of the sensors [Hz].
    side : {"left", "right"}, optional
        Side exercised; default the first of the template's sides whose segments all have a sensor.

    Raises
    ------
    DataValidationError
        If no allowed side has sensors on the segments the joint needs.

    Notes
    -----
    The set must start with about one second of stillness in the template's pose, then the first
    repetition calibrates the joint's axes (a ``calibrating`` event says which step is due, ``ready``
    when done); that repetition is counted too. Compensation checks are watched when their segment has
    a sensor: checks on the exercised joint's other angles through the hinge model, trunk and upper-arm
    checks through that segment's tilt since the repetition started (any direction). The ``ready`` event
    lists which checks are watched and which are not.

    Examples
    --------
    >>> from imurehab.exercises import load_template
    >>> from imurehab.simulate import simulate_session
    >>> sim = simulate_session("seated-knee-extension", reps=2, with_mag=False, seed=3)
    >>> rec = sim.recording
    >>> engine = FeedbackEngine(load_template("seated-knee-extension"), rec.session.placements, 100.0)
    >>> events = []
    >>> for k in range(0, len(rec.sensors[0].time_us), 10):
    ...     for s in rec.sensors:
    ...         part = slice(k, k + 10)
    ...         events += engine.push(s.sensor_id, s.time_us[part], s.acc[part], s.gyr[part])
    >>> [e.kind for e in events if e.kind in ("ready", "rep")]
    ['ready', 'rep', 'rep']
    """

    def __init__(
        self,
        template: ExerciseTemplate,
        placements: Mapping[str, str],
        rate_hz: float,
        *,
        side: str | None = None,
    ) -> None:
        on_segment = {seg: sid for sid, seg in placements.items()}
        sides = template.sides if side is None else (side,)
        if side is not None and side not in template.sides:
            raise DataValidationError(f"{template.name} is done on {template.sides}, not {side!r}")
        chosen = next((s for s in sides if all(g in on_segment for g in required_segments(template, s))), "?")
        if chosen == "?":
            need = ", or ".join(" and ".join(required_segments(template, s)) for s in sides)
            raise DataValidationError(
                f"{template.name} needs sensors on {need} (placements: {dict(placements)})"
            )
        self.template, self.side, self.rate_hz = template, chosen, float(rate_hz)
        segs = required_segments(template, chosen)
        self.model: HingeJoint | TiltJoint
        if template.joint in HINGE_JOINTS:
            self.model = HingeJoint(
                template.joint,
                template.pose,
                on_segment[segs[0]],
                on_segment[segs[1]],
                rate_hz,
                template.direction,
            )
        else:
            ref = TILT_JOINTS[template.joint][1]
            self.model = TiltJoint(on_segment[segs[0]], on_segment.get(ref) if ref else None, rate_hz)
        self._dof = DOF_NAMES.index(template.dof)
        self.channels: list[tuple[WatchedChannel, str | int]] = []  # (channel, sensor id or angle column)
        self.unwatched: list[str] = []
        self._bind_checks(on_segment)
        wanted = {*self.model.sensors, *(src for _, src in self.channels if isinstance(src, str))}
        self._tracks = {sid: SensorTrack(rate_hz) for sid in wanted}
        self.detector: RepDetector | None = None
        self._announced = False
        self._done = 0
        self._trimmed_at: int | None = None
        self._recheck_due = False
        self.rechecks = 0
        """How many times the lever-arm test was run again after a repetition."""

    def _bind_checks(self, on_segment: Mapping[str, str]) -> None:
        hinge = isinstance(self.model, HingeJoint)
        for chk in self.template.compensations:
            _, side = watched_side(chk, self.side)
            channel = WatchedChannel(chk.name, chk.cue, chk.max_change_deg, vector=False)
            if (
                chk.joint == self.template.joint
                and side == self.side
                and hinge
                and chk.dof != self.template.dof
            ):
                self.channels.append((channel, DOF_NAMES.index(chk.dof)))
                continue
            proxy = _TILT_PROXIES.get(chk.joint)
            sid = None if proxy is None else on_segment.get(sided_segment(proxy, side))
            if sid is not None and chk.dof != "rotation_deg" and chk.joint != self.template.joint:
                self.channels.append(
                    (WatchedChannel(chk.name, chk.cue, chk.max_change_deg, vector=True), sid)
                )
            else:
                self.unwatched.append(chk.name)

    @property
    def stage(self) -> str:
        """``"static"`` (waiting for stillness), ``"movement"`` (for the first repetition) or ``"ready"``."""
        return self.model.stage

    @property
    def calibration(self) -> Calibration | None:
        """How the joint was calibrated (None until ready)."""
        return self.model.calibration

    @property
    def reps(self) -> int:
        """Repetitions counted so far."""
        return 0 if self.detector is None else self.detector.count

    @property
    def sensors(self) -> tuple[str, ...]:
        """Sensor ids the engine uses (others are ignored by :meth:`push`)."""
        return tuple(self._tracks)

    def push(
        self, sensor_id: str, time_us: npt.ArrayLike, acc: npt.ArrayLike, gyr: npt.ArrayLike
    ) -> list[CueEvent]:
        """Feed one packet of one sensor; returns the events it completes, in time order.

        Parameters
        ----------
        sensor_id : str
            The sensor (a key of ``placements``); unknown or unused sensors are ignored.
        time_us : array_like of int, shape (n,)
            Sample times [µs since the Unix epoch, UTC], ascending.
        acc : array_like, shape (n, 3)
            Specific force [m/s²].
        gyr : array_like, shape (n, 3)
            Angular rate [rad/s].

        Returns
        -------
        list of CueEvent
            Possibly empty. Each event's ``time_us`` is the time of the sample that triggered it.
        """
        track = self._tracks.get(sensor_id)
        if track is None or track.append(time_us, acc, gyr) == 0:
            return []
        events: list[CueEvent] = []
        if not self._announced:
            self._announced = True
            pose = _POSE_TEXT.get(self.template.pose, self.template.pose)
            events.append(
                self._event(track.time_us(0, 1)[0], "calibrating", f"Hold still, {pose}", stage="static")
            )
        model = self.model
        if not model.advance(self._tracks):
            return events
        if model.stage != "ready":
            before = model.stage
            model.step_calibration()
            now = int(model.cols.time_us[-1])
            if before == "static" and model.stage == "movement":
                events.append(self._event(now, "calibrating", "Now one slow repetition", stage="movement"))
            if model.stage != "ready":
                return events
            events.append(self._ready(now))
        events += self._process()
        if not events and self._recheck_due and self.detector is not None and self.detector.at_rest:
            events += self._recheck()
        self._trim()
        return events

    def _event(self, time_us: int, kind: str, text: str, **values: object) -> CueEvent:
        return CueEvent(int(time_us), kind, text, {"joint": self.template.joint, "side": self.side, **values})

    def _ready(self, now: int) -> CueEvent:
        cal = self.model.calibration
        assert cal is not None and self.model.static is not None
        targets = RepTargets(
            self.template.direction,
            self.template.target_deg,
            self.template.target_rom_deg,
            self.template.tolerance_deg,
            self.template.min_rep_s,
            self.template.max_rep_s,
            self.template.cues,
        )
        context = {"joint": self.template.joint, "side": self.side}
        self.detector = RepDetector(
            targets, cal.rest_deg, self.rate_hz, [c for c, _ in self.channels], context
        )
        self._done = self.model.static.start
        return self._event(
            now,
            "ready",
            "Ready: start your repetitions",
            method=cal.method,
            heading=cal.heading,
            rest_deg=round(cal.rest_deg, 2),
            off_axis_rms_deg=round(cal.off_axis_rms_deg, 2),
            lever_arms_m=_rounded(self.model.lever_arms_m) if isinstance(self.model, HingeJoint) else (),
            watched=tuple(c.name for c, _ in self.channels),
            unwatched=tuple(self.unwatched),
        )

    def _process(self) -> list[CueEvent]:
        assert self.detector is not None
        lo, hi = self._done, self.model.cols.end
        if hi <= lo:
            return []
        times = self.model.cols.times(lo, hi)
        ang = self.model.angles(lo, hi)
        watched: list[FloatArray | None] = []
        for _, src in self.channels:
            if isinstance(src, int):
                watched.append(ang[:, src : src + 1])
                continue
            tr = self._tracks[src]
            if tr.end == 0:
                watched.append(None)
                continue
            k = tr.index_at(times)
            q = tr.quat(int(k.min()), int(k.max()) + 1)[k - int(k.min())]
            watched.append(quat_rotate_inverse(q, np.array([0.0, 0.0, 1.0])))
        self._done = hi
        before = self.detector.count
        events = self.detector.update(times, ang[:, self._dof], watched)
        if self.detector.count > before and isinstance(self.model, HingeJoint) and self.model.heading_open:
            self._recheck_due = True
        return events

    def _recheck(self) -> list[CueEvent]:
        """The lever-arm test again after a repetition, on a push that returns no cue (cues never wait)."""
        assert isinstance(self.model, HingeJoint) and self.detector is not None
        self._recheck_due = False
        self.rechecks += 1
        previous, before = self.model.calibration, self.model.solution
        chosen = self.model.recheck_heading()
        if chosen is None or previous is None:
            return []
        changed = chosen is not before
        if changed:
            self.detector.rebase(chosen.rest_deg)
        now = int(self.model.cols.time_us[-1])
        text = "Calibration corrected" if changed else "Calibration confirmed"
        return [
            self._event(
                now,
                "heading",
                text,
                heading="lever-arms",
                previous=previous.heading,
                changed=changed,
                rest_deg=round(chosen.rest_deg, 2),
                lever_arms_m=_rounded(self.model.lever_arms_m),
                after_rep=self.detector.count,
            )
        ]

    def _trim(self) -> None:
        now = int(self.model.cols.time_us[-1])
        if self._trimmed_at is not None and now - self._trimmed_at < _TRIM_EVERY_S * 1e6:
            return
        self._trimmed_at = now
        cut = now - int(KEEP_S * 1e6)
        self.model.forget_before_time(cut)
        for tr in self._tracks.values():
            if tr.end:
                tr.forget_before(int(tr.index_at([cut])[0]))
