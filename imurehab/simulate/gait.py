"""Cyclic locomotion: walking and running as phase-driven joint-angle patterns.

Joint angles follow periodic patterns of the gait phase φ (in cycles; φ of the right leg is an integer at
right heel strike/initial contact, the left leg runs half a cycle later). The phase advances at the stride
frequency scaled by an activity envelope (0 at rest, 1 while moving), so gait starts and stops smoothly,
and drifts slowly with a small random cadence variation. Amplitudes vary slowly by a few percent.

The sagittal patterns are approximate typical curves: walking after Winter DA (2009) *Biomechanics and
Motor Control of Human Movement*, 4th ed., and Perry J & Burnfield JM (2010) *Gait Analysis: Normal and
Pathological Function*, 2nd ed. (hip ≈ +25° at heel strike to −10° at late stance; knee ≈ 15–20° in
loading response and ≈ 60° in swing; ankle ≈ 10° dorsiflexion in late stance to ≈ 15–20° plantarflexion
after toe-off); running after Novacheck TF (1998) "The biomechanics of running", Gait Posture 7:77–95
(knee ≈ 40° at mid-stance and ≈ 90°+ in swing, stance ≈ 40 % of the cycle).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.simulate.body import Skeleton, orientations_in_body_frame, origins_in_body_frame
from imurehab.simulate.joints import DOF_NAMES
from imurehab.simulate.program import Feet, RepWindow, Root, RootSpec, feet_in_body_frame
from imurehab.simulate.trajectory import MinJerkPath, PeriodicPattern, SlowNoise

__all__ = [
    "RUNNING",
    "WALKING",
    "Cadence",
    "GaitActivity",
    "GaitStyle",
    "gait_activity",
    "stride_from_contacts",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GaitStyle:
    """Parameters of one kind of gait.

    Attributes
    ----------
    name : str
        Label (``"walking"``, ``"running"``).
    channels : mapping
        ``(joint, dof)`` → pattern for the right side or a midline joint; ``joint`` without side for
        limbs (``"knee"``), which are mirrored to the left half a cycle later.
    stride_hz : float
        Stride (full gait cycle) frequency [Hz].
    stride_per_height : float or None
        Stride length as a fraction of body height, with a prescribed pelvis path (running: ``bob_m``,
        ``crouch_m``, ``sway_m``). None: the stride and a pelvis correction follow from the joint angles so
        the supporting foot does not slide, and the lowest foot point stays on the floor
        (:func:`stride_from_contacts`; walking).
    bob_m : float, optional
        Vertical pelvis oscillation amplitude [m] (twice per stride, lowest at mid-stance).
    crouch_m : float
        How much lower the pelvis moves while running than when standing [m].
    sway_m : float
        Lateral pelvis sway amplitude [m] (once per stride, toward the stance leg).
    """

    name: str
    channels: Mapping[tuple[str, str], PeriodicPattern]
    stride_hz: float
    stride_per_height: float | None
    bob_m: float | None = None
    crouch_m: float = 0.0
    sway_m: float = 0.0


_P = PeriodicPattern
_H = PeriodicPattern.harmonic

WALKING = GaitStyle(
    name="walking",
    channels={
        ("hip", "flexion_deg"): _P((0, 12, 30, 50, 62, 75, 88), (25, 22, 8, -10, 2, 22, 30)),
        # the hip counters the pelvis' obliquity and rotation so the supporting foot stays flat and straight
        ("hip", "abduction_deg"): _H(0.0, 4.0, 70.0),
        ("hip", "rotation_deg"): _H(0.0, -4.0, 0.0),
        ("knee", "flexion_deg"): _P((0, 15, 30, 42, 52, 62, 72, 82, 92), (4, 18, 10, 5, 12, 38, 60, 45, 12)),
        ("ankle", "flexion_deg"): _P(
            (0, 7, 12, 20, 30, 40, 48, 56, 62, 72, 85), (0, -6, -3, 2.5, 2.5, 10, 12, 0, -16, -8, 0)
        ),
        ("shoulder", "flexion_deg"): _H(5.0, 15.0, 50.0),
        ("elbow", "flexion_deg"): _H(20.0, 8.0, 50.0),
        ("pelvis", "flexion_deg"): _H(2.0, 2.0, 10.0, order=2),
        ("pelvis", "abduction_deg"): _H(0.0, 4.0, 70.0),
        ("pelvis", "rotation_deg"): _H(0.0, 4.0, 0.0),
        ("lumbar", "rotation_deg"): _H(0.0, -2.5, 0.0),
    },
    stride_hz=0.92,
    stride_per_height=None,
)
"""Level walking at 110 steps/min; speed follows from the joint angles (≈ 1.1 m/s at 1.75 m)."""

RUNNING = GaitStyle(
    name="running",
    channels={
        ("hip", "flexion_deg"): _P((0, 15, 35, 45, 55, 70, 85, 93), (35, 22, 0, -8, 0, 30, 45, 42)),
        ("hip", "abduction_deg"): _H(0.0, 4.0, 60.0),
        ("knee", "flexion_deg"): _P(
            (0, 12, 25, 38, 50, 65, 78, 90, 96), (20, 40, 30, 15, 40, 95, 85, 40, 22)
        ),
        ("ankle", "flexion_deg"): _P((0, 12, 28, 38, 48, 60, 75, 90), (5, 20, 8, -18, -20, -5, 5, 8)),
        ("shoulder", "flexion_deg"): _H(5.0, 35.0, 50.0),
        ("elbow", "flexion_deg"): _H(90.0, 12.0, 50.0),
        ("pelvis", "flexion_deg"): _H(8.0, 2.0, 20.0, order=2),
        ("pelvis", "abduction_deg"): _H(0.0, 5.0, 70.0),
        ("pelvis", "rotation_deg"): _H(0.0, 5.0, 0.0),
        ("lumbar", "flexion_deg"): _H(5.0, 1.0, 20.0, order=2),
        ("lumbar", "rotation_deg"): _H(0.0, -4.0, 0.0),
    },
    stride_hz=1.40,
    stride_per_height=1.43,
    bob_m=0.04,
    crouch_m=0.05,
    sway_m=0.015,
)
"""Running at ≈ 3.5 m/s (168 steps/min) for a 1.75 m subject."""

_LIMB_JOINTS = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")


@dataclass(frozen=True, eq=False)
class Cadence:
    """Gait phase as a function of time, and gait amplitude as a function of phase.

    ``φ(t) = f·E(t) + n(E(t))`` with ``E(t) = ∫ envelope`` the "active time" [s], ``f`` the stride
    frequency [Hz] and ``n`` a slow phase noise [cycles]; the instantaneous cadence is
    ``envelope(t)·(f + n'(E))``, positive while moving. ``amplitude(φ)`` ramps the joint excursions
    (and step lengths) up and down over the same start and stop ramps.
    """

    envelope: MinJerkPath
    stride_hz: float
    noise: SlowNoise
    amplitude: MinJerkPath

    def phase(self, t: FloatArray) -> FloatArray:
        """Gait phase of the right leg [cycles]."""
        e = self.envelope.integral(t)
        return self.stride_hz * e + self.noise(e)


def _invert_phase(f0: float, noise: SlowNoise, targets: FloatArray) -> FloatArray:
    """Active time [s] at which ``f0·E + noise(E)`` reaches ``targets`` [cycles] (Newton iterations)."""
    targets = np.asarray(targets, dtype=np.float64)
    e = targets / f0
    for _ in range(30):
        step = (f0 * e + noise(e) - targets) / (f0 + noise.derivative(e))
        e = e - step
        if np.all(np.abs(step) < 1e-12):
            break
    return e


@dataclass(frozen=True, eq=False)
class GaitActivity:
    """Walking or running: periodic joint angles driven by a :class:`Cadence`."""

    label: str
    cadence: Cadence
    channels: tuple[tuple[str, int, PeriodicPattern, float], ...]
    amplitude_noise: SlowNoise
    root: Root

    def angles(self, t: FloatArray, joints: Collection[str] | None = None) -> dict[str, FloatArray]:
        """Joint key → clinical angles [deg], shape (M, 3)."""
        chans = [c for c in self.channels if joints is None or c[0] in joints]
        if not chans:
            return {}
        phase = self.cadence.phase(t)
        gain = self.cadence.amplitude(phase) * (1.0 + self.amplitude_noise(t))
        return _pattern_angles(chans, phase, gain)


def _pattern_angles(
    channels: Collection[tuple[str, int, PeriodicPattern, float]], phase: FloatArray, gain: FloatArray | float
) -> dict[str, FloatArray]:
    out: dict[str, FloatArray] = {}
    for key, dof, pattern, offset in channels:
        out.setdefault(key, np.zeros((phase.shape[0], 3)))[:, dof] = gain * pattern(phase + offset)
    return out


@dataclass(frozen=True, eq=False)
class _Progression:
    """``start + stride·∫amplitude dφ + amplitude(φ)·correction(φ)``: pelvis progression along an axis [m]."""

    cadence: Cadence
    start: float
    stride_m: float
    correction: PeriodicPattern | None = None

    def __call__(self, t: FloatArray) -> FloatArray:
        phase = self.cadence.phase(t)
        out = self.start + self.stride_m * self.cadence.amplitude.integral(phase)
        if self.correction is not None:
            out = out + self.cadence.amplitude(phase) * self.correction(phase)
        return out


@dataclass(frozen=True, eq=False)
class _PhaseWave:
    """``offset + amplitude(φ)·(level + amp·cos(2π·order·(φ − peak)))`` [m]."""

    cadence: Cadence
    offset: float
    level: float
    amp: float
    order: int
    peak: float

    def __call__(self, t: FloatArray) -> FloatArray:
        phase = self.cadence.phase(t)
        wave = self.amp * np.cos(2 * np.pi * self.order * (phase - self.peak))
        return self.offset + self.cadence.amplitude(phase) * (self.level + wave)


def _feet_at(
    channels: Collection[tuple[str, int, PeriodicPattern, float]],
    phase: FloatArray,
    skeleton: Skeleton,
    gain: float,
) -> Feet:
    angles = _pattern_angles(channels, phase, gain)
    feet_segments = ("foot_left", "foot_right")
    rot = orientations_in_body_frame(angles, phase.shape[0], feet_segments)
    origins = origins_in_body_frame(skeleton, rot, np.zeros((phase.shape[0], 3)), feet_segments)
    return feet_in_body_frame(skeleton, rot, origins)


def stride_from_contacts(
    channels: Collection[tuple[str, int, PeriodicPattern, float]], skeleton: Skeleton, harmonics: int = 8
) -> tuple[float, PeriodicPattern, PeriodicPattern]:
    """Stride length and smooth pelvis corrections that keep the supporting foot from sliding.

    Over one cycle of the steady patterns the pelvis is moved opposite to the horizontal motion (relative
    to the pelvis) of whichever foot point (heel or forefoot of either foot) is lowest, i.e. bears weight.
    The displacement over the cycle is the stride length; what remains after removing the uniform
    progression is a periodic correction (forward and lateral), low-pass filtered to ``harmonics``
    harmonics of the stride frequency so that the pelvis acceleration stays bounded where the support
    switches between heel, forefoot and the other foot.

    Parameters
    ----------
    channels : collection of tuple
        ``(joint key, dof index, pattern, phase offset)`` of every commanded angle.
    skeleton : Skeleton
        Body geometry.
    harmonics : int
        Number of harmonics kept in the correction.

    Returns
    -------
    stride_m : float
        Stride length [m].
    forward, lateral : PeriodicPattern
        Pelvis corrections [m] as functions of the gait phase [cycles].
    """
    n = 2000
    phase = np.arange(n + 1) / n
    feet = _feet_at(channels, phase, skeleton, 1.0)
    points = np.stack([feet.heel["right"], feet.toe["right"], feet.heel["left"], feet.toe["left"]], axis=1)
    low = np.argmin(points[:, :, 1], axis=1)[:-1]
    rows = np.arange(n)
    step = points[rows + 1, low] - points[rows, low]
    pelvis = np.concatenate([np.zeros((1, 3)), -np.cumsum(step, axis=0)])
    stride = float(pelvis[-1, 0])
    knots = np.arange(0.0, 100.0, 2.5)
    out = []
    for axis in (0, 2):
        residual = pelvis[:-1, axis] - pelvis[-1, axis] * phase[:-1]
        spectrum = np.fft.rfft(residual)
        spectrum[harmonics + 1 :] = 0.0
        smooth = np.fft.irfft(spectrum, n)
        smooth -= smooth[0]
        out.append(
            PeriodicPattern(
                tuple(knots.tolist()), tuple(np.interp(knots / 100.0, phase[:-1], smooth).tolist())
            )
        )
    return stride, out[0], out[1]


def gait_activity(
    style: GaitStyle,
    rng: np.random.Generator,
    skeleton: Skeleton,
    *,
    t_start: float,
    steady_s: float | None = None,
    strides: int | None = None,
    station: float = 0.0,
    ramp_s: float = 2.0,
    label: str | None = None,
) -> tuple[GaitActivity, list[RepWindow], float, float]:
    """Build one bout of gait from rest to rest.

    Parameters
    ----------
    style : GaitStyle
        Walking or running parameters.
    rng : numpy.random.Generator
        Source of the cadence and amplitude variation.
    skeleton : Skeleton
        Body geometry (stride length and pelvis height scale with it).
    t_start : float
        Start of the acceleration ramp [s].
    steady_s : float, optional
        Length of the steady part [s]; or give ``strides``.
    strides : int, optional
        Number of complete right-leg strides wanted in the steady part.
    station : float
        Forward position of the pelvis at the start [m, body frame].
    ramp_s : float
        Length of the start and stop ramps [s].
    label : str, optional
        Exercise label of the reps (default the style name).

    Returns
    -------
    activity, windows, end_s, end_position
        The activity, one rep window per complete stride of each knee in the steady part, the time the
        subject stands still again [s] and the forward pelvis position then [m].
    """
    label = label or style.name
    f0 = style.stride_hz
    nu_max = 0.05
    noise = SlowNoise.random(rng, rms=0.015 * f0 / (np.pi * nu_max), max_hz=nu_max)
    amplitude_noise = SlowNoise.random(rng, rms=0.03, max_hz=0.1)
    e0 = ramp_s / 2.0  # active time at the end of the start ramp

    def phase_of(active_s: float) -> float:
        return float(f0 * active_s + noise(np.array([active_s]))[0])

    if strides is not None:
        first = math.ceil(phase_of(e0) + 1e-9)
        steady_s = float(_invert_phase(f0, noise, np.array([first + strides + 0.02]))[0]) - e0
    if steady_s is None or steady_s <= 0:
        raise ValueError("a gait bout needs a positive steady duration or stride count")
    e1 = e0 + steady_s
    t_steady, t_stop = t_start + ramp_s, t_start + ramp_s + steady_s
    envelope = MinJerkPath(
        np.array([t_start, t_steady, t_stop, t_stop + ramp_s]), np.array([0.0, 1.0, 1.0, 0.0])
    )
    amplitude = MinJerkPath(
        np.array([0.0, phase_of(e0), phase_of(e1), phase_of(e1 + e0)]), np.array([0.0, 1.0, 1.0, 0.0])
    )
    cadence = Cadence(envelope, f0, noise, amplitude)

    channels = []
    for (joint, dof), pattern in style.channels.items():
        if joint in _LIMB_JOINTS:
            channels.append((f"{joint}_right", DOF_NAMES.index(dof), pattern, 0.0))
            # clinical angles carry the side signs, so the left uses the same pattern half a cycle later
            channels.append((f"{joint}_left", DOF_NAMES.index(dof), pattern, 0.5))
        else:
            channels.append((joint, DOF_NAMES.index(dof), pattern, 0.0))

    if style.stride_per_height is None:
        stride_m, forward_fix, lateral_fix = stride_from_contacts(channels, skeleton)
        root = RootSpec(
            forward=_Progression(cadence, station, stride_m, forward_fix),
            up="ground",
            right=_Progression(cadence, 0.0, 0.0, lateral_fix),
        )
    else:
        stride_m = style.stride_per_height * skeleton.height_m
        root = RootSpec(
            forward=_Progression(cadence, station, stride_m),
            up=_PhaseWave(cadence, skeleton.pelvis_height_m, -style.crouch_m, style.bob_m or 0.0, 2, 0.45),
            right=_PhaseWave(cadence, 0.0, 0.0, style.sway_m, 1, 0.2),
        )
    activity = GaitActivity(label, cadence, tuple(channels), amplitude_noise, root)

    windows = []
    for side, offset in (("right", 0.0), ("left", 0.5)):
        n = np.arange(
            math.ceil(phase_of(e0) + offset), math.floor(phase_of(e1) + offset) + 1, dtype=np.float64
        )
        if strides is not None and side == "right":
            n = n[: strides + 1]
        times = t_steady + (_invert_phase(f0, noise, n - offset) - e0)
        windows += [RepWindow(label, "knee", side, float(a), float(b)) for a, b in itertools.pairwise(times)]
    end_position = station + stride_m * float(amplitude.integral(np.array([phase_of(e1 + e0)]))[0])
    return activity, windows, t_stop + ramp_s, end_position
