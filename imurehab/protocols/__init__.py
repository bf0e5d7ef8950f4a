"""Sensor protocols: pure codecs (no I/O) from each family's bytes to SI samples, and back.

Families: ``polar-pmd`` (Polar Measurement Data), ``movesense-gsp`` (Movesense GATT SensorData
Protocol), ``movella-dot`` (Movella DOT), ``witmotion`` (WitMotion 0x55 stream) and ``osp`` (the imurehab
Open Sensor Protocol, ours; see ``firmware_protocols/osp/spec.md``). Each decoder raises only
:class:`~imurehab.errors.ProtocolError`.
"""

from imurehab.protocols.base import (
    FAMILY_MODULES,
    DecodeResult,
    ProtocolFamily,
    decode_packets,
    get_family,
    list_families,
)
from imurehab.protocols.profiles import load_profile, load_vectors, protocol_dir

__all__ = [
    "FAMILY_MODULES",
    "DecodeResult",
    "ProtocolFamily",
    "decode_packets",
    "get_family",
    "list_families",
    "load_profile",
    "load_vectors",
    "protocol_dir",
]
