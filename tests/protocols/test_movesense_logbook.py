"""Movesense Logbook codec: the entry list and the SBEM log file."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.errors import ProtocolError
from imurehab.protocols.movesense import (
    LogEntry,
    decode_log,
    encode_entries,
    encode_meas,
    encode_sbem,
    parse_entries,
    parse_sbem,
    reassemble,
)


@given(
    st.lists(
        st.builds(LogEntry, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)),
        max_size=9,
    )
)
def test_entries_round_trip(entries):
    assert parse_entries(encode_entries(entries)) == entries


def test_entries_refuse_partial_records():
    with pytest.raises(ProtocolError) as info:
        parse_entries(encode_entries([LogEntry(1, 2, 3)])[:-1])
    assert info.value.reason == "truncated"


@settings(max_examples=100)
@given(
    chunks=st.lists(st.tuples(st.integers(1, 300), st.binary(max_size=300)), max_size=6),
    paths=st.dictionaries(st.integers(1, 300), st.sampled_from(["/Meas/IMU6/104", "/Meas/Temp"]), max_size=3),
)
def test_sbem_round_trip_with_escaped_ids_and_lengths(chunks, paths):
    descriptors, got = parse_sbem(encode_sbem(paths, chunks))
    assert descriptors == paths and got == chunks


def test_sbem_cut_short_or_without_magic_is_refused():
    data = encode_sbem({1: "/Meas/IMU6/104"}, [(1, bytes(40))])
    for bad, reason in ((data[:-1], "truncated"), (b"XBEM" + data[4:], "type")):
        with pytest.raises(ProtocolError) as info:
            parse_sbem(bad)
        assert info.value.reason == reason


def test_decode_log_gives_the_samples_of_its_imu_resource():
    rows = np.arange(48, dtype=float).reshape(16, 3)
    sent = encode_meas("/Meas/IMU9/104", 4, [500, 576], acc=rows, gyr=rows, mag=rows, max_notification=512)
    payloads = reassemble(sent, "/Meas/IMU9/104").payloads
    data = encode_sbem(
        {1: "/Meas/IMU9/104", 2: "/Meas/Temp"}, [(1, bytes(p)) for p in payloads] + [(2, b"\1")]
    )
    ((path, s),) = decode_log(data).items()
    assert path == "/Meas/IMU9/104" and np.array_equal(s.acc, rows) and np.allclose(s.gyr, rows)
    assert s.timestamp_ms.tolist() == [500, 576]
