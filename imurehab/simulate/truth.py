"""Ground-truth containers returned with every simulated session.

All times are true times in seconds since the session start (not the device clocks), angles in degrees,
quaternions (w, x, y, z) mapping the named frame into the earth frame (ENU) unless stated otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PhaseTruth", "RepTruth", "SensorTruth", "SimulationTruth"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RepTruth:
    """One commanded repetition of a joint movement.

    Attributes
    ----------
    exercise : str
        Movement or HYROX station label (``"squat"``, ``"wall-balls"``).
    joint : str
        Joint name without side (``"knee"``).
    side : str or None
        ``"left"``, ``"right"`` or None for midline joints.
    rep : int
        Repetition number, 1-based, counted per (exercise, joint, side).
    start_s, end_s : float
        Window of the rep [s since session start]: leaving rest to back at rest (for cyclic movements one
        cycle, e.g. heel strike to heel strike).
    min_deg, max_deg, rom_deg : float
        Extremes of the commanded angle ``dof`` within the window and their difference [deg].
    dof : str
        Which angle the rep is counted on (``"flexion_deg"``; for the shoulder that is the elevation).
    incomplete : bool
        The rep was commanded to stop short: 40–70 % of the movement's full amplitude
        (``simulate_session(incomplete_reps=...)``).
    compensated : bool
        The rep carries the session's compensation (``simulate_session(compensation=...)``), e.g. a
        trunk lean growing with the rep's amplitude.
    """

    exercise: str
    joint: str
    side: str | None
    rep: int
    start_s: float
    end_s: float
    min_deg: float
    max_deg: float
    rom_deg: float
    dof: str = "flexion_deg"
    incomplete: bool = False
    compensated: bool = False

    @property
    def joint_key(self) -> str:
        """Key of the joint in :attr:`SimulationTruth.joint_angles` (``"knee_right"``)."""
        return self.joint if self.side is None else f"{self.joint}_{self.side}"

    @property
    def duration_s(self) -> float:
        """Length of the rep window [s]."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class PhaseTruth:
    """A labelled stretch of the session (a HYROX station, a transition, or the whole movement).

    Attributes
    ----------
    label : str
        ``"running"``, ``"wall-balls"``, ``"lunges"``, ``"rowing"``, ``"transition"`` or the movement name.
    start_s, end_s : float
        Window [s since session start], half-open ``[start_s, end_s)``.
    """

    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True, eq=False)
class SensorTruth:
    """What one simulated sensor really did.

    Attributes
    ----------
    sensor_id, segment : str
        The sensor and the segment it is strapped to.
    time_s : ndarray, shape (N,)
        True instant of each sample [s since session start] (clock drift and jitter included).
    quat : ndarray, shape (N, 4)
        True sensor → earth orientation at each sample (soft-tissue wobble included).
    mount_quat : ndarray, shape (4,)
        Sensor → segment rotation of the mounting (its misalignment); wobble excluded.
    mount_position_m : ndarray, shape (3,)
        Sensor origin in the segment frame [m].
    clock_offset_s : float
        Device clock reading at the session start [s].
    clock_drift_ppm : float
        Device clock rate error [ppm]: device time advances ``1 + drift·1e-6`` s per true second.
    acc_matrix, gyr_matrix, mag_matrix : ndarray, shape (3, 3)
        Scale-factor and axis-misalignment matrices (measured = matrix @ true + bias + noise).
    acc_bias_mps2, gyr_bias_rads : ndarray, shape (N, 3), float32
        Bias at each sample (constant part plus random walk) [m/s², rad/s].
    mag_bias_ut : ndarray, shape (3,)
        Constant magnetometer bias (residual hard iron) [µT].
    field_ut : ndarray, shape (N, 3), or None
        Earth-frame magnetic flux density at the sensor [µT] when a disturbance was simulated; None when
        the field is the uniform :attr:`SimulationTruth.earth_field_ut`.
    """

    sensor_id: str
    segment: str
    time_s: FloatArray
    quat: FloatArray
    mount_quat: FloatArray
    mount_position_m: FloatArray
    clock_offset_s: float
    clock_drift_ppm: float
    acc_matrix: FloatArray
    gyr_matrix: FloatArray
    mag_matrix: FloatArray
    acc_bias_mps2: npt.NDArray[np.float32]
    gyr_bias_rads: npt.NDArray[np.float32]
    mag_bias_ut: FloatArray
    field_ut: FloatArray | None = None


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """Ground truth of a simulated session.

    Attributes
    ----------
    movement : str
        Movement name.
    time_s : ndarray, shape (M,)
        The truth grid: true times [s since session start], uniform at ``truth_rate_hz``.
    segment_quat : mapping
        Segment name → true segment → earth orientation on the grid, shape (M, 4).
    pelvis_position_m : ndarray, shape (M, 3)
        Pelvis origin (hip-centre midpoint) in the earth frame [m].
    joint_angles : mapping
        Joint key (``"knee_right"``, ``"lumbar"``, ``"pelvis"``, ...; every joint of
        :data:`~imurehab.simulate.joints.JOINTS`, all segments being simulated) → ``{"flexion_deg",
        "abduction_deg", "rotation_deg"}`` → commanded angles on the grid [deg]. Z-X-Y Cardan angles
        with the signs of :mod:`imurehab.simulate.joints`, except the shoulders (humerothoracic, humerus
        relative to the trunk), reported in the ISB Y-X-Y sequence (Wu et al. 2005):
        ``flexion_deg`` = elevation in [0, 180], ``abduction_deg`` = plane of elevation (0 = frontal
        plane abduction, +90 = forward flexion, both sides), ``rotation_deg`` = axial rotation (internal
        positive; an arm swung without twisting about its own axis reads ``−plane``). The pelvis angles
        are relative to the body reference frame turned into :attr:`posture`.
    sensors : mapping
        Sensor id → :class:`SensorTruth`.
    reps : tuple of RepTruth
        Every commanded rep, in time order.
    phases : tuple of PhaseTruth
        Contiguous labelled stretches covering the session.
    gravity_mps2 : ndarray, shape (3,)
        Gravity vector used, earth frame: (0, 0, −9.80665) m/s².
    earth_field_ut : ndarray, shape (3,)
        Undisturbed earth magnetic field, earth frame [µT].
    facing_deg : float
        Compass azimuth the subject faces at rest [deg] (0: north).
    height_m : float
        Body height of the simulated subject [m].
    posture : {"upright", "supine"}
        Whole-body posture of the movement; ``body_to_earth(facing_deg, posture)`` of
        :mod:`imurehab.simulate.body` is the parent frame of the ``"pelvis"`` joint.
    """

    movement: str
    time_s: FloatArray
    segment_quat: Mapping[str, FloatArray]
    pelvis_position_m: FloatArray
    joint_angles: Mapping[str, Mapping[str, FloatArray]]
    sensors: Mapping[str, SensorTruth]
    reps: tuple[RepTruth, ...]
    phases: tuple[PhaseTruth, ...]
    gravity_mps2: FloatArray
    earth_field_ut: FloatArray
    facing_deg: float
    height_m: float
    posture: str = "upright"

    def labels_at(self, time_s: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Phase label at each time [s since session start] (``""`` outside every phase)."""
        t = np.asarray(time_s, dtype=np.float64)
        width = max((len(p.label) for p in self.phases), default=1)
        out = np.full(t.shape, "", dtype=f"<U{width}")
        for p in self.phases:
            out[(t >= p.start_s) & (t < p.end_s)] = p.label
        return out

    def reps_for(self, joint_key: str, exercise: str | None = None) -> tuple[RepTruth, ...]:
        """Reps counted on one joint (``"knee_right"``), optionally of one exercise."""
        return tuple(
            r for r in self.reps if r.joint_key == joint_key and (exercise is None or r.exercise == exercise)
        )
