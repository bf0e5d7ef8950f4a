"""Movella DOT codec: spec vectors, payload modes, message framing, rollover, export and retransmission."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imurehab.errors import ProtocolError
from imurehab.protocols import decode_packets, load_profile, load_vectors
from imurehab.protocols.movella_dot import (
    FAMILY,
    FIELDS,
    MODES,
    acknowledge,
    configuration_message,
    decode_measurements,
    describe,
    encode_measurement,
    encode_message,
    export_file_data,
    measurement_control,
    parse_frame,
    parse_measurement_control,
    recording_message,
    select_export_data,
    sync_message,
    unwrap_counter,
    uuid,
)

VECTORS = load_vectors("movella-dot")
PROFILE = load_profile("movella-dot")
PARSABLE = sorted(k for k, m in MODES.items() if m.parsable)


def _packets(v):
    hexes = v["hex"] if isinstance(v["hex"], list) else [v["hex"]]
    return [bytes.fromhex(h.replace(" ", "")) for h in hexes]


def _raises(reason, fn, *args, offset=None, **kwargs):
    with pytest.raises(ProtocolError) as info:
        fn(*args, **kwargs)
    assert info.value.reason == reason, str(info.value)
    assert info.value.family == "movella-dot"
    if offset is not None:
        assert info.value.offset == offset, str(info.value)
    return info.value


# --- vectors ------------------------------------------------------------------------------------------

FAMILY_ONLY = {"ack_hex", "acc_mps2", "gyr_dps", "mag_au", "mag_ut", "time_ns", "sample_index"}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["what"][:40] for v in VECTORS])
def test_vector_decodes_exactly(vector):
    packets = _packets(vector)
    result = decode_packets("movella-dot", packets, vector["settings"])
    exp = vector["expect"]
    for key, expected in exp.items():
        if key not in FAMILY_ONLY and not (key == "ack_state" and "ack_hex" in exp):
            assert result.info[key] == expected, key
    if "ack_hex" in exp:  # a command vector names its acknowledge: encode it, then decode it
        ack = bytes.fromhex(exp["ack_hex"].replace(" ", ""))
        assert acknowledge(packets[0], exp["ack_state"]) == ack
        assert FAMILY.decode([ack], {}).info["ack_state"] == exp["ack_state"]
    if "acc_mps2" in exp:
        assert np.array_equal(result.acc, np.array(exp["acc_mps2"]))
        assert np.array_equal(result.gyr, np.radians(np.array(exp["gyr_dps"])))
    if "mag_au" in exp:
        assert np.array_equal(result.mag, np.array(exp["mag_au"]) * 40.0)
        assert np.array_equal(result.mag, np.array(exp["mag_ut"]))
    if "time_ns" in exp:
        assert result.time_ns.tolist() == exp["time_ns"]
    if "sample_index" in exp:
        assert result.sample_index.tolist() == exp["sample_index"]
    if "mode" in vector["settings"] and "first_timestamp_us" in exp:
        assert result.time_ns[0] == exp["first_timestamp_us"] * 1000


def test_spec_examples_are_rebuilt_by_the_encoders():
    spec = {v["hex"]: v for v in VECTORS if isinstance(v["hex"], str)}
    rebuilt = [
        recording_message("GetState"),
        recording_message("StopRecording"),
        acknowledge(recording_message("StopRecording"), "success"),
        recording_message("RequestFileInfo", file_index=1),
        acknowledge(recording_message("RequestFileInfo", file_index=1), 0),
        recording_message("ExportFileInfoDone"),
        select_export_data([0, 1, 5, 6, 7, 8, 9, 10]),
        acknowledge(select_export_data([0, 1, 5, 6, 7, 8, 9, 10]), "success"),
        recording_message("RequestFileData", file_index=7),
        sync_message("GetSyncStatus"),
        sync_message("SyncStatus", value=9),
        sync_message("SyncStatus", value=4),
        sync_message("StartSync", root_mac="D4:22:CD:AA:BB:CC"),
        sync_message("StopSync"),
        sync_message("StopSyncResult", value=0),
        configuration_message("RevertToFactorySettings"),
        recording_message("Retransmission", retrans_data_number=2),
        recording_message("StartRecording", start_utc_s=0x5B3B50DF, recording_time_s=1800),
    ]
    for packet in rebuilt:
        assert packet.hex(" ").upper() in spec, packet.hex(" ")


def test_spec_start_recording_example_fails_its_own_checksum():
    # XD0506P 5.2.1 prints StartRecording = 01 07 40 DF503B5B0807 E0 and its ack ... DD; both sum to
    # 0xFC, not 0 mod 256 (the correct checksums are E4 and E1). The decoder rejects them as printed.
    _raises("crc", parse_frame, bytes.fromhex("010740DF503B5B0807E0"), offset=9)
    _raises("crc", parse_frame, bytes.fromhex("01090100 40DF503B5B0807DD".replace(" ", "")), offset=11)
    assert recording_message("StartRecording", start_utc_s=0x5B3B50DF, recording_time_s=1800)[-1] == 0xE4


def test_profile_is_consistent():
    for m in MODES.values():
        if m.parsable:
            assert sum(FIELDS[f].size for f in m.fields) == m.size, m.name
        assert m.size <= PROFILE["characteristic_bytes"][m.characteristic]
    assert set(PARSABLE) >= {2, 3, 16, 20, 21}
    assert uuid("2003") == "15172003-4947-11e9-8646-d663bd873d93"
    assert FAMILY.name == "movella-dot" and {"mode", "previous_timestamp_us"} <= set(FAMILY.settings)


# --- measurement modes --------------------------------------------------------------------------------


def _values(draw, name, n):
    f = FIELDS[name]
    shape = (n, f.count) if f.count > 1 else (n,)
    if f.dtype.kind == "f":
        v = draw(
            arrays(np.float32, shape, elements=st.floats(width=32, allow_nan=False, allow_infinity=False))
        )
        v = v.astype(np.float64)
        return np.radians(v) if name == "gyr" else v
    info = np.iinfo(f.dtype)
    raw = draw(arrays(f.dtype, shape, elements=st.integers(int(info.min), int(info.max)))).astype(np.int64)
    return raw * (f.scale * 40.0) if name == "mag" else raw


@st.composite
def batches(draw):
    mode = draw(st.sampled_from(PARSABLE))
    n = draw(st.integers(1, 8))
    start = draw(st.integers(0, 2**32 - 1))
    steps = draw(st.lists(st.integers(0, 2**31 - 1), min_size=n - 1, max_size=n - 1))
    time_us = np.cumsum([start, *steps]).astype(np.int64)
    q = {f: _values(draw, f, n) for f in MODES[mode].fields if f != "timestamp"}
    return mode, time_us, q


@settings(max_examples=200)
@given(batches(), st.booleans())
def test_measurement_round_trip_is_exact(batch, pad):
    mode, time_us, q = batch
    packets = encode_measurement(mode, time_us, pad=pad, **q)
    samples = decode_measurements(packets, mode)
    assert np.array_equal(samples.time_us, time_us)
    assert samples.rollovers == int(time_us[-1] >> 32)
    for name, values in q.items():
        assert np.array_equal(samples.quantities[name], values), name
    result = FAMILY.decode(packets, {"mode": mode})
    assert np.array_equal(result.time_ns, time_us * 1000)
    for name in ("acc", "gyr", "mag"):
        assert (getattr(result, name) is None) == (name not in q)
    assert all(
        result.info[k] == np.asarray(v).tolist() for k, v in q.items() if k not in ("acc", "gyr", "mag")
    )


@settings(max_examples=60)
@given(batches(), st.data())
def test_rollover_unwraps_across_calls(batch, data):
    mode, time_us, q = batch
    packets = encode_measurement(mode, time_us, **q)
    cut = data.draw(st.integers(0, len(packets)))
    first = FAMILY.decode(packets[:cut], {"mode": mode})
    prev = first.info.get("last_timestamp_us")
    rest = FAMILY.decode(
        packets[cut:], {"mode": mode, **({} if prev is None else {"previous_timestamp_us": prev})}
    )
    assert np.array_equal(np.concatenate([first.time_ns, rest.time_ns]), time_us * 1000)
    assert first.info["rollovers"] + rest.info["rollovers"] == int(time_us[-1] >> 32)


def test_rollover_count_and_out_of_order():
    t, n = unwrap_counter([2**32 - 5, 3, 2**32 - 1, 2], bits=32)
    assert n == 2 and t.tolist() == [2**32 - 5, 2**32 + 3, 2**33 - 1, 2**33 + 2]
    t, n = unwrap_counter([10], bits=32, previous=3 * 2**32 + 2**32 - 1)
    assert n == 1 and t.tolist() == [4 * 2**32 + 10]
    z = np.zeros((2, 3))
    back = encode_measurement(21, [5000, 4000], acc=z, gyr=z)
    _raises("sequence", FAMILY.decode, back, {"mode": 21})
    _raises("sequence", FAMILY.decode, back[1:], {"mode": 21, "previous_timestamp_us": 5000})


def test_measurement_rejections():
    z = np.zeros((1, 3))
    good = encode_measurement(20, [1], acc=z, gyr=z, mag=z)[0]
    _raises("truncated", FAMILY.decode, [good[:-1]], {"mode": 20}, offset=33)
    _raises("overlong", FAMILY.decode, [good + bytes(7)], {"mode": 20}, offset=40)
    _raises("overlong", FAMILY.decode, [good + b"\x01"], {"mode": 20}, offset=34)
    _raises(
        "value",
        FAMILY.decode,
        [good[:4] + np.array([np.inf], "<f4").tobytes() + good[8:]],
        {"mode": 20},
        offset=4,
    )
    _raises("type", FAMILY.decode, [good], {"mode": 1})
    _raises("type", FAMILY.decode, [good], {"mode": 99})
    _raises("settings", FAMILY.decode, [good], {"mode": "twenty"})
    _raises("settings", FAMILY.decode, [good], {"characteristic": "measurement"})
    _raises("value", encode_measurement, 20, [1], acc=z, gyr=z)
    _raises("value", encode_measurement, 20, [1], acc=z, gyr=z, mag=np.full((1, 3), 1e4))


def test_measurement_control():
    assert measurement_control(True, 20) == bytes([1, 1, 20])
    assert FAMILY.decode([bytes([1, 0, 2])], {"characteristic": "control"}).info == {
        "type": 1,
        "action": "stop",
        "mode": 2,
        "mode_name": "Extended (Quaternion)",
    }
    _raises("type", parse_measurement_control, bytes([2, 1, 20]), offset=0)
    _raises("value", parse_measurement_control, bytes([1, 5, 20]), offset=1)
    _raises("overlong", parse_measurement_control, bytes([1, 1, 20, 0]), offset=3)


# --- message service ----------------------------------------------------------------------------------


def test_message_framing_rejections():
    ok = recording_message("GetState")
    _raises("truncated", parse_frame, ok[:2], offset=2)
    _raises("truncated", parse_frame, bytes([1, 2, 2, 0xFB]), offset=4)
    _raises("overlong", parse_frame, ok + b"\x00", offset=4)
    _raises("crc", parse_frame, ok[:-1] + b"\x00", offset=3)
    _raises("value", parse_frame, bytes([1, 200]) + bytes(201), offset=1)
    _raises("type", parse_frame, encode_message(9, b"\x02"), offset=0)
    _raises("type", describe, encode_message(1, b"\x99"), offset=2)
    _raises("truncated", describe, encode_message(1, b""), offset=2)
    _raises("overlong", describe, encode_message(1, b"\x02\x00"), offset=3)
    _raises("truncated", describe, encode_message(1, b"\x60"), offset=3)
    _raises("value", describe, encode_message(1, b"\x01\x99\x02"), offset=3)
    _raises("value", describe, encode_message(1, b"\x74\x02"), offset=3)
    _raises("value", describe, encode_message(1, b"\x61" + bytes(128)), offset=3)
    _raises("value", encode_message, 1, bytes(158))


@settings(max_examples=100)
@given(st.binary(max_size=157), st.integers(1, 3))
def test_checksum_zeroes_the_byte_sum(data, mid):
    packet = encode_message(mid, data)
    assert sum(packet) % 256 == 0 and parse_frame(packet) == (mid, data)


@st.composite
def exports(draw):
    codes = sorted(PROFILE["fields"][f]["code"] for f in PROFILE["fields"] if "code" in PROFILE["fields"][f])
    selection = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=len(codes), unique=True))
    selection = [0, *selection] if 0 not in selection else selection
    n = draw(st.integers(1, 6))
    start = draw(st.integers(0, 2**32 - 1))
    time_us = start + np.arange(n, dtype=np.int64) * 8333
    fields = [f for f in FIELDS if FIELDS[f].code in selection and f != "timestamp"]
    return selection, time_us, {f: _values(draw, f, n) for f in fields}


@settings(max_examples=100)
@given(exports())
def test_export_round_trip_is_exact(case):
    selection, time_us, q = case
    packets = export_file_data(np.arange(len(time_us)), selection, time_us=time_us, **q)
    result = FAMILY.decode(packets, {"export_data": ",".join(map(str, selection))})
    assert np.array_equal(result.time_ns, time_us * 1000)
    assert result.sample_index.tolist() == list(range(len(time_us)))
    for name in ("acc", "gyr", "mag"):
        if name in q:
            assert np.array_equal(getattr(result, name), q[name])


def test_export_gaps_duplicates_and_retransmission_merge():
    n = 10
    z = np.zeros((n, 3))
    packets = export_file_data(
        np.arange(n), [0, 4, 7, 8], time_us=np.arange(n) * 16667, euler_deg=z, acc=z, gyr=z
    )
    invalid = bytes(packets[4])
    invalid = encode_message(1, bytes([0x76]) + invalid[3:-1])
    lossy = [*packets[:4], invalid, *packets[6:]]
    info = FAMILY.decode(lossy, {}).info
    assert info["missing_data_numbers"] == 2 and info["first_missing_data_number"] == 4
    assert info["invalid_data_numbers"] == [4]
    retransmit = recording_message("Retransmission", retrans_data_number=info["first_missing_data_number"])
    assert describe(retransmit)["retrans_data_number"] == 4
    merged = FAMILY.decode(lossy + packets[4:], {})
    assert merged.info["missing_data_numbers"] == 0 and merged.info["duplicate_data_numbers"] == 4
    assert merged.sample_index.tolist() == list(range(n)) and merged.time_ns[-1] == 9 * 16667 * 1000
    done = FAMILY.decode([*packets, recording_message("ExportFileDataDone")], {})
    assert done.info["messages"][0]["message"] == "ExportFileDataDone"
    _raises("settings", FAMILY.decode, packets, {"export_data": "0,1"})
    _raises("settings", FAMILY.decode, packets, {"export_data": "0,2"})


def test_flash_and_file_info_notifications():
    header = (0x466C6173).to_bytes(4, "little") + (128).to_bytes(4, "little") + bytes(120)
    info = describe(encode_message(1, bytes([0x51]) + header))
    assert info["magic"] == 0x466C6173 and info["header_size"] == 128
    indicators = describe(encode_message(1, bytes([0x51, 0xEE, 0xCC, 0xEE, 0xCC, 0xCC]) + b"\xff" * 10))
    assert indicators["file_headers"] == 2 and indicators["data_sectors"] == 3
    file_info = (0x5265636F).to_bytes(4, "little") + (128).to_bytes(4, "little") + bytes(120)
    assert describe(encode_message(1, bytes([0x61]) + file_info))["header_size"] == 128
    many = FAMILY.decode([recording_message("GetState"), recording_message("FlashFull")], {})
    assert [m["message"] for m in many.info["messages"]] == ["GetState", "FlashFull"]


# --- fuzz ---------------------------------------------------------------------------------------------

_SETTINGS = [
    {},
    {"mode": 2},
    {"mode": 20},
    {"mode": 26},
    {"characteristic": "control"},
    {"characteristic": "acknowledge"},
    {"export_data": "0,1,5,6,7,8,9,10"},
]


@settings(max_examples=400)
@given(st.lists(st.binary(max_size=80), max_size=4), st.sampled_from(_SETTINGS))
def test_random_bytes_raise_only_protocol_error(packets, opts):
    try:
        FAMILY.decode(packets, opts)
    except ProtocolError:
        pass


@settings(max_examples=400)
@given(st.data())
def test_mutated_packets_raise_only_protocol_error(data):
    z = np.ones((3, 3))
    pools = [
        ({"mode": 20}, encode_measurement(20, [1, 2, 3], acc=z, gyr=z, mag=z)),
        ({}, export_file_data([0, 1, 2], [0, 4, 7, 8], time_us=[5, 6, 7], euler_deg=z, acc=z, gyr=z)),
        ({}, [recording_message("GetState"), acknowledge(recording_message("GetState"), "idle")]),
        ({}, [sync_message("StartSync", root_mac="D4:22:CD:00:00:01"), select_export_data([0, 1, 9])]),
    ]
    opts, packets = data.draw(st.sampled_from(pools))
    i = data.draw(st.integers(0, len(packets) - 1))
    p = bytearray(packets[i])
    op = data.draw(st.sampled_from(["flip", "cut", "extend", "fix"]))
    if op in ("flip", "fix"):
        p[data.draw(st.integers(0, len(p) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        if op == "fix" and not opts:  # keep the checksum right so the parser beneath it is reached
            p[-1] = (p[-1] - sum(p)) & 0xFF
    elif op == "cut":
        del p[data.draw(st.integers(0, len(p) - 1)) :]
    else:
        p += data.draw(st.binary(min_size=1, max_size=20))
    try:
        FAMILY.decode([*packets[:i], bytes(p), *packets[i + 1 :]], opts)
    except ProtocolError:
        pass
