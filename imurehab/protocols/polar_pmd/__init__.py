"""Polar Measurement Data (PMD): Polar Verity Sense / H10 / OH1 accelerometer, gyroscope and magnetometer.

Pure codecs, no I/O (``firmware_protocols/polar-pmd/spec.md`` cites the public source of every fact):

- control point: :func:`build_command` / :func:`parse_command`, :func:`encode_response` /
  :func:`parse_response` (named error codes), :func:`encode_settings` / :func:`parse_settings`,
  :func:`parse_features` / :func:`encode_features`, :func:`parse_measurement_stopped`;
- data frames: :func:`decode_frames` (vectorised, raw and delta-compressed, any channel count and bit
  width 1–32, Polar's sample time rule) and the encoders :func:`encode_raw_frame` /
  :func:`encode_delta_frame`;
- offline recording files (.REC): :func:`decode_offline_recording` (plain or enciphered, split
  parts joined) and :func:`encode_offline_recording`, :func:`measurement_from_file_name`;
- :data:`FAMILY`, the registry entry whose ``decode`` returns SI samples (m/s², rad/s, µT) on the device
  clock (ns since 2000-01-01).

GATT UUIDs and all constants: :func:`pmd_profile` (loaded from ``profile.toml``).
"""

from imurehab.protocols.polar_pmd._profile import FrameLayout, PmdProfile, measurement_id, pmd_profile
from imurehab.protocols.polar_pmd.control import (
    PmdCommand,
    PmdResponse,
    build_command,
    encode_features,
    encode_response,
    parse_command,
    parse_features,
    parse_measurement_stopped,
    parse_response,
)
from imurehab.protocols.polar_pmd.encode import delta_bits, encode_delta_frame, encode_raw_frame
from imurehab.protocols.polar_pmd.family import FAMILY, SETTINGS, decode
from imurehab.protocols.polar_pmd.frames import PmdSamples, decode_frames
from imurehab.protocols.polar_pmd.offline import (
    OfflineRecording,
    OfflineRecordingHeader,
    OfflineRecordingPart,
    decode_offline_recording,
    encode_offline_recording,
    measurement_from_file_name,
)
from imurehab.protocols.polar_pmd.settings import encode_settings, parse_settings
from imurehab.protocols.polar_pmd.timing import sample_times

__all__ = [
    "FAMILY",
    "SETTINGS",
    "FrameLayout",
    "OfflineRecording",
    "OfflineRecordingHeader",
    "OfflineRecordingPart",
    "PmdCommand",
    "PmdProfile",
    "PmdResponse",
    "PmdSamples",
    "build_command",
    "decode",
    "decode_frames",
    "decode_offline_recording",
    "delta_bits",
    "encode_delta_frame",
    "encode_features",
    "encode_offline_recording",
    "encode_raw_frame",
    "encode_response",
    "encode_settings",
    "measurement_from_file_name",
    "measurement_id",
    "parse_command",
    "parse_features",
    "parse_measurement_stopped",
    "parse_response",
    "parse_settings",
    "pmd_profile",
    "sample_times",
]
