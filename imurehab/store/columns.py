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
    "JOINT",
    "JOINT_ANGLES",
    "LAST_TIME",
    "LOAD",
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
EPOCH_START: Final = "epoch_start"
EPOCH_S: Final = "epoch_s"
PLAYERLOAD: Final = "playerload"
ENMO_MG: Final = "enmo_mg"
MAD_MG: Final = "mad_mg"
STATION: Final = "station"
