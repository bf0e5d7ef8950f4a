"""Polar SDK offline recording files (.REC): decode them into SI samples, encode them for virtual sensors.

A file is one security-strategy byte, then the *metadata* — header (magic, version, free, esw hash: four
u32 LE), start time (20 ASCII bytes), settings (length byte + settings TLV), security info (length byte,
strategy, XOR key index), the byte count of the first data frame (u16 LE), with padding to 16-byte
blocks around the count when AES is used — enciphered as a whole by the strategy of byte 0; then the
*payload*, enciphered by the strategy of the security info: the first data frame, then ``u16 LE size |
data frame`` to the end of the file. The data frames are ordinary PMD data frames. spec.md §8 cites the
source of every fact.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from numbers import Real
from pathlib import PurePosixPath
from typing import Final

import numpy as np

from imurehab.errors import ProtocolError
from imurehab.protocols.polar_pmd._profile import FAMILY_NAME, fail, pmd_profile
from imurehab.protocols.polar_pmd.frames import PmdSamples, decode_frames
from imurehab.protocols.polar_pmd.settings import Settings, encode_settings, parse_settings
from imurehab.protocols.polar_pmd.timing import NO_PREVIOUS, sample_times

__all__ = [
    "OfflineRecording",
    "OfflineRecordingHeader",
    "OfflineRecordingPart",
    "decode_offline_recording",
    "encode_offline_recording",
    "measurement_from_file_name",
]

_OFF: Final = pmd_profile().raw["offline"]
_STRATEGIES: Final[dict[int, str]] = {int(v): k for k, v in _OFF["security"].items()}
_BLOCK: Final[int] = _OFF["cipher_block_bytes"]
_SIZE: Final[int] = _OFF["size_field_bytes"]
_HEADER: Final = struct.Struct("<4I")
_PACKET: Final = re.compile(rf"^{FAMILY_NAME}: packet (\d+): ")
_FILE_NAME: Final = re.compile(r"([A-Z]+)(\d*)\.REC")


@dataclass(frozen=True)
class OfflineRecordingHeader:
    """The 16-byte file header, four u32 fields named as in Polar's SDK.

    ``magic`` is 0x3D7C4C2B in every valid file; ``version`` is 1 in every public sample (the SDK does
    not check it); the meaning of ``free`` and ``esw_hash`` is not documented.
    """

    magic: int = _OFF["magic"]
    version: int = _OFF["version"]
    free: int = 0
    esw_hash: int = 0


@dataclass(frozen=True)
class OfflineRecordingPart:
    """The metadata of one .REC file (one part of a split recording).

    ``start_time`` is stored in whole seconds and labelled UTC as the SDK does (spec.md §8.3);
    ``settings`` is the stored settings TLV (:data:`~.settings.Settings`, empty if none); ``security``
    ciphers the metadata and ``payload_security`` the data frames (``"none"``, ``"xor"``, ``"aes128"``,
    ``"aes256"``); ``key_index`` is the key byte an XOR-ed payload uses; ``frames`` counts data frames.
    """

    header: OfflineRecordingHeader
    start_time: datetime
    settings: Settings
    security: str
    payload_security: str
    key_index: int | None
    frames: int


@dataclass(frozen=True, eq=False)
class OfflineRecording:
    """A decoded offline recording.

    ``parts`` holds each file's metadata in the order given, ``frames`` the deciphered PMD data frames
    of all parts, ``samples`` their samples (raw, base units, SI via ``samples.si()``, ``time_ns`` in ns
    since 2000-01-01 on the device clock) timed by Polar's rule, restarted at each part (spec.md §8.5).
    """

    parts: tuple[OfflineRecordingPart, ...]
    frames: tuple[bytes, ...]
    samples: PmdSamples

    @property
    def start_time(self) -> datetime:
        """Start time stored in the first part."""
        return self.parts[0].start_time

    @property
    def settings(self) -> Settings:
        """Settings stored in the first part (every part must store the same)."""
        return self.parts[0].settings


def decode_offline_recording(
    data: bytes | Sequence[bytes],
    *,
    settings: Mapping[str, int | float | Sequence[int | float]] | None = None,
    key: bytes | None = None,
) -> OfflineRecording:
    """Decode an ACC, GYRO or MAG offline recording file, or the parts of a split one, in order.

    Parameters
    ----------
    data : bytes or sequence of bytes
        One .REC file, or the files ``<TYPE>0.REC``, ``<TYPE>1.REC``, … of a split recording.
    settings : Mapping, optional
        Settings the files lack (``sample_rate_hz`` [Hz], ``factor`` [base unit per count], …); a value
        that contradicts a stored one is an error.
    key : bytes, optional
        The recording's key (16 bytes for AES-128, 32 for AES-256, ≥ 1 for XOR) if it is enciphered.

    Returns
    -------
    OfflineRecording
        Metadata, frames and samples (m/s², rad/s, µT via ``samples.si()``).

    Raises
    ------
    ProtocolError
        ``truncated``, ``value`` (bad magic or wrong key, strategy, start time, frame size), ``settings``
        (key missing or unusable, settings contradicting or differing between parts), and the errors of
        :func:`~.frames.decode_frames`; offsets are file bytes, messages name part and frame.
    """
    files = [bytes(data)] if isinstance(data, bytes | bytearray | memoryview) else [bytes(p) for p in data]
    if not files:
        fail("no .REC file given", "truncated", 0)
    parts: list[OfflineRecordingPart] = []
    frames: list[bytes] = []
    where: list[tuple[int, int, int]] = []  # per frame: part, frame in part, file offset
    for index, file in enumerate(files):
        try:
            part, part_frames, offsets = _read_part(file, key)
        except ProtocolError as err:
            raise _reworded(err, f"part {index}: ", err.offset) if len(files) > 1 else err from None
        if parts and part.settings != parts[0].settings:
            fail(f"part {index} stores settings {part.settings}, part 0 {parts[0].settings}", "settings")
        parts.append(part)
        frames += part_frames
        where += [(index, k, o) for k, o in enumerate(offsets)]
    effective = _effective(parts[0].settings, settings)
    rate = float((effective.get("sample_rate_hz") or [0])[0]) or None  # 0 means unknown, as in the SDK
    factor = float((effective.get("factor") or [1.0])[0])
    try:
        samples = decode_frames(frames, factor=factor)
        stamps = samples.frame_timestamps_ns
        previous = np.concatenate(([NO_PREVIOUS], stamps[:-1]))
        previous[np.cumsum([0] + [p.frames for p in parts[:-1]])] = NO_PREVIOUS  # Polar restarts per part
        time_ns, basis = sample_times(stamps, samples.samples_per_frame, previous, rate)
    except ProtocolError as err:
        found = _PACKET.match(str(err))
        if found is None or err.offset is None:
            raise
        part_index, frame, start = where[int(found.group(1))]
        raise _reworded(err, f"part {part_index}, data frame {frame}: ", start + err.offset) from None
    return OfflineRecording(tuple(parts), tuple(frames), replace(samples, time_ns=time_ns, time_basis=basis))


def encode_offline_recording(
    frames: Sequence[bytes],
    *,
    start_time: datetime,
    settings: Mapping[str, int | float | Sequence[int | float]] | None = None,
    header: OfflineRecordingHeader | None = None,
    security: str = "none",
    key: bytes | None = None,
    key_index: int = 0,
) -> bytes:
    """One .REC file holding ``frames``, laid out as Polar's devices store them.

    Parameters
    ----------
    frames : sequence of bytes
        PMD data frames (see :func:`~.encode.encode_delta_frame`), 1–65535 bytes each, at least one.
    start_time : datetime
        Recording start, written in whole seconds (naive times are taken as UTC).
    settings : Mapping, optional
        Settings to store (names of :data:`~.settings.Settings`), e.g. ``sample_rate_hz``, ``factor``.
    header : OfflineRecordingHeader, optional
        Default: magic, version 1, ``free`` 0, ``esw_hash`` 0.
    security, key, key_index
        ``"none"``; or ``"xor"``, ``"aes128"``, ``"aes256"`` with ``key``: the metadata is enciphered
        with the key (XOR: its first byte), the payload XOR-ed with ``key[key_index]`` as in Polar's sample.

    Raises
    ------
    ProtocolError
        Unknown security or a bad key (``"settings"``), a field that does not fit (``"value"``).
    """
    code = _OFF["security"].get(security)
    if code is None:
        fail(f"security {security!r}; expected one of {sorted(_OFF['security'])}", "settings")
    if not frames:
        fail("a .REC file needs at least one data frame", "settings")
    bad = [i for i, f in enumerate(frames) if not 1 <= len(f) < 1 << (8 * _SIZE)]
    if bad:
        fail(f"data frame {bad[0]} has {len(frames[bad[0]])} bytes (1–65535 allowed)", "value")
    secret = _key(security, key, None)
    if secret and not 0 <= key_index < len(secret):
        fail(f"key_index {key_index} outside the {len(secret)}-byte key", "settings")
    tlv = encode_settings(settings or {})
    if len(tlv) > 255:
        fail(f"settings TLV of {len(tlv)} bytes exceeds its length byte", "value")
    head = header or OfflineRecordingHeader()
    fields = (head.magic, head.version, head.free, head.esw_hash)
    if not all(0 <= f < 1 << 32 for f in fields):
        fail(f"header fields {fields} must be u32", "value")
    meta = bytearray(_HEADER.pack(*fields) + _format_time(start_time) + bytes([len(tlv)]) + tlv)
    meta += bytes([2, _OFF["security"]["xor"], key_index]) if secret else b"\x00"
    aes = security.startswith("aes")
    if aes:
        meta += _padding(len(meta))
    meta += len(frames[0]).to_bytes(_SIZE, "little")
    if aes:
        meta += _padding(len(meta))
    payload = frames[0] + b"".join(len(f).to_bytes(_SIZE, "little") + f for f in frames[1:])
    if not secret:
        return bytes([code]) + bytes(meta) + payload
    sealed = _aes(secret, bytes(meta), encrypt=True) if aes else _xor(bytes(meta), secret[0])
    return bytes([code]) + sealed + _xor(payload, secret[key_index])


def measurement_from_file_name(name: str) -> str:
    """The measurement (``"acc"``, ``"gyro"``, ``"mag"``, ``"ppg"``, ``"ppi"``, ``"offline_hr"``) of a file.

    Parameters
    ----------
    name : str
        File name or PFTP path: ``ACC.REC``, ``GYRO5.REC``, ``…/MAG18.REC`` (digits number the parts).

    Raises
    ------
    ProtocolError
        For any other name (reason ``"type"``).
    """
    found = _FILE_NAME.fullmatch(PurePosixPath(name).name)
    measurement = _OFF["file_names"].get(found.group(1)) if found else None
    if measurement is None:
        fail(f"{name!r} is not an offline recording file name", "type")
    return str(measurement)


def _read_part(data: bytes, key: bytes | None) -> tuple[OfflineRecordingPart, list[bytes], list[int]]:
    """Parse one file: metadata, then the data frames with their file offsets."""
    if not data:
        fail("empty file", "truncated", 0)
    security = _strategy(data[0], 0)
    secret = _key(security, key, 0)
    aes = security.startswith("aes")
    body = data[1:]
    if aes:
        body = _aes(secret, body[: len(body) // _BLOCK * _BLOCK], encrypt=False)
    elif secret:
        body = _xor(body, secret[0])
    cursor = _Cursor(body)  # file offset = 1 + cursor.pos
    head = OfflineRecordingHeader(*_HEADER.unpack(cursor.take(_HEADER.size, "header")))
    if head.magic != _OFF["magic"]:
        hint = " (wrong key?)" if secret else ""
        fail(f"magic {head.magic:#010x} is not {_OFF['magic']:#010x}{hint}", "value", 1)
    start = _parse_time(cursor.take(_OFF["start_time_bytes"], "start time"), 1 + _HEADER.size)
    length = cursor.take(1, "settings length")[0]
    stored = parse_settings(cursor.take(length, "settings"), 1 + cursor.pos - length)
    payload_security, key_index = security, None
    if cursor.take(1, "security info length")[0]:
        payload_security = _strategy(cursor.take(1, "security strategy")[0], cursor.pos)
        if payload_security == "xor":
            key_index = cursor.take(1, "XOR key index")[0]
    if aes:
        cursor.take(_BLOCK - cursor.pos % _BLOCK, "padding")
    size = int.from_bytes(cursor.take(_SIZE, "first frame size"), "little")
    if size == 0:
        fail("the first data frame has 0 bytes", "value", 1 + cursor.pos - _SIZE)
    if aes:
        cursor.take(_BLOCK - cursor.pos % _BLOCK, "padding")
    start_of_payload = 1 + cursor.pos
    payload = _open_payload(data[start_of_payload:], payload_security, key, key_index, start_of_payload)
    frames, offsets = _split_frames(payload, size, start_of_payload)
    part = OfflineRecordingPart(head, start, stored, security, payload_security, key_index, len(frames))
    return part, frames, offsets


class _Cursor:
    """Reads the metadata in order; a field cut off is ``truncated`` at its file offset."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.body):
            fail(f"{what} cut off ({len(self.body) - self.pos} of {n} bytes)", "truncated", 1 + self.pos)
        self.pos += n
        return self.body[self.pos - n : self.pos]


def _open_payload(payload: bytes, security: str, key: bytes | None, key_index: int | None, at: int) -> bytes:
    if not payload:
        fail("no data frames after the metadata", "truncated", at)
    secret = _key(security, key, at)
    if security == "xor":
        index = key_index or 0
        if index >= len(secret):
            fail(f"payload XOR key index {index} outside the {len(secret)}-byte key", "settings", at - 1)
        return _xor(payload, secret[index])
    if security.startswith("aes"):
        whole = len(payload) // _BLOCK * _BLOCK
        if whole != len(payload):
            fail(f"AES payload of {len(payload)} bytes is not whole blocks", "truncated", at + whole)
        return _aes(secret, payload, encrypt=False)
    return payload


def _split_frames(payload: bytes, size: int, at: int) -> tuple[list[bytes], list[int]]:
    """The data frames: ``size`` bytes, then ``u16 size | frame`` until the payload ends."""
    frames: list[bytes] = []
    offsets: list[int] = []
    pos = 0
    while True:
        if pos + size > len(payload):
            left = len(payload) - pos
            fail(f"data frame {len(frames)} of {size} bytes cut off after {left}", "truncated", at + pos)
        frames.append(payload[pos : pos + size])
        offsets.append(at + pos)
        pos += size
        if pos == len(payload):
            return frames, offsets
        if pos + _SIZE >= len(payload):
            fail(f"the file ends at the size field of data frame {len(frames)}", "truncated", at + pos)
        size = int.from_bytes(payload[pos : pos + _SIZE], "little")
        if size == 0:
            fail(f"data frame {len(frames)} has 0 bytes", "value", at + pos)
        pos += _SIZE


def _strategy(byte: int, offset: int) -> str:
    name = _STRATEGIES.get(byte)
    if name is None:
        fail(f"unknown security strategy {byte}", "value", offset)
    return name


def _key(security: str, key: bytes | None, offset: int | None) -> bytes:
    """The key ``security`` needs (empty for ``"none"``), checked for size."""
    if security == "none":
        return b""
    if key is None:
        fail(f"the recording is enciphered ({security}); pass its key", "settings", offset)
    need = _OFF["key_bytes"][security]
    if (len(key) < need) if security == "xor" else (len(key) != need):
        fail(f"{security} needs a {need}-byte key, got {len(key)} bytes", "settings", offset)
    return bytes(key)


def _xor(data: bytes, byte: int) -> bytes:
    return (np.frombuffer(data, dtype=np.uint8) ^ np.uint8(byte)).tobytes()


def _aes(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """AES in ECB mode without padding (Polar's ``AES_128/ECB/NoPadding``)."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:  # pragma: no cover - bumble depends on cryptography
        fail("AES needs the 'cryptography' package", "settings")
    cipher = Cipher(algorithms.AES(key), modes.ECB())
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def _padding(length: int) -> bytes:
    """Pad to the next block; always 1–16 bytes, each holding the pad length as in Polar's sample."""
    n = _BLOCK - length % _BLOCK
    return bytes([n]) * n


def _parse_time(raw: bytes, offset: int) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` and a NUL, read as UTC like the SDK (which ignores the last byte)."""
    try:
        return datetime.strptime(raw[:-1].decode("ascii"), _OFF["start_time_format"]).replace(tzinfo=UTC)
    except ValueError:
        fail(f"start time {raw!r} is not 'YYYY-MM-DD HH:MM:SS' and a NUL", "value", offset)


def _format_time(t: datetime) -> bytes:
    utc = t.astimezone(UTC) if t.tzinfo else t
    if not 1000 <= utc.year <= 9999:
        fail(f"start time {t} outside the years 1000–9999", "value")
    return utc.strftime(_OFF["start_time_format"]).encode("ascii") + b"\x00"


def _effective(stored: Settings, given: Mapping[str, int | float | Sequence[int | float]] | None) -> Settings:
    """The stored settings, completed by ``given``; contradictions are errors."""
    out = dict(stored)
    for name, value in (given or {}).items():
        if name not in pmd_profile().settings:
            fail(f"unknown setting {name!r}; expected one of {sorted(pmd_profile().settings)}", "settings")
        values = list(value) if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, Real) and not isinstance(v, bool) and np.isfinite(v) for v in values):
            fail(f"setting {name}={value!r} is not a finite number or list of them", "settings")
        if name in out and out[name] != values:
            fail(f"setting {name}={values} contradicts the stored {out[name]}", "settings")
        out[name] = values
    return out


def _reworded(err: ProtocolError, prefix: str, offset: int | None) -> ProtocolError:
    """``err`` re-pointed: ``prefix`` replaces its family and packet text, ``offset`` its offset."""
    text = re.sub(rf"^{FAMILY_NAME}: (packet \d+: )?|(?: at byte \d+)? \(\w+\)$", "", str(err))
    return ProtocolError(prefix + text, family=FAMILY_NAME, reason=err.reason, offset=offset)
