"""The Movesense GSP profile (``firmware_protocols/movesense-gsp/profile.toml``) as typed constants."""

from __future__ import annotations

import re
import struct
from typing import Any, Final

from imurehab.errors import ProtocolError
from imurehab.protocols.profiles import load_profile

FAMILY_NAME: Final = "movesense-gsp"
PROFILE: Final[dict[str, Any]] = load_profile(FAMILY_NAME)


def error(message: str, reason: str, offset: int | None = None) -> ProtocolError:
    """A :class:`~imurehab.errors.ProtocolError` of this family."""
    return ProtocolError(message, family=FAMILY_NAME, reason=reason, offset=offset)


COMMANDS: Final[dict[str, int]] = dict(PROFILE["commands"])
COMMAND_NAME: Final[dict[int, str]] = {v: k for k, v in COMMANDS.items()}
COMMAND_PAYLOAD: Final[dict[str, str]] = dict(PROFILE["command_payload"])
RESPONSES: Final[dict[str, int]] = dict(PROFILE["responses"])
RESPONSE_NAME: Final[dict[int, str]] = {v: k for k, v in RESPONSES.items()}
DATALOGGER_STATES: Final[dict[str, int]] = dict(PROFILE["datalogger_states"])
DATALOGGER_STATE_NAME: Final[dict[int, str]] = {v: k for k, v in DATALOGGER_STATES.items()}
GET_RESPONSES: Final[dict[str, str]] = dict(PROFILE["get_responses"])
BLOCKS: Final[dict[str, tuple[str, ...]]] = {k: tuple(v) for k, v in PROFILE["meas"]["blocks"].items()}
HEADER: Final[int] = int(PROFILE["payload"]["header_bytes"])
TIMESTAMP: Final = struct.Struct(PROFILE["payload"]["timestamp_format"])
SAMPLE_DTYPE: Final[str] = str(PROFILE["payload"]["sample_format"])
AXES: Final[int] = int(PROFILE["payload"]["axes"])
CLOCK_BITS: Final[int] = int(PROFILE["clock"]["bits"])
LOG_OFFSET: Final = struct.Struct(PROFILE["log"]["offset_format"])
MAX_NOTIFICATION: Final[int] = int(PROFILE["transport"]["max_notification_bytes"])
RATES_HZ: Final[tuple[int, ...]] = tuple(PROFILE["meas"]["rates"]["imu_hz"])
ENTRIES_PATH: Final[str] = str(PROFILE["logbook"]["entries_path"])
ENTRIES_SKIP: Final[int] = int(PROFILE["logbook"]["entries_skip_bytes"])
SBEM: Final[dict[str, Any]] = dict(PROFILE["sbem"])

_MEAS = re.compile(r"^/?meas/(?P<name>[a-z0-9]+)(?:/(?P<rate>\d+))?/?$", re.IGNORECASE)
_RESOURCE_BY_LOWER: Final[dict[str, str]] = {k.lower(): k for k in BLOCKS}


def unpack_spec(spec: str) -> tuple[struct.Struct, tuple[str, ...]]:
    """``"<struct format>:<name>,<name>"`` from the profile as a struct and its field names."""
    fmt, names = spec.split(":")
    return struct.Struct(fmt), tuple(names.split(","))


def meas_resource(path: str) -> tuple[str, float | None]:
    """The measurement resource of a subscription path and its rate.

    Parameters
    ----------
    path : str
        ``"/Meas/IMU6/104"``, ``"Meas/Acc/13"`` (case-insensitive).

    Returns
    -------
    name : str
        Canonical resource (``"IMU6"``), a key of the profile's ``meas.blocks``.
    rate : float or None
        Sample rate from the path [Hz], None when the path has none.

    Raises
    ------
    ProtocolError
        ``"settings"`` for a path that is no known IMU measurement resource.
    """
    m = _MEAS.match(path.strip())
    if m is None or m["name"].lower() not in _RESOURCE_BY_LOWER:
        raise error(
            f"no IMU measurement resource in path {path!r}; known /Meas/{{{','.join(BLOCKS)}}}/<rate>",
            "settings",
        )
    return _RESOURCE_BY_LOWER[m["name"].lower()], float(m["rate"]) if m["rate"] else None
