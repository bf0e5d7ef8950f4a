"""The ``movella-dot`` registry entry: settings, and ``decode`` dispatching to the codecs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imurehab.protocols.base import DecodeResult, ProtocolFamily, Settings
from imurehab.protocols.movella_dot._export import decode_export, is_export_data
from imurehab.protocols.movella_dot._measurement import (
    decode_measurements,
    parse_measurement_control,
    payload_mode,
)
from imurehab.protocols.movella_dot._messages import describe
from imurehab.protocols.movella_dot._profile import (
    EXPORT,
    FAMILY_NAME,
    MAG_AU_TO_UT,
    PROFILE,
    error,
)
from imurehab.protocols.movella_dot._samples import DotSamples

SETTINGS: dict[str, str] = {
    "mode": "payload mode of measurement notifications (2, 3, 4, 5, 6, 7, 16, 18-24, 26); implies "
    "characteristic=measurement",
    "characteristic": "'measurement' (payload notifications), 'message' (message service, the default "
    "without mode), 'acknowledge' (message acknowledge read-back) or 'control' (measurement control)",
    "previous_timestamp_us": "unwrapped device time [us] of the last sample decoded before these packets",
    "export_data": "SelectExportData codes of ExportFileData messages, e.g. '0,4,7,8' (the default)",
    "mag_au_to_ut": "uT per magnetometer a.u. (default 40: 'approximately 40 uT' per the user manual)",
}
_CHARACTERISTICS = ("measurement", "message", "acknowledge", "control", "notification")


@dataclass(frozen=True)
class _Options:
    mode: int | None
    characteristic: str
    previous_timestamp_us: int | None
    export_selection: tuple[int, ...]
    mag_au_to_ut: float


def _int(settings: Settings, key: str) -> int | None:
    value = settings.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise error(f"setting {key} must be an integer, got {value!r}", "settings") from None


def _options(settings: Settings) -> _Options:
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise error(f"unknown setting(s) {unknown}; known {sorted(SETTINGS)}", "settings")
    mode = _int(settings, "mode")
    characteristic = str(settings.get("characteristic", "measurement" if mode is not None else "message"))
    if characteristic not in _CHARACTERISTICS:
        raise error(f"characteristic must be one of {list(_CHARACTERISTICS)}", "settings")
    if characteristic == "measurement" and mode is None:
        raise error("measurement notifications need the payload mode (--set mode=N)", "settings")
    raw = settings.get("export_data", EXPORT["default_selection"])
    try:
        parts = raw if isinstance(raw, list | tuple) else str(raw).replace(",", " ").split()
        selection = tuple(int(str(p), 0) for p in parts)
    except ValueError:
        raise error(f"export_data must list integer codes, got {raw!r}", "settings") from None
    try:
        mag = float(settings.get("mag_au_to_ut", MAG_AU_TO_UT))
    except (TypeError, ValueError):
        raise error("mag_au_to_ut must be a number", "settings") from None
    return _Options(mode, characteristic, _int(settings, "previous_timestamp_us"), selection, mag)


def _result(samples: DotSamples, info: dict[str, Any]) -> DecodeResult:
    q = samples.quantities
    info |= {"samples": len(samples), "rollovers": samples.rollovers}
    if samples.time_us is not None and len(samples):
        info |= {"first_timestamp_us": int(samples.time_us[0]), "last_timestamp_us": int(samples.time_us[-1])}
    info |= {name: v.tolist() for name, v in q.items() if name not in ("acc", "gyr", "mag")}
    return DecodeResult(
        family=FAMILY_NAME,
        time_ns=None if samples.time_us is None else samples.time_us * 1000,
        acc=q.get("acc"),
        gyr=q.get("gyr"),
        mag=q.get("mag"),
        sample_index=samples.data_number,
        info=info,
    )


def _messages(packets: Sequence[bytes], opts: _Options) -> DecodeResult:
    infos: list[dict[str, Any]] = []
    exported: list[bytes] = []
    invalid: list[int] = []
    for p in packets:
        if is_export_data(p):  # framing and checksum are checked vectorised by decode_export
            exported.append(p)
            continue
        info = describe(p, opts.characteristic)
        if info.get("message") == "ExportFileDataInvalid":
            invalid.append(info["data_number"])
        else:
            infos.append(info)
    if not exported:
        if len(infos) == 1 and not invalid:
            return DecodeResult(family=FAMILY_NAME, info=infos[0])
        return DecodeResult(family=FAMILY_NAME, info={"messages": infos, "invalid_data_numbers": invalid})
    samples, info = decode_export(
        exported,
        opts.export_selection,
        previous_timestamp_us=opts.previous_timestamp_us,
        mag_au_to_ut=opts.mag_au_to_ut,
    )
    info["invalid_data_numbers"] = invalid
    if infos:
        info["messages"] = infos
    return _result(samples, info)


def decode(packets: Sequence[bytes], settings: Mapping[str, Any]) -> DecodeResult:
    """Decode Movella DOT packets: measurement notifications, message service messages or control.

    Parameters
    ----------
    packets : sequence of bytes
        Packets of one characteristic, in arrival order.
    settings : Mapping
        See :data:`SETTINGS`.

    Returns
    -------
    DecodeResult
        Samples (acc [m/s²], gyr [rad/s], mag [µT], time_ns = unwrapped device µs × 1000) where the
        packets carry them; orientation outputs (``quaternion``, ``euler_deg``, ``free_acc``, ``dq``,
        ``dv``, ``status``, clip counts) as lists in ``info``; message fields in ``info``.

    Raises
    ------
    ProtocolError
        On any malformed packet or missing setting.
    """
    opts = _options(settings)
    if opts.characteristic == "control":
        infos = [parse_measurement_control(p) for p in packets]
        return DecodeResult(family=FAMILY_NAME, info=infos[0] if len(infos) == 1 else {"controls": infos})
    if opts.characteristic == "measurement":
        assert opts.mode is not None
        m = payload_mode(opts.mode)
        samples = decode_measurements(
            packets,
            m.number,
            previous_timestamp_us=opts.previous_timestamp_us,
            mag_au_to_ut=opts.mag_au_to_ut,
        )
        info = {
            "mode": m.number,
            "mode_name": m.name,
            "characteristic": m.characteristic,
            "packets": len(packets),
        }
        if "mag" in m.fields:
            info["mag_au_to_ut"] = opts.mag_au_to_ut
        return _result(samples, info)
    return _messages(packets, opts)


FAMILY = ProtocolFamily(
    name=FAMILY_NAME,
    title=str(PROFILE["title"]),
    settings=SETTINGS,
    decode=decode,
)
