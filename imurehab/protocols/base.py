"""What every protocol family provides: a decode result in SI units, and a registry entry.

Families are pure codecs (no I/O): bytes in, :class:`DecodeResult` out, and encoders back. The
command-line ``imurehab protocol decode`` and the BLE ingest use them through :func:`get_family`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError

__all__ = [
    "FAMILY_MODULES",
    "DecodeResult",
    "ProtocolFamily",
    "Settings",
    "decode_packets",
    "get_family",
    "list_families",
]

Settings = Mapping[str, Any]
"""Decoder settings a frame does not carry: ``channels``, ``resolution`` (bits), ``factor``, ``range``..."""

FloatArray = npt.NDArray[np.float64]

FAMILY_MODULES: Final[dict[str, str]] = {
    "polar-pmd": "imurehab.protocols.polar_pmd",
    "movesense-gsp": "imurehab.protocols.movesense",
    "movella-dot": "imurehab.protocols.movella_dot",
    "witmotion": "imurehab.protocols.witmotion",
    "osp": "imurehab.protocols.osp",
}
"""Family name → module defining ``FAMILY`` (a :class:`ProtocolFamily`)."""


@dataclass(frozen=True, eq=False)
class DecodeResult:
    """Samples and facts decoded from one or more packets of one family.

    Attributes
    ----------
    family : str
        Protocol family name.
    time_ns : ndarray of int64, shape (N,), or None
        Each sample's time on the device clock as the protocol defines it [ns] (e.g. ns since
        2000-01-01 for Polar, since boot for Movesense); None when the protocol carries no time.
    acc : ndarray, shape (N, 3), or None
        Specific force [m/s²] in the sensor frame, where the packets carry accelerometer data.
    gyr : ndarray, shape (N, 3), or None
        Angular rate [rad/s].
    mag : ndarray, shape (N, 3), or None
        Magnetic flux density [µT].
    sample_index : ndarray of int64, shape (N,), or None
        The device's sample counter, where the protocol has one.
    info : dict
        JSON-ready facts parsed from the packets (frame type, sequence numbers, settings, ...); keys
        are documented per family.
    """

    family: str
    time_ns: npt.NDArray[np.int64] | None = None
    acc: FloatArray | None = None
    gyr: FloatArray | None = None
    mag: FloatArray | None = None
    sample_index: npt.NDArray[np.int64] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        for a in (self.time_ns, self.acc, self.gyr, self.mag, self.sample_index):
            if a is not None:
                return int(a.shape[0])
        return 0

    def to_json(self) -> dict[str, Any]:
        """The result as ``{"family", "samples": [{"time_ns", "acc", "gyr", "mag"}, ...], "info"}``."""

        def row(a: FloatArray | None, i: int) -> list[float] | None:
            return None if a is None else [float(v) for v in a[i]]

        samples = [
            {
                "time_ns": None if self.time_ns is None else int(self.time_ns[i]),
                "acc": row(self.acc, i),
                "gyr": row(self.gyr, i),
                "mag": row(self.mag, i),
            }
            for i in range(len(self))
        ]
        return {"family": self.family, "samples": samples, "info": self.info}


@dataclass(frozen=True)
class ProtocolFamily:
    """A protocol family's registry entry.

    Attributes
    ----------
    name : str
        Family name (``"polar-pmd"``).
    title : str
        One line for ``imurehab protocol list``.
    settings : Mapping[str, str]
        Settings ``decode`` understands → what each means (units included).
    decode : callable
        ``decode(packets, settings) -> DecodeResult``: the packets in arrival order (several where a
        message spans notifications), settings for what the packets do not carry. Raises
        :class:`~imurehab.errors.ProtocolError` only.
    """

    name: str
    title: str
    settings: Mapping[str, str]
    decode: Callable[[Sequence[bytes], Settings], DecodeResult]


def get_family(name: str) -> ProtocolFamily:
    """The registry entry of a family.

    Parameters
    ----------
    name : str
        Family name, one of :data:`FAMILY_MODULES`.

    Raises
    ------
    ProtocolError
        For an unknown family (reason ``"type"``).
    """
    if name not in FAMILY_MODULES:
        raise ProtocolError(
            f"unknown protocol family; expected one of {sorted(FAMILY_MODULES)}", family=name, reason="type"
        )
    family = importlib.import_module(FAMILY_MODULES[name]).FAMILY
    assert isinstance(family, ProtocolFamily)
    return family


def list_families() -> list[ProtocolFamily]:
    """Every registered family, by name."""
    return [get_family(n) for n in sorted(FAMILY_MODULES)]


def decode_packets(family: str, packets: Sequence[bytes], settings: Settings | None = None) -> DecodeResult:
    """Decode packets of a family.

    Parameters
    ----------
    family : str
        Family name.
    packets : sequence of bytes
        Packets (notifications, responses or file chunks) in arrival order.
    settings : Mapping, optional
        Values the packets do not carry (see each family's ``settings``).

    Returns
    -------
    DecodeResult
        Samples in SI units and the facts parsed.

    Raises
    ------
    ProtocolError
        On any malformed input.
    """
    return get_family(family).decode([bytes(p) for p in packets], settings or {})
