"""Polar PMD codec: public vectors, encode/decode round trips, malformed input, the time rule."""

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.errors import ProtocolError
from imurehab.protocols import decode_packets, get_family, load_profile, load_vectors
from imurehab.protocols.polar_pmd import (
    build_command,
    decode_frames,
    encode_delta_frame,
    encode_features,
    encode_raw_frame,
    encode_response,
    encode_settings,
    parse_command,
    parse_features,
    parse_response,
    parse_settings,
    sample_times,
)
from imurehab.types import STANDARD_GRAVITY

FAMILY = "polar-pmd"
VECTORS = load_vectors(FAMILY)
SHARED = Path("/work/shared/vectors/vectors.json")
T0 = 800_000_000_000_000_000  # ns since 2000-01-01, ~2025


def _packets(vector):
    hexes = vector["hex"] if isinstance(vector["hex"], list) else [vector["hex"]]
    return [bytes.fromhex(h.replace(" ", "")) for h in hexes]


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _actual(result, info, key, expected):
    """The decoded value a vector's ``expect`` key names (info keys, ``*_first`` prefixes, ``time_ns*``)."""
    times = None if result.time_ns is None else result.time_ns.tolist()
    special = {"time_ns": times, "time_ns_first": times and times[0], "time_ns_last": times and times[-1]}
    if key in special:
        return special[key]
    if key in info:
        return info[key]
    assert key.endswith("_first") and key[: -len("_first")] in info, f"decoder gives no {key!r}"
    return info[key[: -len("_first")]][: len(expected)]


# --- vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[f"v{i}" for i in range(len(VECTORS))])
def test_vector_decodes_exactly(vector):
    assert vector["family"] == FAMILY and vector["source"]
    result = decode_packets(FAMILY, _packets(vector), vector["settings"])
    info = json.loads(json.dumps(result.info))
    for key, expected in vector["expect"].items():
        assert _same(_actual(result, info, key, expected), expected), key


@pytest.mark.skipif(not SHARED.exists(), reason="shared vectors not present")
def test_shared_vectors_are_included_unchanged():
    ours = [(v["hex"], v["settings"], v["expect"]) for v in VECTORS]
    for v in json.loads(SHARED.read_text()):
        if v["family"] == FAMILY:
            assert (v["hex"], v["settings"], v["expect"]) in ours


def test_si_units_follow_the_base_units():
    raw = decode_packets(FAMILY, _packets(VECTORS[1]), {"channels": 3})
    assert np.allclose(raw.acc, np.array([[-9, -1, 999], [-8, -2, 997]]) * STANDARD_GRAVITY / 1000)
    gyro = next(
        v for v in VECTORS if v["expect"].get("samples_dps") == [[-22.0, 8.0, 13.0], [-23.0, 11.0, 16.0]]
    )
    res = decode_packets(FAMILY, _packets(gyro), gyro["settings"])
    assert np.allclose(np.rad2deg(res.gyr), gyro["expect"]["samples_dps"]) and res.acc is None
    mag = next(v for v in VECTORS if "mag_calibration_status" in v["expect"])
    res = decode_packets(FAMILY, _packets(mag), mag["settings"])
    assert np.allclose(res.mag, np.array(mag["expect"]["samples_gauss"]) * 100.0)  # 1 G = 100 µT


def test_profile_is_the_source_of_the_constants():
    profile = load_profile(FAMILY)
    assert profile["gatt"]["service"] == "FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"
    assert profile["clock"]["epoch"] == "2000-01-01T00:00:00Z"
    assert set(get_family(FAMILY).settings) >= {
        "channels",
        "resolution",
        "factor",
        "rate",
        "previous_timestamp_ns",
    }


# --- round trips ---------------------------------------------------------------------------------


def _int_samples(draw, n, channels, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.array(
        draw(st.lists(st.integers(lo, hi), min_size=n * channels, max_size=n * channels)), dtype=np.int64
    ).reshape(n, channels)


@st.composite
def raw_frames(draw):
    channels = draw(st.integers(1, 4))
    resolution = draw(st.integers(1, 32))
    n = draw(st.integers(0, 400 // (channels * ((resolution + 7) // 8))))
    return channels, resolution, _int_samples(draw, n, channels, resolution)


@settings(max_examples=120)
@given(raw_frames(), st.integers(10**9, 2**62))
def test_raw_frame_round_trip(case, ts):
    channels, resolution, x = case
    frame = encode_raw_frame("mag", 100, ts, x, channels=channels, resolution_bits=resolution)
    s = decode_frames([frame], channels=channels, resolution_bits=resolution, sample_rate_hz=1e6)
    assert np.array_equal(s.raw, x) and s.raw.shape == (len(x), channels)
    if len(x):
        assert s.time_ns is not None and s.time_ns[-1] == ts


@st.composite
def delta_frames(draw):
    channels = draw(st.integers(1, 4))
    bits = draw(st.integers(1, 32))
    resolution = draw(st.integers(1, 32))
    block = draw(st.integers(1, 255))
    n = draw(st.integers(1, 1 + int(470 / (3 / block + channels * bits / 8))))  # fits one notification
    ref = _int_samples(draw, 1, channels, resolution)
    diffs = _int_samples(draw, n - 1, channels, bits)
    x = np.cumsum(np.vstack([ref, diffs]), axis=0).astype(np.int32).astype(np.int64)  # wraps like Polar
    return channels, bits, resolution, x, block


@settings(max_examples=150)
@given(delta_frames(), st.booleans())
def test_delta_frame_round_trip(case, fixed_width):
    channels, bits, resolution, x, block = case
    frame = encode_delta_frame(
        "gyro",
        77,
        T0,
        x,
        bits=bits if fixed_width else None,
        block_samples=block,
        channels=channels,
        resolution_bits=resolution,
    )
    s = decode_frames(
        [frame], channels=channels, resolution_bits=resolution, previous_timestamp_ns=T0 - 10**9
    )
    assert np.array_equal(s.raw, x)
    assert s.time_ns[-1] == T0 and np.all(np.diff(s.time_ns) >= 0)
    if fixed_width and len(x) > 1:
        assert set(s.block_bits.tolist()) == {bits}


@st.composite
def mixed_streams(draw):
    frames, singles, ts = [], [], T0
    for _ in range(draw(st.integers(1, 6))):
        x = _int_samples(draw, draw(st.integers(1, 30)), 3, 12)
        ts += draw(st.integers(1, 10**9))
        if draw(st.booleans()):
            frames.append(encode_delta_frame("acc", 1, ts, x, block_samples=draw(st.integers(1, 40))))
        else:
            frames.append(encode_raw_frame("acc", 1, ts, x))
        singles.append(x)
    return frames, singles


@settings(max_examples=80)
@given(mixed_streams())
def test_decoding_many_frames_at_once_equals_one_by_one(case):
    frames, singles = case
    together = decode_frames(frames, previous_timestamp_ns=T0)
    assert np.array_equal(together.raw, np.vstack(singles))
    previous, times = T0, []
    for frame in frames:
        one = decode_frames([frame], previous_timestamp_ns=previous)
        times.append(one.time_ns)
        previous = int(one.frame_timestamps_ns[-1])
    assert np.array_equal(together.time_ns, np.concatenate(times))


@settings(max_examples=60)
@given(
    st.dictionaries(
        st.sampled_from(["sample_rate_hz", "resolution_bits", "range", "channels"]),
        st.lists(st.integers(0, 255), min_size=1, max_size=4),
    ),
    st.lists(st.floats(-1e6, 1e6, width=32), max_size=2),
)
def test_settings_round_trip(values, factor):
    given_ = dict(values) | ({"factor": factor} if factor else {})
    assert parse_settings(encode_settings(given_)) == given_


def test_commands_responses_and_features_round_trip():
    start = build_command(
        "start_measurement", "acc", {"sample_rate_hz": 52, "resolution_bits": 16, "range": 8, "channels": 3}
    )
    assert start.hex(" ") == "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"
    cmd = parse_command(start)
    assert (cmd.command, cmd.measurement, cmd.settings["sample_rate_hz"]) == (
        "start_measurement",
        "acc",
        [52],
    )
    assert build_command("start_measurement", "sdk_mode") == bytes([2, 9])
    assert parse_command(build_command("get_settings", "gyro", offline=True)).offline
    params = encode_settings({"sample_rate_hz": [26, 52], "factor": [0.5]})
    packets = [
        encode_response("get_settings", "acc", 0, params[:3], more=True),
        encode_response("get_settings", "acc", 0, params[3:]),
    ]
    r = parse_response(packets)
    assert r.ok and r.settings == {"sample_rate_hz": [26, 52], "factor": [0.5]} and not r.more
    assert parse_response([encode_response("start_measurement", "mag", "ERROR_DISK_FULL")]).error_code == 14
    assert parse_features(encode_features(["acc", "gyro", "sdk_mode"])) == ["acc", "gyro", "sdk_mode"]


# --- malformed input -----------------------------------------------------------------------------

ACC_RAW = bytes.fromhex("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03".replace(" ", ""))
ACC_DELTA = bytes.fromhex("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08".replace(" ", ""))


def _error(packets, settings_=None):
    with pytest.raises(ProtocolError) as err:
        decode_packets(FAMILY, packets, settings_ or {})
    return err.value.reason, err.value.offset


@pytest.mark.parametrize(
    ("packet", "settings_", "reason", "offset"),
    [
        (ACC_RAW[:9], {"type": "data"}, "truncated", 9),
        (ACC_RAW[:5], {"type": "data"}, "truncated", 1),
        (b"", {"type": "data"}, "truncated", 0),
        (ACC_RAW[:-1], {}, "truncated", 16),  # the second sample is cut
        (ACC_DELTA[:14], {}, "truncated", 10),  # reference sample cut
        (ACC_DELTA[:17], {}, "truncated", 16),  # block header cut
        (ACC_DELTA[:-1], {}, "truncated", 16),  # block payload cut
        (ACC_RAW + bytes(491), {}, "overlong", 512),
        (b"\x01" + ACC_RAW[1:], {"type": "data"}, "type", 0),  # PPG is not decoded
        (ACC_RAW[:9] + b"\x05" + ACC_RAW[10:], {}, "type", 9),  # ACC raw type 5 is unknown
        (ACC_DELTA[:16] + b"\x00" + ACC_DELTA[17:], {}, "value", 16),  # 0-bit deltas
        (ACC_DELTA[:16] + b"\x21" + ACC_DELTA[17:], {}, "value", 16),  # 33-bit deltas
        (ACC_RAW[:8] + b"\x80" + ACC_RAW[9:], {}, "value", 1),  # timestamp ≥ 2**63
        (ACC_RAW, {"channels": 4}, "settings", None),
        (ACC_RAW, {"rate": "fast"}, "settings", None),
        (ACC_RAW, {"colour": 1}, "settings", None),
        (bytes.fromhex("F0 01 06"), {}, "truncated", 3),
        (bytes.fromhex("F0 01 06 0F 00"), {}, "value", 3),
        (bytes.fromhex("F0 0A 02 00 00"), {}, "type", 1),
        (bytes.fromhex("07 01 34"), {"type": "settings"}, "type", 0),
        (bytes.fromhex("00 02 34 00"), {"type": "settings"}, "truncated", 0),
        (bytes.fromhex("0B 02"), {"type": "command"}, "type", 0),
        (bytes.fromhex("01"), {"type": "command"}, "truncated", 1),
    ],
)
def test_malformed_packets_are_rejected_with_reason_and_offset(packet, settings_, reason, offset):
    assert _error([packet], settings_) == (reason, offset)


def test_stream_errors():
    gyro = encode_delta_frame("gyro", 0, T0, np.zeros((2, 3), dtype=int))
    assert _error([ACC_DELTA, gyro])[0] == "type"  # one measurement per call
    later = encode_raw_frame("acc", 1, 10**9, np.zeros((2, 3), dtype=int))
    earlier = encode_raw_frame("acc", 1, 10**9 - 1, np.zeros((2, 3), dtype=int))
    assert _error([later, earlier]) == ("sequence", 1)
    assert _error([bytes.fromhex("F0 01 02 00 00"), bytes.fromhex("F0 01 02 00 00")])[0] == "sequence"


@settings(max_examples=300)
@given(
    st.binary(max_size=80),
    st.sampled_from(["auto", "data", "settings", "control", "command"]),
    st.sampled_from([{}, {"channels": 2, "resolution": 12}, {"rate": 52, "factor": 0.5}]),
)
def test_random_bytes_raise_only_protocol_errors(packet, kind, extra):
    try:
        decode_packets(FAMILY, [packet], {"type": kind, **extra})
    except ProtocolError:
        pass


VALID = [ACC_RAW, ACC_DELTA] + [p for v in VECTORS for p in _packets(v) if p[0] in (2, 5, 6)]


@settings(max_examples=300)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), max_size=4),
    st.integers(0, 600),
    st.binary(max_size=8),
)
def test_mutated_frames_raise_only_protocol_errors(frame, flips, cut, tail):
    data = bytearray(frame)
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    try:
        decode_packets(FAMILY, [bytes(data[:cut]) + tail, frame], {"rate": 52, "previous_timestamp_ns": 1})
    except ProtocolError:
        pass


# --- time rule -----------------------------------------------------------------------------------


def _exact(ts, n, prev=None, rate=None):
    step = Fraction(ts - prev, n) if prev is not None else Fraction(10**9) / Fraction(rate)
    return [ts if i == n - 1 else round(Fraction(ts) - (n - 1 - i) * step) for i in range(n)]


@settings(max_examples=200)
@given(
    st.integers(0, 2**63 - 1),
    st.integers(1, 600),
    st.integers(1, 2**63 - 1),
    st.booleans(),
    st.sampled_from([1, 13, 26, 52, 104, 416, 25.5]),
)
def test_sample_times_are_the_exact_rational_rule(ts, n, gap, use_prev, rate):
    prev = ts - gap
    if use_prev and prev < 0:
        prev = 0
    if use_prev and prev == ts:
        ts += 1
    if not use_prev and ts < (n - 1) * Fraction(10**9) / Fraction(rate):
        ts = 2**62
    times, basis = sample_times(np.array([ts]), np.array([n]), np.array([prev if use_prev else -1]), rate)
    assert times.tolist() == _exact(ts, n, prev if use_prev else None, rate)
    assert basis == ["single_sample" if n == 1 else "previous_timestamp" if use_prev else "sample_rate"]


def test_first_frame_without_rate_has_unknown_times():
    result = decode_packets(FAMILY, [ACC_RAW], {})
    assert result.time_ns is None and result.info["sample_time_basis"] == ["unknown"]
    assert result.info["timestamp_is_last_sample"] is True


def test_streams_keep_their_own_previous_timestamp():
    x = np.zeros((2, 3), dtype=int)
    frames = [
        encode_raw_frame("acc", 0, 100, x),
        encode_raw_frame("acc", 1, 1000, x),
        encode_raw_frame("acc", 0, 300, x),
        encode_raw_frame("acc", 1, 3000, x),
    ]
    s = decode_frames(frames, previous_timestamp_ns=0)
    assert s.time_ns.tolist() == [50, 100, 500, 1000, 200, 300, 2000, 3000]
