"""PFTP codec (spec.md §11): the SDK's frame vectors, requests, directories, loss, random bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.errors import ProtocolError
from imurehab.protocols.polar_pmd import (
    PftpEntry,
    ResponseReader,
    build_request,
    decode_directory,
    encode_directory,
    frame_message,
    parse_request,
)
from imurehab.protocols.polar_pmd.pftp import PftpFrame, encode_frame, error_frame, parse_frame
from imurehab.protocols.polar_pmd.protobuf import fields

# BlePsFtpClientTest.kt `test psftp client read response` (polar-ble-sdk): 13 frames at ATT MTU 23.
SDK_RESPONSE = [
    bytes.fromhex(h)
    for h in (
        "06 0A 06 08 02 10 04 18 03 12 06 08 00 10 09 18 05 1A 06 08",
        "17 02 10 00 18 07 32 08 41 31 34 37 38 43 32 43 3A 0E 50 6F",
        "27 50 6F 6C 61 72 20 49 4E 57 33 4E 5F 42 0B 30 30 37 38 35",
        "37 30 30 37 38 35 36 4A 06 43 6F 70 70 65 72 52 06 55 6E 69",
        "47 55 6E 69 5A 10 41 30 39 45 31 41 46 46 46 45 41 31 34 37",
        "57 41 30 62 14 C1 A8 78 D5 02 4B 46 1D C6 6D 38 ED 0E 53 B5",
        "67 C1 A8 78 D5 02 6A 06 08 03 10 0B 18 00 72 10 0A 06 42 6C",
        "77 42 6C 65 41 1A 06 08 09 10 00 18 00 72 17 0A 0D 42 6C 65",
        "87 42 6C 65 42 6F 6F 74 6C 6F 61 1A 06 08 04 10 01 18 00 72",
        "97 22 0A 03 47 50 53 1A 1B 08 01 10 00 18 00 22 13 61 32 30",
        "A7 61 32 30 30 32 30 5F 66 34 64 33 38 36 38 5F 31 78 01 82",
        "B7 82 08 0A 06 08 03 10 00 18 02 8A 01 0D 0A 09 5A 48 5F 4A",
        "C3 5A 48 5F 4A 41 10 09",
    )
]


def test_sdk_frame_headers() -> None:
    """BlePsFtpUtilsTest.kt: first/MORE/seq 0, next/MORE/seq 9, next/LAST/seq 12."""
    first, middle, last = (parse_frame(SDK_RESPONSE[i]) for i in (0, 9, 12))
    assert (first.first, first.status, first.sequence, len(first.payload)) == (True, "more", 0, 19)
    assert (middle.first, middle.status, middle.sequence) == (False, "more", 9)
    assert (last.first, last.status, last.sequence, last.payload) == (False, "last", 12, SDK_RESPONSE[12][1:])
    assert all(encode_frame(parse_frame(f)) == f for f in SDK_RESPONSE)


def test_sdk_response_reassembled() -> None:
    reader = ResponseReader()
    done = [reader.feed(f) for f in SDK_RESPONSE]
    assert done == [False] * 12 + [True]
    assert bytes(reader.content) == b"".join(f[1:] for f in SDK_RESPONSE) and reader.error == 0
    one = ResponseReader()  # BlePsFtpClientTest `test psftp client request`: `02 22`
    assert one.feed(bytes([0x02, 0x22])) and bytes(one.content) == b"\x22"


def test_lost_frame_is_a_sequence_error() -> None:
    reader = ResponseReader()
    reader.feed(SDK_RESPONSE[0])
    with pytest.raises(ProtocolError) as err:
        reader.feed(SDK_RESPONSE[2])
    assert err.value.reason == "sequence" and reader.more_expected
    late = ResponseReader()  # a lost first frame: the next bit betrays it
    with pytest.raises(ProtocolError, match="next bit"):
        late.feed(bytes([0x01 | 0x02]))


def test_status_frames() -> None:
    reader = ResponseReader()
    assert reader.feed(error_frame(103)) and reader.error == 103 and not reader.content
    assert parse_frame(error_frame(0)) == PftpFrame(True, "error", 0, error=0)
    with pytest.raises(ProtocolError, match="error code"):
        parse_frame(b"\x00\x67")
    with pytest.raises(ProtocolError, match="undefined"):
        parse_frame(b"\x04")


def test_get_request_vector() -> None:
    """spec.md §11.4: GET /U/0/ as protobuf-java writes it (required command 0 included)."""
    assert build_request("GET", "/U/0/").hex(" ") == "09 00 08 00 12 05 2f 55 2f 30 2f"
    assert frame_message(build_request("GET", "/U/0/"), 20) == [
        bytes.fromhex("02 09 00 08 00 12 05 2F 55 2F 30 2F")
    ]


@given(
    command=st.sampled_from(["GET", "PUT", "MERGE", "REMOVE"]),
    path=st.text(max_size=300),
    data=st.binary(max_size=100),
)
def test_request_round_trip(command: str, path: str, data: bytes) -> None:
    parsed = parse_request(build_request(command, path, data))
    assert (parsed.command, parsed.path, parsed.data) == (command, path, data)


@given(message=st.binary(max_size=2000), frame_bytes=st.integers(2, 244))
def test_framing_round_trip(message: bytes, frame_bytes: int) -> None:
    frames = frame_message(message, frame_bytes)
    assert all(len(f) <= frame_bytes for f in frames)
    assert all(len(f) == frame_bytes for f in frames[:-1])
    reader = ResponseReader()
    assert [reader.feed(f) for f in frames][-1] and bytes(reader.content) == message


@given(
    entries=st.lists(
        st.builds(PftpEntry, st.text(max_size=40), st.integers(0, 2**64 - 1)),
        max_size=20,
    )
)
def test_directory_round_trip(entries: list[PftpEntry]) -> None:
    assert decode_directory(encode_directory(entries)) == entries


def test_directory_skips_dates_and_unknown_fields() -> None:
    entry = bytes.fromhex("0a 08 41 43 43 30 2e 52 45 43 10 96 01 1a 02 08 01")
    data = bytes.fromhex("0a") + bytes([len(entry)]) + entry + bytes.fromhex("18 05")
    assert decode_directory(data) == [PftpEntry("ACC0.REC", 150)]
    with pytest.raises(ProtocolError):
        decode_directory(bytes.fromhex("0a 02 10 01"))  # an entry without a name


@settings(max_examples=300)
@given(data=st.binary(max_size=200))
def test_random_bytes_never_crash(data: bytes) -> None:
    for decode in (decode_directory, parse_request, parse_frame, lambda d: list(fields(d))):
        try:
            decode(data)
        except ProtocolError:
            pass
    reader = ResponseReader()
    for i in range(0, len(data), 7):
        try:
            reader.feed(data[i : i + 7])
        except ProtocolError:
            break
