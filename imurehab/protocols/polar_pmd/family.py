"""The ``polar-pmd`` registry entry: one ``decode`` for data frames, settings TLVs and control messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from imurehab.protocols.base import DecodeResult, ProtocolFamily
from imurehab.protocols.polar_pmd._profile import FAMILY_NAME, fail, pmd_profile
from imurehab.protocols.polar_pmd.control import (
    PmdCommand,
    PmdResponse,
    parse_command,
    parse_features,
    parse_measurement_stopped,
    parse_response,
    parse_settings,
)
from imurehab.protocols.polar_pmd.frames import PmdSamples, decode_frames
from imurehab.protocols.polar_pmd.offline import decode_offline_recording

__all__ = ["FAMILY", "decode"]

SETTINGS: Final[dict[str, str]] = {
    "type": "packet kind: auto (default), data, settings (a bare settings TLV), control (sensor → client: "
    "response; 01… measurement stopped; anything else a feature read), command (client → sensor) or "
    "offline (whole .REC files of one recording, one per packet, in part order)",
    "key": "offline recording security key, hex (encrypted .REC files only)",
    "channels": "values per sample, for frame types the profile does not list [count]",
    "resolution": "bits of a raw or reference value, for frame types the profile does not list [bit]",
    "factor": "FACTOR of the start-measurement response; multiplies counts of frame types that use it "
    "[base unit per count], default 1",
    "range": "selected measurement range [g, deg/s or G]; reported in info only",
    "rate": "nominal sample rate: spaces a stream's first frame when previous_timestamp_ns is absent [Hz]",
    "sample_rate_hz": "same as rate [Hz]",
    "previous_timestamp_ns": "timestamp of the frame before the first packet, per stream "
    "[ns since 2000-01-01]",
}
"""Settings :func:`decode` understands (``--set KEY=VALUE`` on the command line)."""

_KINDS: Final = ("auto", "data", "settings", "control", "command", "offline")
_SAMPLE_KEYS: Final = {"acc": "samples_mG", "gyro": "samples_dps", "mag": "samples_gauss"}
_SI_FIELD: Final = {"acc": "acc", "gyro": "gyr", "mag": "mag"}


def decode(packets: Sequence[bytes], settings: Mapping[str, Any]) -> DecodeResult:
    """Decode PMD packets: data frames into SI samples, or a settings TLV / control message into ``info``.

    Parameters
    ----------
    packets : sequence of bytes
        Data frames of one measurement in arrival order; or one settings TLV; or a control point
        response and its continuations; or one feature read, stop notification or command.
    settings : Mapping
        See :data:`SETTINGS`.

    Returns
    -------
    DecodeResult
        For data: ``time_ns`` (device clock, ns since 2000-01-01; None when a first frame's spacing is
        unknown), ``acc`` [m/s²], ``gyr`` [rad/s] or ``mag`` [µT] (x, y, z), and ``info`` with the
        parsed facts: ``measurement``, ``frame_type``, ``compressed``, ``frame_timestamp_ns_since_2000``
        (last frame), ``frame_timestamps_ns_since_2000``, ``timestamp_is_last_sample``,
        ``samples_per_frame``, ``sample_time_basis``, ``n_samples``, ``channels``, ``resolution_bits``,
        ``delta_blocks`` (per frame, ``[bits, samples]``), ``factor``, ``unit``, ``samples_raw`` (integers
        as transmitted) and the samples in Polar's SDK units: ``samples_mG`` (ACC, integers truncated
        toward zero as the SDK reports them), ``samples_dps`` (GYRO) or ``samples_gauss`` (MAG, with
        ``mag_calibration_status``). For a settings TLV: ``sample_rate_hz``, ``resolution_bits``,
        ``range``, ``range_milliunit``, ``channels``, ``factor`` (lists). For a control point response:
        ``command``, ``opcode``, ``measurement``, ``measurement_type``, ``error_code``, ``error`` (name),
        ``more``, ``parameters_hex`` and the settings keys it carries; for a command: ``command``,
        ``measurement``, ``offline`` and its settings; ``measurement_stopped`` or ``features`` (lists of
        measurement names) for those control point messages.

    Raises
    ------
    ProtocolError
        On any malformed packet or unusable setting.
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        fail(f"unknown setting(s) {unknown}; expected {sorted(SETTINGS)}", "settings")
    if not packets:
        fail("no packets", "truncated", 0)
    kind = settings.get("type", "auto")
    if kind not in _KINDS:
        fail(f"type {kind!r}; expected one of {_KINDS}", "settings")
    if kind == "auto":
        kind = _detect(packets[0])
    if kind == "data":
        return _decode_data(packets, settings)
    if kind == "offline":
        return _decode_offline(packets, settings)
    if kind == "control" and packets[0][:1] == bytes([pmd_profile().raw["control"]["response_code"]]):
        return DecodeResult(family=FAMILY_NAME, info=_response_info(parse_response(packets)))
    if len(packets) != 1:
        fail(f"a {kind} message is one packet, got {len(packets)}", "sequence", 0)
    packet = packets[0]
    if kind == "settings":
        return DecodeResult(family=FAMILY_NAME, info=dict(parse_settings(packet)))
    if kind == "command":
        return DecodeResult(family=FAMILY_NAME, info=_command_info(parse_command(packet)))
    if packet[:1] == bytes([pmd_profile().raw["control"]["measurement_stopped"]]):
        return DecodeResult(
            family=FAMILY_NAME, info={"measurement_stopped": parse_measurement_stopped(packet)}
        )
    return DecodeResult(family=FAMILY_NAME, info={"features": parse_features(packet)})


FAMILY: Final = ProtocolFamily(
    name=FAMILY_NAME,
    title=str(pmd_profile().raw["title"]),
    settings=SETTINGS,
    decode=decode,
)
"""The registry entry (``imurehab.protocols.get_family("polar-pmd")``)."""


def _detect(packet: bytes) -> str:
    """Guess a packet's kind from its first byte.

    0xF0 → control, an ACC/GYRO/MAG type byte (2, 5, 6) → data, else a settings TLV. A TLV that
    starts with setting type 2 or 5 needs ``type=settings``; commands, stop notifications and feature
    reads always need their ``type``.
    """
    prof = pmd_profile()
    if not packet:
        fail("empty packet", "truncated", 0)
    if packet[0] == prof.raw["control"]["response_code"]:
        return "control"
    data_ids = {prof.measurement_ids[m] for m in prof.decoded}
    if packet[0] in data_ids:
        return "data"
    return "settings"


def _number(settings: Mapping[str, Any], key: str, kind: type) -> Any:
    value = settings.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(f"setting {key}={value!r} is not a number", "settings")
    if kind is int:
        if value != int(value):
            fail(f"setting {key}={value!r} is not an integer", "settings")
        return int(value)
    if not np.isfinite(value):
        fail(f"setting {key}={value!r} is not finite", "settings")
    return float(value)


def _decode_data(packets: Sequence[bytes], settings: Mapping[str, Any]) -> DecodeResult:
    rate = _number(settings, "rate", float)
    alias = _number(settings, "sample_rate_hz", float)
    if rate is not None and alias is not None and rate != alias:
        fail(f"rate {rate} and sample_rate_hz {alias} disagree", "settings")
    factor = _number(settings, "factor", float)
    samples = decode_frames(
        packets,
        previous_timestamp_ns=_number(settings, "previous_timestamp_ns", int),
        sample_rate_hz=rate if rate is not None else alias,
        factor=1.0 if factor is None else factor,
        channels=_number(settings, "channels", int),
        resolution_bits=_number(settings, "resolution", int),
    )
    si = samples.si()
    arrays = {"acc": None, "gyr": None, "mag": None}
    arrays[_SI_FIELD[samples.measurement]] = si
    info = _data_info(samples, 1.0 if factor is None else factor)
    if "range" in settings:
        info["range"] = _number(settings, "range", float)
    return DecodeResult(family=FAMILY_NAME, time_ns=samples.time_ns, info=info, **arrays)


def _decode_offline(packets: Sequence[bytes], settings: Mapping[str, Any]) -> DecodeResult:
    key_hex = settings.get("key")
    try:
        key = None if key_hex is None else bytes.fromhex(str(key_hex).removeprefix("0x"))
    except ValueError:
        fail(f"key {key_hex!r} is not hexadecimal", "settings")
    rec = decode_offline_recording(list(packets), key=key)
    samples = rec.samples
    arrays: dict[str, Any] = {"acc": None, "gyr": None, "mag": None}
    arrays[_SI_FIELD[samples.measurement]] = samples.si()
    info = _data_info(samples, float(dict(rec.parts[0].settings).get("factor", [1.0])[0]))
    first = rec.parts[0]
    info.update(
        magic=first.header.magic,
        version=first.header.version,
        free=first.header.free,
        esw_hash=first.header.esw_hash,
        start_time=first.start_time.isoformat(),
        settings=dict(first.settings),
        security=first.security,
        payload_security=first.payload_security,
        key_index=first.key_index,
        frames=len(rec.frames),
        samples_raw_first=samples.raw[:2].tolist(),
        time_ns_last=None if samples.time_ns is None else int(samples.time_ns[-1]),
        parts=len(rec.parts),
    )
    return DecodeResult(family=FAMILY_NAME, time_ns=samples.time_ns, info=info, **arrays)


def _data_info(s: PmdSamples, factor: float) -> dict[str, Any]:
    last_type = int(s.frame_type_bytes[-1])
    frame = pmd_profile().raw["frame"]
    scaled = [c for c in range(s.raw.shape[1]) if c != s.status_channel]
    values = s.values[:, scaled]
    info: dict[str, Any] = {
        "measurement": s.measurement,
        "frames": len(s.frame_timestamps_ns),
        "frame_type": last_type & frame["type_mask"],
        "compressed": bool(last_type & frame["compressed_bit"]),
        "frame_timestamp_ns_since_2000": int(s.frame_timestamps_ns[-1]),
        "frame_timestamps_ns_since_2000": s.frame_timestamps_ns.tolist(),
        "timestamp_is_last_sample": bool(pmd_profile().raw["clock"]["timestamp_is_last_sample"]),
        "samples_per_frame": s.samples_per_frame.tolist(),
        "sample_time_basis": s.time_basis,
        "n_samples": len(s),
        "channels": int(s.raw.shape[1]),
        "resolution_bits": int(s.resolution_bits[-1]),
        "delta_blocks": s.delta_blocks(),
        "factor": factor,
        "unit": s.unit,
        "samples_raw": s.raw.tolist(),
    }
    key = _SAMPLE_KEYS[s.measurement]
    if s.measurement == "acc":
        if not np.all(np.abs(values) < 2.0**63):
            fail(f"factor {factor} makes accelerations overflow", "settings")
        info[key] = np.trunc(values).astype(np.int64).tolist()
    else:
        info[key] = values.tolist()
    if s.status_channel is not None:
        info["mag_calibration_status"] = s.raw[:, s.status_channel].tolist()
    return info


def _response_info(r: PmdResponse) -> dict[str, Any]:
    """The info keys of a control point response.

    ``response_code``, ``command``, ``opcode``, ``measurement``, ``measurement_type``, ``error_code``,
    ``error`` (name), ``more``, ``parameters_hex`` and, for settings/start responses, the settings keys;
    ``sdk_mode_enabled`` for an SDK mode status response.
    """
    info: dict[str, Any] = {
        "response_code": pmd_profile().raw["control"]["response_code"],
        "command": r.command,
        "opcode": r.opcode,
        "measurement": r.measurement,
        "measurement_type": r.measurement_type,
        "error_code": r.error_code,
        "error": r.error,
        "more": r.more,
        "parameters_hex": r.parameters.hex(" "),
    }
    if r.settings is not None:
        info.update(r.settings)
    if r.ok and r.command == "get_sdk_mode_status" and r.parameters:
        info["sdk_mode_enabled"] = r.parameters[0] != 0
    return info


def _command_info(c: PmdCommand) -> dict[str, Any]:
    """The info keys of a command.

    ``command``, ``opcode``, ``measurement``, ``measurement_type``, ``offline``, ``parameters_hex`` and the
    settings keys of a start command.
    """
    info: dict[str, Any] = {
        "command": c.command,
        "opcode": c.opcode,
        "measurement": c.measurement,
        "measurement_type": c.measurement_type,
        "offline": c.offline,
        "parameters_hex": c.parameters.hex(" "),
    }
    info.update(c.settings)
    return info
