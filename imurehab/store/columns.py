"""Names of the tables, partition keys and columns of an imurehab dataset: constants, never literals.

Code refers to ``columns.ACC_X``, never to the string ``"acc_x"``, so a column is renamed in one place and
a typo is an ``AttributeError`` instead of a silently missing column. Types, nullability and units are in
:mod:`imurehab.store.schema`.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ABDUCTION_DEG",
    "ACC",
    "ACCEL_EVENTS",
    "ACC_RANGE_MPS2",
    "ACC_X",
    "ACC_Y",
    "ACC_Z",
    "BIAS",
    "BIAS_X",
    "BIAS_Y",
    "BIAS_Z",
    "BOOT_ID",
    "CLOCKS",
    "CLOCK_UNCERTAINTY_US",
    "COUNTS",
    "COUNTS_VM",
    "COUNTS_X",
    "COUNTS_Y",
    "COUNTS_Z",
    "COVERED_S",
    "DECEL_EVENTS",
    "DEVICE_CLOCK_HZ",
    "DEVICE_TIME",
    "DRIFT_PPM",
    "DRIFT_SIGMA_PPM",
    "DURATION_S",
    "END",
    "END_TIME",
    "ENMO_MG",
    "EPOCH_S",
    "EPOCH_START",
    "EXERCISE",
    "FAMILY",
    "FIRMWARE",
    "FIRST_TIME",
    "FLAGS",
    "FLEXION_DEG",
    "GYR",
    "GYR_RANGE_RADS",
    "GYR_X",
    "GYR_Y",
    "GYR_Z",
    "HAS_DEVICE_TIME",
    "HAS_MAG",
    "IMPACTS",
    "IMPACTS_2_3G",
    "IMPACTS_3_5G",
    "IMPACTS_5_8G",
    "IMPACTS_8G_PLUS",
    "JOINT",
    "JOINT_ANGLES",
    "LAST_TIME",
    "LOAD",
    "LOAD_VERSION",
    "LOG_VERIFIED",
    "MAD_MG",
    "MAG",
    "MAG_DISTURBED",
    "MAG_RANGE_UT",
    "MAG_X",
    "MAG_Y",
    "MAG_Z",
    "MAX_DEG",
    "MIN_DEG",
    "MODEL",
    "N_ROUND_TRIPS",
    "N_SAMPLES",
    "N_WINDOWS",
    "OFFSET_US",
    "ORIENTATION",
    "PLACEMENTS",
    "PLAYERLOAD",
    "PLAYERLOADS",
    "PLAYERLOAD_2D",
    "PLAYERLOAD_FWD",
    "PLAYERLOAD_SIDE",
    "PLAYERLOAD_UP",
    "QUAT",
    "Q_W",
    "Q_X",
    "Q_Y",
    "Q_Z",
    "RATE_HZ",
    "REF_TIME",
    "REP",
    "REPS",
    "REST",
    "ROM_DEG",
    "ROTATION_DEG",
    "SAMPLES",
    "SAMPLE_INDEX",
    "SEGMENT",
    "SENSOR",
    "SENSORS",
    "SERIAL",
    "SESSION",
    "SESSIONS",
    "SIDE",
    "SOFTWARE_VERSION",
    "START",
    "START_TIME",
    "STATION",
    "STEP_CADENCE_SPM",
    "STROKE_CADENCE_SPM",
    "SUBJECT",
    "TABLES",
    "TIME",
    "UNCERTAINTY_US",
]

# --- table names ----------------------------------------------------------------------------------
SESSIONS: Final = "sessions"
SAMPLES: Final = "samples"
ORIENTATION: Final = "orientation"
JOINT_ANGLES: Final = "joint_angles"
REPS: Final = "reps"
LOAD: Final = "load"
TABLES: Final[tuple[str, ...]] = (SESSIONS, SAMPLES, ORIENTATION, JOINT_ANGLES, REPS, LOAD)
"""The canonical table names, one folder each under a dataset root."""

# --- partition keys (folder names only) -----------------------------------------------------------
SUBJECT: Final = "subject"
SESSION: Final = "session"

# --- columns shared by several tables -------------------------------------------------------------
SENSOR: Final = "sensor"
"""Sensor id (string)."""
SEGMENT: Final = "segment"
"""Body segment name (see :data:`imurehab.SEGMENTS`)."""
TIME: Final = "time"
"""Sample time on the common timeline, ``timestamp[us, UTC]``."""
EXERCISE: Final = "exercise"
JOINT: Final = "joint"
SIDE: Final = "side"
"""``"left"``, ``"right"``, or null for midline joints."""
FLAGS: Final = "flags"
"""uint16 :class:`imurehab.SampleFlags` in ``samples``; list of quality-flag names in ``reps``."""

# --- sessions -------------------------------------------------------------------------------------
START_TIME: Final = "start_time"
END_TIME: Final = "end_time"
SOFTWARE_VERSION: Final = "software_version"
PLACEMENTS: Final = "placements"
SENSORS: Final = "sensors"
FAMILY: Final = "family"
MODEL: Final = "model"
FIRMWARE: Final = "firmware"
RATE_HZ: Final = "rate_hz"
ACC_RANGE_MPS2: Final = "acc_range_mps2"
GYR_RANGE_RADS: Final = "gyr_range_rads"
MAG_RANGE_UT: Final = "mag_range_ut"
DEVICE_CLOCK_HZ: Final = "device_clock_hz"
HAS_MAG: Final = "has_mag"
HAS_DEVICE_TIME: Final = "has_device_time"
N_SAMPLES: Final = "n_samples"
SERIAL: Final = "serial"
"""The device's own serial number as it reported it (``sensor`` is it made a safe identifier)."""
CLOCK_UNCERTAINTY_US: Final = "clock_uncertainty_us"
"""Largest bound on the UTC error of one of the sensor's sample times [µs] (see ``clocks``)."""
LOG_VERIFIED: Final = "log_verified"
"""True when every device log behind the samples was downloaded whole and its length and CRC checked."""
CLOCKS: Final = "clocks"
"""The fitted device clock of each boot (:class:`imurehab.ClockModel`), fields below."""
BOOT_ID: Final = "boot_id"
REF_TIME: Final = "ref_time"
OFFSET_US: Final = "offset_us"
DRIFT_PPM: Final = "drift_ppm"
UNCERTAINTY_US: Final = "uncertainty_us"
DRIFT_SIGMA_PPM: Final = "drift_sigma_ppm"
FIRST_TIME: Final = "first_time"
LAST_TIME: Final = "last_time"
N_ROUND_TRIPS: Final = "n_round_trips"
N_WINDOWS: Final = "n_windows"

# --- samples --------------------------------------------------------------------------------------
SAMPLE_INDEX: Final = "sample_index"
DEVICE_TIME: Final = "device_time"
ACC_X: Final = "acc_x"
ACC_Y: Final = "acc_y"
ACC_Z: Final = "acc_z"
GYR_X: Final = "gyr_x"
GYR_Y: Final = "gyr_y"
GYR_Z: Final = "gyr_z"
MAG_X: Final = "mag_x"
MAG_Y: Final = "mag_y"
MAG_Z: Final = "mag_z"
ACC: Final[tuple[str, str, str]] = (ACC_X, ACC_Y, ACC_Z)
"""Specific force columns [m/s²], sensor frame."""
GYR: Final[tuple[str, str, str]] = (GYR_X, GYR_Y, GYR_Z)
"""Angular rate columns [rad/s], sensor frame."""
MAG: Final[tuple[str, str, str]] = (MAG_X, MAG_Y, MAG_Z)
"""Magnetic flux density columns [µT], sensor frame; null without a magnetometer."""

# --- orientation ----------------------------------------------------------------------------------
Q_W: Final = "q_w"
Q_X: Final = "q_x"
Q_Y: Final = "q_y"
Q_Z: Final = "q_z"
QUAT: Final[tuple[str, str, str, str]] = (Q_W, Q_X, Q_Y, Q_Z)
"""Hamilton quaternion, scalar first, rotating sensor-frame vectors into the ENU earth frame."""
REST: Final = "rest"
MAG_DISTURBED: Final = "mag_disturbed"
BIAS_X: Final = "bias_x"
BIAS_Y: Final = "bias_y"
BIAS_Z: Final = "bias_z"
BIAS: Final[tuple[str, str, str]] = (BIAS_X, BIAS_Y, BIAS_Z)
"""Estimated gyroscope bias [rad/s], sensor frame."""

# --- joint angles ---------------------------------------------------------------------------------
FLEXION_DEG: Final = "flexion_deg"
ABDUCTION_DEG: Final = "abduction_deg"
ROTATION_DEG: Final = "rotation_deg"

# --- reps -----------------------------------------------------------------------------------------
REP: Final = "rep"
"""1-based repetition number (int32)."""
START: Final = "start"
END: Final = "end"
ROM_DEG: Final = "rom_deg"
MIN_DEG: Final = "min_deg"
MAX_DEG: Final = "max_deg"
DURATION_S: Final = "duration_s"

# --- load -----------------------------------------------------------------------------------------
# Definitions, units and sources of every metric: docs/load-metrics.md and imurehab.analysis.load.
EPOCH_START: Final = "epoch_start"
"""Start of the epoch, a whole multiple of ``epoch_s`` since 1970-01-01 UTC, ``timestamp[us, UTC]``."""
EPOCH_S: Final = "epoch_s"
"""Nominal epoch length [s]."""
PLAYERLOAD: Final = "playerload"
"""PlayerLoad 3D [AU]: Σ √(Δfwd² + Δside² + Δup²) / 100, acceleration in g, at 100 Hz."""
ENMO_MG: Final = "enmo_mg"
"""Mean of max(‖a‖ − 1 g, 0) over the epoch [mg] (GGIR ENMO)."""
MAD_MG: Final = "mad_mg"
"""Mean amplitude deviation of ‖a‖ [mg] (GGIR MAD; 5 s windows, averaged over the epoch)."""
STATION: Final = "station"
# schema version 3: the open load metrics of imurehab.analysis.load
LOAD_VERSION: Final = "load_version"
"""Version of the metric definitions a row was computed with (``LOAD_METRICS_VERSION``)."""
COVERED_S: Final = "covered_s"
"""Seconds of data in the epoch: samples in it / sampling rate (less than ``epoch_s`` at edges, gaps)."""
PLAYERLOAD_2D: Final = "playerload_2d"
"""PlayerLoad of the forward and sideways axes only (no vertical) [AU]."""
PLAYERLOAD_FWD: Final = "playerload_fwd"
PLAYERLOAD_SIDE: Final = "playerload_side"
PLAYERLOAD_UP: Final = "playerload_up"
PLAYERLOADS: Final[tuple[str, str, str, str, str]] = (
    PLAYERLOAD,
    PLAYERLOAD_2D,
    PLAYERLOAD_FWD,
    PLAYERLOAD_SIDE,
    PLAYERLOAD_UP,
)
"""PlayerLoad columns in the order of ``axes`` ``"3d", "2d", "fwd", "side", "up"`` [AU]."""
IMPACTS_2_3G: Final = "impacts_2_3g"
IMPACTS_3_5G: Final = "impacts_3_5g"
IMPACTS_5_8G: Final = "impacts_5_8g"
IMPACTS_8G_PLUS: Final = "impacts_8g_plus"
IMPACTS: Final[tuple[str, str, str, str]] = (IMPACTS_2_3G, IMPACTS_3_5G, IMPACTS_5_8G, IMPACTS_8G_PLUS)
"""Impact counts by peak ‖a‖ zone: [2, 3), [3, 5), [5, 8) and ≥ 8 g (int64)."""
COUNTS_X: Final = "counts_x"
COUNTS_Y: Final = "counts_y"
COUNTS_Z: Final = "counts_z"
COUNTS_VM: Final = "counts_vm"
COUNTS: Final[tuple[str, str, str]] = (COUNTS_X, COUNTS_Y, COUNTS_Z)
"""ActiGraph-compatible activity counts per sensor axis (int64); ``counts_vm`` their vector magnitude."""
ACCEL_EVENTS: Final = "accel_events"
DECEL_EVENTS: Final = "decel_events"
"""Forward acceleration / deceleration events starting in the epoch (int64), from the sensor alone."""
STEP_CADENCE_SPM: Final = "step_cadence_spm"
"""Dominant step frequency in the epoch [steps/min], null when the signal is not periodic in the band."""
STROKE_CADENCE_SPM: Final = "stroke_cadence_spm"
"""Dominant stroke frequency in the epoch [strokes/min], null when the signal is not periodic in the band."""
