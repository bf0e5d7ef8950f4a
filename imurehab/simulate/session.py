"""Top level: simulate a whole session of strapped sensors, with its ground truth."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from imurehab.errors import DataValidationError, SimulationError
from imurehab.quaternion import quat_from_rotvec, quat_normalize
from imurehab.simulate.body import Posture, Skeleton, body_to_earth
from imurehab.simulate.error_model import SensorErrorModel
from imurehab.simulate.field import GRAVITY, EarthField, MagneticDipole
from imurehab.simulate.joints import DOF_NAMES, JOINTS
from imurehab.simulate.movements import MOVEMENTS, Movement
from imurehab.simulate.program import Program, evaluate_pose
from imurehab.simulate.reps import MovementRequest, RepVariation
from imurehab.simulate.sensors import SensorMount, SensorSignals, simulate_sensor
from imurehab.simulate.truth import SensorTruth, SimulationTruth
from imurehab.types import (
    SEGMENTS,
    Recording,
    SampleFlags,
    SensorInfo,
    SensorSamples,
    SessionInfo,
    datetime_to_us,
)

__all__ = ["DEFAULT_START_TIME", "SimulatedSession", "body_reference_quat", "simulate_session"]

DEFAULT_START_TIME = datetime(2024, 1, 15, 9, 0, 0, tzinfo=UTC)
"""Session start used when none is given (fixed, so output is deterministic)."""

_MAX_RATE_HZ = 10_000.0
_MAX_DURATION_S = 24 * 3600.0
_TRUTH_CHUNK = 16384


@dataclass(frozen=True, eq=False)
class SimulatedSession:
    """A simulated recording and the ground truth it was made from.

    Attributes
    ----------
    recording : imurehab.types.Recording
        What the sensors delivered, as the host would store it (family ``"sim"``).
    truth : SimulationTruth
        What really happened.
    """

    recording: Recording
    truth: SimulationTruth


def _fail(message: str) -> SimulationError:
    return SimulationError(message)


def _check_number(name: str, value: float | None, lo: float, hi: float, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not np.isfinite(value)
        or not lo < value <= hi
    ):
        raise _fail(f"{name} must be a number in ({lo:g}, {hi:g}], got {value!r}")


def _seed_rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def _variation(
    spec: Movement,
    compensation: str | None,
    compensation_deg: float,
    compensated_reps: int | None,
    incomplete_reps: int,
    tempo_jitter: float | None,
    calibration_pose_sd_deg: float | None,
) -> RepVariation:
    variation = RepVariation(
        compensation,
        compensation_deg,
        compensated_reps,
        incomplete_reps,
        tempo_jitter,
        calibration_pose_sd_deg,
    )
    if compensation is None and compensated_reps is not None:
        raise _fail("compensated_reps needs a compensation")
    if variation.is_plain:
        return variation
    if not spec.accepts_variation:
        raise _fail(
            f"{spec.name} is not a rep exercise: compensation, incomplete_reps, tempo_jitter and "
            "calibration_pose_sd_deg do not apply"
        )
    if compensation is not None and compensation not in spec.compensations:
        raise _fail(
            f"{spec.name} has no compensation {compensation!r}; expected one of {sorted(spec.compensations)}"
        )
    _check_number("compensation_deg", compensation_deg, 0.0, 45.0)
    for name, count in (("incomplete_reps", incomplete_reps), ("compensated_reps", compensated_reps)):
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0
        ):
            raise _fail(f"{name} must be a non-negative integer, got {count!r}")
    if tempo_jitter is not None and (
        isinstance(tempo_jitter, bool)
        or not isinstance(tempo_jitter, int | float)
        or not 0.0 <= tempo_jitter < 0.4
    ):
        raise _fail(f"tempo_jitter must be a fraction in [0, 0.4), got {tempo_jitter!r}")
    if calibration_pose_sd_deg is not None and (
        isinstance(calibration_pose_sd_deg, bool)
        or not isinstance(calibration_pose_sd_deg, int | float)
        or not 0.0 <= calibration_pose_sd_deg <= 10.0
    ):
        raise _fail(f"calibration_pose_sd_deg must be a number in [0, 10], got {calibration_pose_sd_deg!r}")
    return variation


def _mounts(
    sensors: Mapping[str, str | SensorMount], skeleton: Skeleton, misalignment_deg: float, seed: int
) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    out = {}
    for sensor_id, spec in sensors.items():
        mount = SensorMount(spec) if isinstance(spec, str) else spec
        if not isinstance(mount, SensorMount) or mount.segment not in SEGMENTS:
            raise _fail(
                f"sensor {sensor_id!r}: placement must be a segment name or SensorMount on one of "
                f"{sorted(SEGMENTS)}, got {spec!r}"
            )
        pos = (
            skeleton.default_mount_position(mount.segment)
            if mount.position_m is None
            else np.asarray(mount.position_m, dtype=np.float64)
        )
        if mount.rotation is None:
            rng = _seed_rng(seed, 2, zlib.crc32(sensor_id.encode()))
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            quat = quat_from_rotvec(axis * np.deg2rad(rng.uniform(0.0, misalignment_deg)))
        else:
            quat = np.asarray(mount.rotation, dtype=np.float64)
            if quat.shape != (4,) or not np.all(np.isfinite(quat)) or np.linalg.norm(quat) < 1e-9:
                raise _fail(f"sensor {sensor_id!r}: rotation must be a finite (w, x, y, z) quaternion")
            quat = quat_normalize(quat)
        if pos.shape != (3,) or not np.all(np.isfinite(pos)) or np.linalg.norm(pos) > 1.0:
            raise _fail(f"sensor {sensor_id!r}: position_m must be 3 finite values within 1 m of the joint")
        out[sensor_id] = (mount.segment, pos, quat)
    return out


def _truth_grid(
    program: Program, skeleton: Skeleton, facing_deg: float, truth_rate_hz: float
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, dict[str, dict[str, np.ndarray]]]:
    m = round(program.duration_s * truth_rate_hz)
    time_s = np.arange(m) / truth_rate_hz
    segments = sorted(SEGMENTS)
    quats = {s: np.empty((m, 4)) for s in segments}
    pelvis = np.empty((m, 3))
    angles = {k: {dof: np.zeros(m) for dof in DOF_NAMES} for k in JOINTS}
    for i0 in range(0, m, _TRUTH_CHUNK):
        t = time_s[i0 : i0 + _TRUTH_CHUNK]
        rots, origins = evaluate_pose(program, skeleton, facing_deg, t, segments)
        for s in segments:
            quats[s][i0 : i0 + t.shape[0]] = rots[s]
        pelvis[i0 : i0 + t.shape[0]] = origins["pelvis"]
        for key, ang in program.reported_angles(t).items():
            for i, dof in enumerate(DOF_NAMES):
                angles[key][dof][i0 : i0 + t.shape[0]] = ang[:, i]
    return time_s, quats, pelvis, angles


def _samples(
    sensor_id: str, sig: SensorSignals, errors: SensorErrorModel, rate_hz: float, start_us: int
) -> SensorSamples:
    info = SensorInfo(
        sensor_id=sensor_id,
        family="sim",
        rate_hz=rate_hz,
        model="imurehab-simulator",
        acc_range_mps2=errors.acc.full_scale,
        gyr_range_rads=errors.gyr.full_scale,
        mag_range_ut=errors.mag.full_scale if sig.mag is not None else None,
        device_clock_hz=1e6,
    )
    flags = (
        sig.acc_saturated * int(SampleFlags.ACC_SATURATED)
        + sig.gyr_saturated * int(SampleFlags.GYR_SATURATED)
        + sig.mag_saturated * int(SampleFlags.MAG_SATURATED)
    ).astype(np.uint16)
    try:
        return SensorSamples(
            info=info,
            time_us=start_us + sig.device_time_us,
            acc=sig.acc,
            gyr=sig.gyr,
            mag=sig.mag,
            sample_index=np.arange(sig.acc.shape[0], dtype=np.int64),
            device_time=sig.device_time_us,
            flags=flags,
        )
    except DataValidationError as err:
        raise _fail(f"sensor {sensor_id!r}: simulated samples are invalid ({err})") from err


def simulate_session(
    movement: str,
    *,
    reps: int | None = None,
    duration_s: float | None = None,
    rate_hz: float = 100.0,
    sensors: Mapping[str, str | SensorMount] | None = None,
    errors: SensorErrorModel | None = None,
    misalignment_deg: float = 10.0,
    with_mag: bool = True,
    seed: int = 0,
    subject_id: str = "sim01",
    session_id: str | None = None,
    start_time: datetime | None = None,
    side: str = "right",
    height_m: float = 1.75,
    facing_deg: float = 0.0,
    earth_field: EarthField | None = None,
    disturbances: tuple[MagneticDipole, ...] = (),
    truth_rate_hz: float | None = None,
    compensation: str | None = None,
    compensation_deg: float = 15.0,
    compensated_reps: int | None = None,
    incomplete_reps: int = 0,
    tempo_jitter: float | None = None,
    calibration_pose_sd_deg: float | None = None,
    options: object | None = None,
) -> SimulatedSession:
    """Simulate body-worn IMUs during a movement, with the ground truth.

    Parameters
    ----------
    movement : str
        A name from :func:`~imurehab.simulate.list_movements`: the rep exercises
        ``"seated-knee-extension"``, ``"squat"``, ``"straight-leg-raise"`` (supine), ``"heel-slide"``
        (supine), ``"elbow-flexion"``, ``"shoulder-abduction"``, ``"shoulder-flexion"``,
        ``"lumbar-flexion"``, and ``"walking"``, ``"hyrox"``, ``"hyrox-race"``.
    reps : int, optional
        Number of reps (strides for walking). Not accepted by ``"hyrox"``.
    duration_s : float, optional
        Session length [s]. With ``reps`` too, the reps must fit; alone, as many reps as fit.
        Default: 10 reps (walking 60 s, hyrox 120 s).
    rate_hz : float
        Nominal output data rate of every sensor [Hz].
    sensors : mapping, optional
        Sensor id → segment name (``{"S1": "thigh_right"}``) or :class:`SensorMount`. Default per
        movement (e.g. thigh and shank of ``side`` for knee exercises), plus a sensor on each segment
        the ``compensation`` moves (e.g. the trunk for a trunk lean in squats).
    errors : SensorErrorModel, optional
        Default :meth:`SensorErrorModel.realistic` (noise, bias with drift, soft-tissue wobble, ...;
        ``realistic(bias_drift=False, soft_tissue=False)`` switches parts off);
        :meth:`SensorErrorModel.ideal` for exact signals.
    misalignment_deg : float
        Maximum random rotation of each sensor relative to its segment axes [deg] (uniform angle in
        ``[0, misalignment_deg]`` about a uniformly random axis), for mounts without an explicit rotation;
        e.g. 20 for sensors strapped up to 20° off the segment axes.
    with_mag : bool
        Whether the sensors have magnetometers (False: 6D sensors, ``mag`` is None).
    seed : int
        Seed of every random draw (movement variation, mounting, errors, clocks); same arguments give
        bit-identical output.
    subject_id, session_id : str
        Identifiers; the session id defaults to ``"<movement>-<seed>"``.
    start_time : datetime, optional
        Timezone-aware session start (default :data:`DEFAULT_START_TIME`).
    side : {"right", "left"}
        Side of unilateral exercises and default sensor placements.
    height_m : float
        Body height [m]; segment lengths scale with it.
    facing_deg : float
        Compass azimuth the subject faces [deg] (0: north, 90: east); the subject starts above the
        earth origin.
    earth_field : EarthField, optional
        Geomagnetic field (default :class:`EarthField` ()).
    disturbances : tuple of MagneticDipole
        Local magnetic disturbances.
    truth_rate_hz : float, optional
        Rate of the truth grid [Hz] (default ``rate_hz``, at most 10 Hz for ``"hyrox-race"``); lower it
        for long sessions to save memory.
    compensation : str, optional
        Rep exercises only: a compensation the reps show, one of the movement's
        (:data:`~imurehab.simulate.compensations.COMPENSATIONS`, named after the exercise templates' checks):
        ``"trunk-lean"`` (seated knee extension, squat, shoulder abduction and flexion), ``"trunk-shift"``
        and ``"knee-valgus"`` (squat), ``"trunk-sway"`` and ``"shoulder-swing"`` (elbow flexion),
        ``"hip-hike"`` and ``"knee-bend"`` (straight-leg raise), ``"leg-roll"`` (heel slide),
        ``"side-bend"`` and ``"trunk-twist"`` (lumbar flexion). Flagged ``RepTruth.compensated``.
    compensation_deg : float
        Size of the compensation [deg]: the compensating angles change by this much at the rep's
        turning point, growing and returning with the rep's progress.
    compensated_reps : int, optional
        How many reps compensate, chosen by the seed; None: every rep.
    incomplete_reps : int
        Rep exercises only: how many reps, chosen by the seed, stop at 40–70 % of the full amplitude
        (e.g. a knee extension from 90° reaching only 36–54°). Flagged ``RepTruth.incomplete``.
    tempo_jitter : float, optional
        Rep exercises only: relative standard deviation of each rep's out and back durations (one
        factor per rep, clipped to ±2.5 sd, so below 0.4); None keeps the movements' 0.12. Holds and
        pauses vary independently of it.
    calibration_pose_sd_deg : float, optional
        Rep exercises only: open the session with a 3 s hold in the pose the calibration assumes
        (standing: segments upright, arms straight at the sides; sitting: thigh horizontal, shank
        vertical; supine: legs straight and flat), held imperfectly: the first angle of each joint of
        the pose is off by a normal error of this standard deviation [deg], drawn per session. A 1 s
        move to the exercise's rest pose follows, then the usual rest and reps. None: no hold; the
        session starts in the rest pose (e.g. a relaxed arm, elbow 8° flexed).

        The options draw from their own random stream: with their defaults a session is bit-identical
        to one simulated before they existed.
    options : object, optional
        Options of movements that take them: ``"hyrox-race"`` takes a
        :class:`~imurehab.simulate.hyrox_race.HyroxRaceOptions` (scale, wall-ball division, skipped
        stations, athlete). None: the movement's defaults.

    Returns
    -------
    SimulatedSession
        ``.recording`` (time from the device clocks as a host would naively map them: start time plus
        device time, so clock offset and drift show) and ``.truth``.

    Raises
    ------
    SimulationError
        Unknown movement, compensation or a parameter out of range.
    """
    if not isinstance(movement, str) or movement not in MOVEMENTS:
        raise _fail(f"unknown movement {movement!r}; expected one of {sorted(MOVEMENTS)}")
    spec = MOVEMENTS[movement]
    _check_number("rate_hz", rate_hz, 0.0, _MAX_RATE_HZ)
    _check_number("duration_s", duration_s, 0.0, _MAX_DURATION_S, allow_none=True)
    _check_number("truth_rate_hz", truth_rate_hz, 0.0, _MAX_RATE_HZ, allow_none=True)
    if isinstance(height_m, bool) or not isinstance(height_m, int | float) or not 1.0 <= height_m <= 2.5:
        raise _fail(f"height_m must be within 1.0..2.5 m, got {height_m!r}")
    if not isinstance(misalignment_deg, int | float) or not 0.0 <= misalignment_deg <= 180.0:
        raise _fail(f"misalignment_deg must be within 0..180, got {misalignment_deg!r}")
    if not isinstance(facing_deg, int | float) or not np.isfinite(facing_deg):
        raise _fail(f"facing_deg must be a finite number, got {facing_deg!r}")
    if reps is not None:
        if not spec.accepts_reps:
            raise _fail(f"{movement} does not take reps; pass duration_s")
        if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or not 1 <= reps <= 100_000:
            raise _fail(f"reps must be an integer in 1..100000, got {reps!r}")
        reps = int(reps)
    if side not in ("right", "left"):
        raise _fail(f"side must be 'right' or 'left', got {side!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise _fail(f"seed must be a non-negative integer, got {seed!r}")
    errors = SensorErrorModel.realistic() if errors is None else errors
    if not isinstance(errors, SensorErrorModel):
        raise _fail(f"errors must be a SensorErrorModel, got {type(errors).__name__}")
    if not all(isinstance(d, MagneticDipole) for d in disturbances):
        raise _fail("disturbances must be MagneticDipole instances")
    variation = _variation(
        spec,
        compensation,
        compensation_deg,
        compensated_reps,
        incomplete_reps,
        tempo_jitter,
        calibration_pose_sd_deg,
    )
    sensors = spec.sensors_for(side, compensation) if sensors is None else sensors
    if not isinstance(sensors, Mapping) or not sensors:
        raise _fail("sensors must be a non-empty mapping of sensor id to segment")
    start_time = DEFAULT_START_TIME if start_time is None else start_time
    if not isinstance(start_time, datetime) or start_time.tzinfo is None:
        raise _fail("start_time must be a timezone-aware datetime")
    session_id = f"{movement}-{seed}" if session_id is None else session_id
    try:
        session_meta = SessionInfo(
            session_id=session_id,
            subject_id=subject_id,
            start_time=start_time,
            placements={
                sid: (s if isinstance(s, str) else getattr(s, "segment", s)) for sid, s in sensors.items()
            },
            exercise=movement,
        )
    except DataValidationError as err:
        raise _fail(str(err)) from err

    skeleton = Skeleton(float(height_m))
    seed = int(seed)
    if duration_s is None and reps is None and spec.default_reps is None:
        duration_s = spec.default_duration_s
    try:
        request = MovementRequest(
            _seed_rng(seed, 1), skeleton, reps, duration_s, side, variation, _seed_rng(seed, 4)
        )
        if options is None:
            program = spec.build(request)
        elif spec.build_with is None or spec.options_type is None:
            raise _fail(f"{movement} takes no options")
        elif not isinstance(options, spec.options_type):
            raise _fail(
                f"{movement} options must be a {spec.options_type.__name__}, got {type(options).__name__}"
            )
        else:
            program = spec.build_with(request, options)
    except ValueError as err:
        if isinstance(err, SimulationError):
            raise
        raise _fail(f"{movement}: {err}") from err
    mounts = _mounts(sensors, skeleton, float(misalignment_deg), seed)
    earth = EarthField() if earth_field is None else earth_field
    rate = float(rate_hz)
    n_samples = round(program.duration_s * rate)
    if n_samples < 2:
        raise _fail(f"the session ({program.duration_s:g} s at {rate:g} Hz) would have fewer than 2 samples")

    start_us = datetime_to_us(session_meta.start_time)
    samples, sensor_truth = [], {}
    for sensor_id, (segment, pos, quat) in mounts.items():
        sig = simulate_sensor(
            program=program,
            skeleton=skeleton,
            facing_deg=float(facing_deg),
            segment=segment,
            mount_position=pos,
            mount_quat=quat,
            errors=errors,
            rate_hz=rate,
            n_samples=n_samples,
            earth=earth,
            disturbances=tuple(disturbances),
            with_mag=with_mag,
            rng=_seed_rng(seed, 3, zlib.crc32(sensor_id.encode())),
        )
        samples.append(_samples(sensor_id, sig, errors, rate, start_us))
        sensor_truth[sensor_id] = SensorTruth(
            sensor_id=sensor_id,
            segment=segment,
            time_s=sig.time_s,
            quat=sig.quat,
            mount_quat=quat,
            mount_position_m=pos,
            clock_offset_s=sig.clock_offset_s,
            clock_drift_ppm=sig.clock_drift_ppm,
            acc_matrix=sig.acc_matrix,
            gyr_matrix=sig.gyr_matrix,
            mag_matrix=sig.mag_matrix,
            acc_bias_mps2=sig.acc_bias,
            gyr_bias_rads=sig.gyr_bias,
            mag_bias_ut=sig.mag_bias,
            field_ut=sig.field_ut,
        )

    if truth_rate_hz is None:
        truth_rate_hz = rate if spec.default_truth_rate_hz is None else min(rate, spec.default_truth_rate_hz)
    time_s, seg_quats, pelvis, angles = _truth_grid(
        program, skeleton, float(facing_deg), float(truth_rate_hz)
    )
    truth = SimulationTruth(
        movement=movement,
        time_s=time_s,
        segment_quat=seg_quats,
        pelvis_position_m=pelvis,
        joint_angles=angles,
        sensors=sensor_truth,
        reps=program.rep_truth(),
        phases=program.phases,
        gravity_mps2=GRAVITY.copy(),
        earth_field_ut=earth.vector(),
        facing_deg=float(facing_deg),
        height_m=skeleton.height_m,
        posture=program.posture,
    )
    return SimulatedSession(recording=Recording(session=session_meta, sensors=tuple(samples)), truth=truth)


def body_reference_quat(facing_deg: float, posture: Posture = "upright") -> np.ndarray:
    """Body reference frame → earth quaternion (w, x, y, z): the parent of the ``"pelvis"`` joint.

    Parameters
    ----------
    facing_deg : float
        Compass azimuth the subject faces [deg] (as in :func:`simulate_session`).
    posture : {"upright", "supine"}
        The session's posture (:attr:`SimulationTruth.posture`).
    """
    return body_to_earth(facing_deg, posture)
