"""Polar offline recording files (.REC): the SDK's sample files, split parts, ciphers, round trips, fuzz."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.errors import ProtocolError
from imurehab.protocols import load_vectors
from imurehab.protocols.polar_pmd import (
    OfflineRecordingHeader,
    decode_frames,
    decode_offline_recording,
    encode_delta_frame,
    encode_offline_recording,
    encode_raw_frame,
    measurement_from_file_name,
)
from imurehab.types import STANDARD_GRAVITY

OFFLINE = [v for v in load_vectors("polar-pmd") if "offline" in v]
IOS_TEST = "sources/iOS/ios-communications/Tests/iOSCommunicationsTests/OfflineRecordingDataTest.swift"
T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def _bytes(text):
    return bytes.fromhex(text.replace(" ", ""))


def _file(vector):
    off = vector["offline"]
    return _bytes(off["file_hex"]), _bytes(off["key_hex"]) if "key_hex" in off else None


def _decode(name):
    vector = next(v for v in OFFLINE if v["what"].startswith(name))
    data, key = _file(vector)
    return data, key, decode_offline_recording(data, key=key)


def _error(*args, **kwargs):
    with pytest.raises(ProtocolError) as err:
        decode_offline_recording(*args, **kwargs)
    return err.value.reason, err.value.offset


# --- the SDK's sample files ----------------------------------------------------------------------


def test_the_sdk_sample_files_are_all_present():
    assert len(OFFLINE) == 4 and all(IOS_TEST in v["source"] for v in OFFLINE)


@pytest.mark.parametrize("vector", OFFLINE, ids=[v["what"][:4] for v in OFFLINE])
def test_sdk_files_decode_exactly_and_re_encode_byte_for_byte(vector):
    data, key = _file(vector)
    rec = decode_offline_recording(data, key=key)
    part, s = rec.parts[0], rec.samples
    actual = {
        "magic": part.header.magic,
        "version": part.header.version,
        "free": part.header.free,
        "esw_hash": part.header.esw_hash,
        "start_time": part.start_time.isoformat(),
        "settings": part.settings,
        "security": part.security,
        "payload_security": part.payload_security,
        "key_index": part.key_index,
        "frames": len(rec.frames),
        "n_samples": len(s),
        "samples_raw_first": s.raw[:2].tolist(),
        "time_ns_last": int(s.time_ns[-1]),
    }
    assert actual == vector["offline"]["expect"]
    assert [f.hex() for f in rec.frames] == [_bytes(h).hex() for h in vector["hex"]]
    assert s.time_basis == ["sample_rate"] + ["previous_timestamp"] * (len(rec.frames) - 1)
    again = encode_offline_recording(
        rec.frames,
        start_time=part.start_time,
        settings=part.settings,
        header=part.header,
        security=part.security,
        key=key,
        key_index=part.key_index or 0,
    )
    assert again == data


def test_sdk_values_and_units():
    _, _, acc = _decode("ACC offline recording file (.REC), not")
    assert acc.parts[0].header.esw_hash == 0x5FC37904  # headerEswHash
    assert acc.start_time == datetime(2017, 1, 19, 8, 32, 52, tzinfo=UTC)  # "2017-01-19T08:32:52Z"
    assert int(acc.samples.time_ns[-1]) == 0x777D25DB22F2730  # expectedLastSampleTimeStamp
    assert np.allclose(acc.samples.si()[0], np.array([-11, 28, 997]) * STANDARD_GRAVITY / 1000)
    for name, factor_bits, raw1 in [
        ("GYRO", 0x3D8F5C29, [-5101 - 867, 4032 - 3318, -4597 + 3604]),
        ("MAG", 0x3AC49BA6, [-413 + 14, -69 - 4, -1459 + 5]),
    ]:
        _, _, rec = _decode(name)
        factor = np.array([factor_bits], dtype=np.uint32).view(np.float32)[0]
        assert rec.settings["factor"] == [float(factor)]
        assert rec.samples.raw[1].tolist() == raw1
        # The SDK multiplies in float32; our float64 products round to exactly its values.
        sdk = rec.samples.raw[:2].astype(np.float32) * factor
        assert np.array_equal(rec.samples.values[:2].astype(np.float32), sdk)


def test_sdk_files_that_the_sdk_rejects():
    # offlineFrameWithoutData and hrOfflineFrame of the SDK's OfflineRecordingDataTest.swift.
    header_only = _bytes(
        "00 2B4C7C3D 01000000 00000000 EDB73B5E 323031372D30312D30312031303A32363A323700 00 00"
    )
    assert _error(header_only) == ("truncated", 39)  # no size of a first data frame
    offline_hr = _bytes(
        "00 2B4C7C3D 01000000 00000000 08FBCE14 323032322D31322D30372030373A30343A323800 00 00 1300"
        "0E 0000000000000000 00 00FF323233333435 55"
    )
    assert _error(offline_hr) == ("type", 41)  # offline HR is not ACC, GYRO or MAG


def test_enciphered_files_need_the_right_key():
    data, key, _ = _decode("ACC offline recording file (.REC) with AES")
    assert _error(data) == ("settings", 0)
    assert _error(data, key=bytes(16)) == ("value", 1)  # magic mismatch: wrong key
    assert _error(data, key=key[:8]) == ("settings", 0)
    assert _error(data, key=key + key)[0] == "settings"


# --- malformed files -----------------------------------------------------------------------------


def test_truncated_and_corrupt_files_name_the_file_byte():
    data, _, rec = _decode("ACC offline recording file (.REC), not")
    last = len(data) - len(rec.frames[-1])
    assert _error(b"") == ("truncated", 0)
    assert _error(data[:10]) == ("truncated", 1)  # header cut
    assert _error(data[:30]) == ("truncated", 17)  # start time cut
    assert _error(data[:45]) == ("truncated", 38)  # settings cut
    assert _error(data[:56]) == ("truncated", 56)  # no payload
    assert _error(data[:-1]) == ("truncated", last)  # last frame cut
    assert _error(data + b"\x05") == ("truncated", len(data))  # stray byte
    assert _error(data + b"\x05\x00") == ("truncated", len(data))  # a size without its frame
    assert _error(data[: last - 2] + b"\x00\x00" + data[last:]) == ("value", last - 2)  # 0-byte frame
    assert _error(b"\x09" + data[1:]) == ("value", 0)  # unknown security strategy
    assert _error(data[:1] + b"\x2c" + data[2:]) == ("value", 1)  # magic
    assert _error(data[:17] + b"x" + data[18:]) == ("value", 17)  # start time
    assert _error(data[:38] + b"\x09" + data[39:]) == ("type", 38)  # unknown setting type
    cut_frame = data[: last - 2] + b"\x09\x00" + data[last : last + 9]
    assert _error(cut_frame) == ("truncated", last + 9)  # inside the frame's 10-byte header


def test_settings_argument_completes_but_never_contradicts_the_file():
    _, _, rec = _decode("ACC offline recording file (.REC), not")
    bare = encode_offline_recording(rec.frames, start_time=T0)
    assert decode_offline_recording(bare).samples.time_ns is None  # first frame: spacing unknown
    given_rate = decode_offline_recording(bare, settings={"sample_rate_hz": 52})
    assert np.array_equal(given_rate.samples.time_ns, rec.samples.time_ns) and given_rate.settings == {}
    full = encode_offline_recording(rec.frames, start_time=T0, settings=rec.settings)
    assert _error(full, settings={"sample_rate_hz": 26}) == ("settings", None)
    assert _error(full, settings={"colour": 1}) == ("settings", None)
    assert _error(full, settings={"factor": "big"}) == ("settings", None)
    zero_rate = encode_offline_recording(rec.frames, start_time=T0, settings={"sample_rate_hz": 0})
    assert decode_offline_recording(zero_rate).samples.time_ns is None  # the SDK reads 0 as "no rate"
    assert _error(bare, settings={"sample_rate_hz": -1}) == ("settings", None)
    empty_lists = encode_offline_recording(
        rec.frames, start_time=T0, settings={"sample_rate_hz": [], "factor": []}
    )
    assert decode_offline_recording(empty_lists).samples.time_ns is None


# --- split recordings ----------------------------------------------------------------------------


def test_split_parts_are_joined_and_timed_as_polar_does():
    _, _, rec = _decode("ACC offline recording file (.REC), not")
    parts = [
        encode_offline_recording(rec.frames[:2], start_time=rec.start_time, settings=rec.settings),
        encode_offline_recording(rec.frames[2:], start_time=rec.start_time, settings=rec.settings),
    ]
    joined = decode_offline_recording(parts)
    assert np.array_equal(joined.samples.raw, rec.samples.raw) and joined.frames == rec.frames
    assert [p.frames for p in joined.parts] == [2, 4]
    # The SDK parses each part with no previous timestamp: its first frame is spaced by the rate.
    assert joined.samples.time_basis[2] == "sample_rate"
    n0 = int(rec.samples.samples_per_frame[:2].sum())
    n1 = int(rec.samples.samples_per_frame[2])
    last = int(joined.samples.frame_timestamps_ns[2])
    expected = [last - round((n1 - 1 - i) * 1e9 / 52) for i in range(n1)]
    assert np.abs(joined.samples.time_ns[n0 : n0 + n1] - np.array(expected)).max() <= 1
    assert np.array_equal(joined.samples.time_ns[n0 + n1 :], rec.samples.time_ns[n0 + n1 :])
    assert _error([parts[1], parts[0]])[0] == "sequence"
    assert _error([parts[0], parts[1][:-1]]) == ("truncated", len(parts[1]) - len(rec.frames[-1]))
    other = encode_offline_recording(
        rec.frames[2:], start_time=rec.start_time, settings={"sample_rate_hz": 26}
    )
    assert _error([parts[0], other]) == ("settings", None)
    with pytest.raises(ProtocolError, match="part 1, data frame 0: ") as err:
        decode_offline_recording([parts[0], parts[1][:56] + b"\x07" + parts[1][57:]])  # skin temperature
    assert (err.value.reason, err.value.offset) == ("type", 56)
    assert _error([]) == ("truncated", 0)


def test_file_names_map_to_measurements():
    names = {"ACC.REC": "acc", "GYRO.REC": "gyro", "MAG.REC": "mag", "PPG.REC": "ppg", "PPI.REC": "ppi"}
    names |= {
        "HR.REC": "offline_hr",
        "ACC0.REC": "acc",
        "GYRO5.REC": "gyro",
        "/U/0/20240101/R/1/MAG18.REC": "mag",
    }
    assert {n: measurement_from_file_name(n) for n in names} == names
    for bad in ["INVALID.REC", "acc.rec", "ACC.TXT"]:
        with pytest.raises(ProtocolError):
            measurement_from_file_name(bad)


# --- round trips ---------------------------------------------------------------------------------


@st.composite
def recordings(draw):
    measurement, frame_type = draw(st.sampled_from([("acc", 1), ("gyro", 0), ("mag", 0)]))
    ts = draw(st.integers(10**17, 9 * 10**17))
    frames = []
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(1, 40))
        x = np.array(draw(st.lists(st.integers(-2000, 2000), min_size=3 * n, max_size=3 * n))).reshape(n, 3)
        ts += draw(st.integers(1, 10**9))
        if measurement == "acc" and draw(st.booleans()):
            frames.append(encode_raw_frame("acc", 1, ts, x))
        else:
            frames.append(
                encode_delta_frame(measurement, frame_type, ts, x, block_samples=draw(st.integers(1, 40)))
            )
    values = st.lists(st.integers(0, 65535), min_size=1, max_size=3)
    stored = draw(st.dictionaries(st.sampled_from(["sample_rate_hz", "range", "resolution_bits"]), values))
    if draw(st.booleans()):
        stored["factor"] = [draw(st.floats(0.0625, 16.0, width=32))]
    security = draw(st.sampled_from(["none", "xor", "aes128", "aes256"]))
    size = {"none": 0, "xor": draw(st.integers(1, 8)), "aes128": 16, "aes256": 32}[security]
    key = draw(st.binary(min_size=size, max_size=size)) if size else None
    header = OfflineRecordingHeader(
        version=draw(st.integers(0, 2**32 - 1)), esw_hash=draw(st.integers(0, 2**32 - 1))
    )
    start = T0 + timedelta(seconds=draw(st.integers(-(10**9), 10**9)))
    key_index = draw(st.integers(0, size - 1)) if size else 0
    return frames, stored, security, key, key_index, header, start


@settings(max_examples=120, deadline=None)
@given(recordings())
def test_decode_of_encode_is_identity(case):
    frames, stored, security, key, key_index, header, start = case
    data = encode_offline_recording(
        frames,
        start_time=start,
        settings=stored,
        header=header,
        security=security,
        key=key,
        key_index=key_index,
    )
    rec = decode_offline_recording(data, key=key)
    part = rec.parts[0]
    assert rec.frames == tuple(frames) and part.header == header and part.start_time == start
    assert part.settings == stored and part.security == security
    assert part.key_index == (key_index if key else None)
    rate = stored.get("sample_rate_hz", [None])[0]
    alone = decode_frames(frames, sample_rate_hz=rate or None, factor=stored.get("factor", [1.0])[0])
    assert np.array_equal(rec.samples.raw, alone.raw)
    assert np.array_equal(rec.samples.values, alone.values)
    if rate:
        assert np.array_equal(rec.samples.time_ns, alone.time_ns)
    again = encode_offline_recording(
        rec.frames,
        start_time=part.start_time,
        settings=part.settings,
        header=part.header,
        security=part.security,
        key=key,
        key_index=part.key_index or 0,
    )
    assert again == data


def test_encoder_rejects_what_a_file_cannot_hold():
    frame = encode_raw_frame("acc", 1, 10**9, np.zeros((1, 3), dtype=int))
    bad = [
        ({"frames": []}, "settings"),
        ({"frames": [b""]}, "value"),
        ({"frames": [bytes(65536)]}, "value"),
        ({"security": "rot13"}, "settings"),
        ({"security": "aes128"}, "settings"),
        ({"security": "aes128", "key": bytes(15)}, "settings"),
        ({"security": "xor", "key": b"k", "key_index": 1}, "settings"),
        ({"header": OfflineRecordingHeader(free=-1)}, "value"),
        ({"start_time": datetime(999, 1, 1)}, "value"),
        ({"settings": {"sample_rate_hz": list(range(150))}}, "value"),
    ]
    for change, reason in bad:
        kwargs = {"frames": [frame], "start_time": T0} | change
        with pytest.raises(ProtocolError) as err:
            encode_offline_recording(kwargs.pop("frames"), **kwargs)
        assert err.value.reason == reason, change


# --- fuzz ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([None, bytes(range(16)), b"\x5a"]))
def test_random_bytes_raise_only_protocol_errors(data, key):
    try:
        decode_offline_recording(data, key=key)
    except ProtocolError:
        pass


SAMPLES = [(_file(v)) for v in OFFLINE]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=4),
    st.integers(0, 2000),
    st.binary(max_size=6),
)
def test_mutated_files_raise_only_protocol_errors(sample, flips, cut, tail):
    data, key = sample
    mutated = bytearray(data)
    for pos, value in flips:
        mutated[pos % len(mutated)] = value
    try:
        decode_offline_recording([bytes(mutated[: max(cut, 1)]) + tail, data], key=key)
    except ProtocolError:
        pass
