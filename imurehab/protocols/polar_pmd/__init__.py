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
- PFTP file transfer (spec §11): :func:`frame_message`, :class:`ResponseReader`, :func:`build_request`
  / :func:`parse_request`, :func:`decode_directory` / :func:`encode_directory` (module ``pftp``);
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
from imurehab.protocols.polar_pmd.pftp import (
    PFTP_GATT,
    PftpEntry,
    PftpRequest,
    ResponseReader,
    build_request,
    decode_directory,
    encode_directory,
    frame_message,
    parse_request,
)
from imurehab.protocols.polar_pmd.settings import encode_settings, parse_settings
from imurehab.protocols.polar_pmd.timing import sample_times

__all__ = [
    "FAMILY",
    "PFTP_GATT",
    "SETTINGS",
    "FrameLayout",
    "OfflineRecording",
    "OfflineRecordingHeader",
    "OfflineRecordingPart",
    "PftpEntry",
    "PftpRequest",
    "PmdCommand",
    "PmdProfile",
    "PmdResponse",
    "PmdSamples",
    "ResponseReader",
    "build_command",
    "build_request",
    "decode",
    "decode_directory",
    "decode_frames",
    "decode_offline_recording",
    "delta_bits",
    "encode_delta_frame",
    "encode_directory",
    "encode_features",
    "encode_offline_recording",
    "encode_raw_frame",
    "encode_response",
    "encode_settings",
    "frame_message",
    "measurement_from_file_name",
    "measurement_id",
    "parse_command",
    "parse_features",
    "parse_measurement_stopped",
    "parse_request",
    "parse_response",
    "parse_settings",
    "pmd_profile",
    "sample_times",
]
