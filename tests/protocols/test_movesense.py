"""Movesense GSP codec: vectors, round trips, DATA_PART2 reassembly, rejection of damaged packets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imurehab.errors import ProtocolError
from imurehab.protocols import decode_packets, load_profile, load_vectors
from imurehab.protocols.movesense import (
    FAMILY,
    assemble_log,
    decode_meas,
    encode_command,
    encode_hello_result,
    encode_log,
    encode_meas,
    encode_result,
    parse_command,
    parse_result,
    reassemble,
)

VECTORS = load_vectors("movesense-gsp")
PROFILE = load_profile("movesense-gsp")


def _packets(v):
    hexes = v["hex"] if isinstance(v["hex"], list) else [v["hex"]]
    return [bytes.fromhex(h.replace(" ", "")) for h in hexes]


def _raises(reason, fn, *args, offset=None, **kwargs):
    with pytest.raises(ProtocolError) as info:
        fn(*args, **kwargs)
    assert info.value.reason == reason, str(info.value)
    assert info.value.family == "movesense-gsp"
    if offset is not None:
        assert info.value.offset == offset, str(info.value)
    return info.value


# --- vectors ------------------------------------------------------------------------------------------


def test_shared_vector_is_carried():
    shared = [v for v in VECTORS if v["hex"] == "01 63 2F 4D 65 61 73 2F 49 4D 55 36 2F 31 30 34"]
    assert shared and shared[0]["expect"] == {
        "command": "SUBSCRIBE",
        "reference": 99,
        "path": "/Meas/IMU6/104",
    }
    assert all(v["source"] for v in VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["what"][:40] for v in VECTORS])
def test_vector_decodes_exactly(vector):
    result = decode_packets("movesense-gsp", _packets(vector), vector["settings"])
    family_only = {"acc_mps2", "gyr_dps", "mag_ut", "time_ns"}
    for key, expected in vector["expect"].items():
        if key in family_only:
            continue
        assert result.info[key] == expected, key
    exp = vector["expect"]
    if "acc_mps2" in exp:
        assert np.array_equal(result.acc, np.array(exp["acc_mps2"]))
        assert np.array_equal(result.gyr, np.radians(np.array(exp["gyr_dps"])))
    if "mag_ut" in exp:
        assert np.array_equal(result.mag, np.array(exp["mag_ut"]))
    if "time_ns" in exp:
        assert result.time_ns.tolist() == exp["time_ns"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if not v["settings"]], ids=lambda v: v["what"][:40])
def test_command_vectors_encode_back(vector):
    info = dict(vector["expect"])
    fields = {k: v for k, v in info.items() if k not in ("command", "reference", "state_name")}
    assert encode_command(info["command"], info["reference"], **fields) == _packets(vector)[0]


def test_reply_vectors_encode_back():
    by_what = {v["what"][:20]: _packets(v) for v in VECTORS}
    imu6 = next(v for v in VECTORS if v["what"].startswith("IMU6 DATA"))
    e = imu6["expect"]
    got = encode_meas(
        "/Meas/IMU6/104", 99, [e["first_timestamp_ms"]], acc=e["acc_mps2"], gyr=np.radians(e["gyr_dps"])
    )
    assert got == _packets(imu6)
    imu9 = next(v for v in VECTORS if v["what"].startswith("IMU9"))
    e = imu9["expect"]
    got = encode_meas(
        "/Meas/IMU9/104", 99, [5000], acc=e["acc_mps2"], gyr=np.radians(e["gyr_dps"]), mag=e["mag_ut"]
    )
    assert got == _packets(imu9)
    log = next(v for v in VECTORS if v["what"].startswith("FETCH_LOG data"))
    assert encode_log(101, bytes.fromhex(log["expect"]["log_hex"]), chunk_bytes=10) == _packets(log)
    assert by_what["HELLO reply of the o"][0] == bytes([1, 5]) + b"Hello"


def test_profile_constants():
    assert PROFILE["uuid"]["notify"] == "34800002-7185-4d5d-b431-630e7050e8f0"
    assert [PROFILE["commands"][k] for k in ("HELLO", "SUBSCRIBE", "UNSUBSCRIBE", "FETCH_LOG")] == [
        0,
        1,
        2,
        3,
    ]
    assert PROFILE["responses"] == {"COMMAND_RESULT": 1, "DATA": 2, "DATA_PART2": 3}
    assert FAMILY.name == "movesense-gsp" and set(FAMILY.settings) >= {"path", "rate", "direction"}


# --- commands and results -----------------------------------------------------------------------------

_PATHS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)


@st.composite
def commands(draw):
    command = draw(st.sampled_from(sorted(PROFILE["commands"])))
    spec = PROFILE["command_payload"][command]
    fields = {}
    if spec == "path":
        fields["path"] = draw(_PATHS)
    elif spec == "paths":
        fields["paths"] = draw(st.lists(_PATHS, min_size=1, max_size=4))
    elif spec != "none":
        fmt, names = spec.split(":")
        bits = {"B": 8, "I": 32, "Q": 64}[fmt[-1]]
        fields[names] = draw(st.integers(0, 2**bits - 1))
    if command == "PUT_DATALOGGER_STATE":
        fields["state"] = draw(st.sampled_from(sorted(PROFILE["datalogger_states"].values())))
    return command, draw(st.integers(1, 255)), fields


@settings(max_examples=150)
@given(commands(), st.booleans())
def test_command_round_trip(cmd, nul):
    command, ref, fields = cmd
    packet = encode_command(command, ref, nul=nul, **fields)
    info = parse_command(packet)
    assert info["command"] == command and info["reference"] == ref
    assert {k: info[k] for k in fields} == fields


def test_results_parse():
    assert parse_result(encode_result(9, 404))["status"] == 404
    assert (
        parse_result(encode_result(9, 200, bytes([3])), "GET", "/Mem/DataLogger/State")["state_name"]
        == "LOGGING"
    )
    hello = encode_hello_result(
        4, serial="210330000123", product="Movesense MD", dfu_mac="AA:BB", app_name="gsp", app_version="1.2"
    )
    info = parse_result(hello, "HELLO")
    assert info["serial"] == "210330000123" and info["app_version"] == "1.2" and info["protocol_version"] == 1
    info = decode_packets(
        "movesense-gsp", [encode_result(2, 200), encode_result(3, 507)], {"direction": "from_sensor"}
    )
    assert [r["status"] for r in info.info["responses"]] == [200, 507]


def test_command_rejections_name_reason_and_offset():
    _raises("truncated", parse_command, bytes([3, 1, 0, 0, 0]), offset=5)
    _raises("overlong", parse_command, bytes([3, 1, 0, 0, 0, 0, 0]), offset=6)
    _raises("overlong", parse_command, bytes([2, 1, 0]), offset=2)
    _raises("type", parse_command, bytes([10, 1]), offset=0)
    _raises("value", parse_command, bytes([2, 0]), offset=1)
    _raises("truncated", parse_command, bytes([1]), offset=1)
    _raises("value", parse_command, bytes([1, 5]) + b"/Meas\x01", offset=7)
    _raises("value", parse_command, bytes([9, 5, 7]), offset=2)
    _raises("truncated", parse_command, bytes([6, 5]) + b"/Time", offset=7)
    _raises("type", parse_result, bytes([2, 5, 200, 0]), offset=0)
    _raises("truncated", parse_result, bytes([1, 5, 200]), offset=3)
    _raises("truncated", parse_result, encode_result(5, 200, bytes(4)), "GET", "/Time")
    _raises("type", encode_command, "REBOOT", 1)
    _raises("value", encode_command, "HELLO", 0)
    _raises("value", encode_command, "SUBSCRIBE", 1, path="/Meäs")


# --- measurement data ---------------------------------------------------------------------------------

_F32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def meas_batches(draw):
    resource = draw(st.sampled_from(sorted(PROFILE["meas"]["blocks"])))
    rate = draw(st.sampled_from(PROFILE["meas"]["rates"]["imu_hz"]))
    blocks = PROFILE["meas"]["blocks"][resource]
    n = draw(st.integers(1, 12 // len(blocks) + 1))
    m = draw(st.integers(1, 6))
    start = draw(st.integers(0, 2**32 - 1))
    steps = draw(st.lists(st.integers(0, 10_000), min_size=m - 1, max_size=m - 1))
    stamps = np.cumsum([start, *steps])
    samples = {b: draw(arrays(np.float32, (m * n, 3), elements=_F32)).astype(np.float64) for b in blocks}
    if "gyr" in samples:
        samples["gyr"] = np.radians(samples["gyr"])
    return f"/Meas/{resource}/{rate}", stamps, samples, n, draw(st.integers(1, 255))


@settings(max_examples=120)
@given(meas_batches(), st.sampled_from([155, 244]))
def test_meas_round_trip_is_float32_exact(batch, mtu):
    path, stamps, samples, n, ref = batch
    rate = float(path.rsplit("/", 1)[1])
    packets = encode_meas(path, ref, stamps, max_notification=mtu, **samples)
    if any(p[0] == 3 for p in packets):  # a join is kept when the next message is one message on
        stamps = stamps[0] + np.arange(len(stamps)) * n * 1000 // int(rate)
        packets = encode_meas(path, ref, stamps, max_notification=mtu, **samples)
    result = FAMILY.decode(packets, {"path": path})
    for name, values in samples.items():
        assert np.array_equal(getattr(result, name), values), name
    assert result.info["dropped_notifications"] == 0
    assert result.info["tail_unchecked"] == (packets[-1][0] == 3)
    offsets = np.rint(np.arange(n) * 1e9 / rate).astype(np.int64)
    assert np.array_equal(result.time_ns, (stamps[:, None] * 1_000_000 + offsets).reshape(-1))
    assert result.info["samples_per_message"] == n and result.info["messages"] == len(stamps)
    assert result.info["rollovers"] == int(stamps[-1] >= 2**32)


def test_data_part2_reassembly_matches_between_paths():
    rng = np.random.default_rng(3)
    acc = rng.normal(size=(16, 3)).astype(np.float32).astype(float)
    gyr = np.radians(rng.normal(size=(16, 3)).astype(np.float32).astype(float))
    mag = rng.normal(size=(16, 3)).astype(np.float32).astype(float)
    split = encode_meas("/Meas/IMU9/208", 7, [0, 38], acc=acc, gyr=gyr, mag=mag)
    assert [p[0] for p in split] == [2, 3, 2, 3]
    joined = reassemble(split, "/Meas/IMU9/208")
    assert joined.references == [7] and joined.parts2 == 2 and joined.payloads.shape == (2, 4 + 8 * 36)
    assert joined.dropped == 0 and joined.tail_unchecked  # nothing came after the last message
    # a command result arriving between DATA and DATA_PART2 goes to "responses"; the rest still joins
    mixed = [split[0], encode_result(9, 200), *split[1:]]
    result = FAMILY.decode(mixed, {"path": "/Meas/IMU9/208"})
    assert np.array_equal(result.acc, acc) and result.info["responses"][0]["status"] == 200
    # split at different points (another MTU): the per-packet path joins them to the same messages
    other_mtu = encode_meas(
        "/Meas/IMU9/208", 7, [38], acc=acc[8:], gyr=gyr[8:], mag=mag[8:], max_notification=200
    )
    other = reassemble([*split[:2], *other_mtu], "/Meas/IMU9/208")
    assert other.parts2 == 2 and np.array_equal(other.payloads, joined.payloads)
    # messages with different sample counts are refused
    short = encode_meas("/Meas/IMU9/208", 7, [76], acc=acc[:2], gyr=gyr[:2], mag=mag[:2])
    _raises("sequence", FAMILY.decode, [*split, *short], {"path": "/Meas/IMU9/208"})


@pytest.mark.parametrize(
    ("lost", "why"),
    [
        ({3, 4}, "message 1's DATA_PART2 and message 2's DATA: message 1's head + message 2's tail"),
        ({4, 5}, "message 2 whole: message 1 was joined right, but nothing can tell, so it goes too"),
    ],
)
def test_a_join_the_next_message_does_not_confirm_is_dropped_never_decoded(lost, why):
    path, n = "/Meas/IMU9/104", 8
    stamps = 1000 + np.arange(6) * n * 1000 // 104
    rows = np.arange(6 * n * 3, dtype=float).reshape(6 * n, 3)  # every sample its own values
    sent = encode_meas(path, 9, stamps, acc=rows, gyr=np.radians(rows), mag=-rows)
    assert [p[0] for p in sent] == [2, 3] * 6  # every message is DATA + DATA_PART2
    got = [p for i, p in enumerate(sent) if i not in lost]
    if lost == {3, 4}:  # without the check these two would join into a message of the right length
        assert len(sent[2]) + len(sent[5]) == len(sent[0]) + len(sent[1])
    joined = reassemble(got, path)
    kept = [0, 3, 4, 5]  # message 5: the last, unchecked (nothing came after it)
    assert [int.from_bytes(m[:4], "little") for m in joined.payloads] == [int(stamps[k]) for k in kept], why
    assert (joined.dropped, joined.parts2, joined.tail_unchecked) == (2, 4, True)
    result = FAMILY.decode(got, {"path": path})
    expect = np.concatenate([rows[k * n : (k + 1) * n] for k in kept])
    assert np.array_equal(result.acc, expect) and np.array_equal(result.mag, -expect)
    assert result.info["dropped_notifications"] == 2 and result.info["messages"] == len(kept)


def test_data_rejections():
    good = encode_meas("/Meas/IMU6/52", 5, [100], acc=np.zeros((2, 3)), gyr=np.zeros((2, 3)))[0]
    _raises("settings", FAMILY.decode, [good], {"direction": "from_sensor"})
    _raises("settings", FAMILY.decode, [good], {"path": "/Meas/Temp"})
    _raises("settings", FAMILY.decode, [good], {"path": "/Meas/IMU6"})
    assert len(FAMILY.decode([good], {"path": "/Meas/IMU6", "rate": 52})) == 2
    # a DATA that is no whole samples waits for its DATA_PART2: none came, so it is dropped, not decoded
    for cut in (good[:-4], good[:10]):
        alone = FAMILY.decode([cut], {"path": "/Meas/IMU6/52"})
        assert len(alone) == 0 and alone.info["dropped_notifications"] == 1
    short_part2 = [good[:-4], bytes([3, 5, 0, 0])]  # joined, still no whole samples
    _raises("truncated", FAMILY.decode, short_part2, {"path": "/Meas/IMU6/52"}, offset=len(good) - 2)
    orphan = FAMILY.decode([bytes([3, 5]) + good[2:]], {"path": "/Meas/IMU6/52"})  # its DATA was lost
    assert len(orphan) == 0 and orphan.info["dropped_notifications"] == 1
    _raises("type", FAMILY.decode, [bytes([7, 5]) + good[2:]], {"path": "/Meas/IMU6/52"}, offset=0)
    nan = good[:6] + np.array([np.nan], "<f4").tobytes() + good[10:]
    _raises("value", FAMILY.decode, [nan], {"path": "/Meas/IMU6/52"}, offset=6)
    other = bytes([2, 6]) + good[2:]
    _raises("settings", FAMILY.decode, [good, other], {"path": "/Meas/IMU6/52"})
    assert len(FAMILY.decode([good, other], {"path": "/Meas/IMU6/52", "reference": 6})) == 2
    _raises("settings", FAMILY.decode, [good], {"colour": "red"})
    _raises("value", encode_meas, "/Meas/IMU6/52", 5, [1], acc=np.zeros((2, 3)))
    _raises("value", encode_meas, "/Meas/IMU6/52", 5, [1], acc=np.full((1, 3), 1e39), gyr=np.zeros((1, 3)))


def test_timestamp_rollover_and_chaining():
    z = np.zeros((3, 3))
    packets = encode_meas("/Meas/Acc/13", 1, [2**32 - 100, 2**32 + 131, 2**32 + 362], acc=z)
    whole = FAMILY.decode(packets, {"path": "/Meas/Acc/13"})
    assert whole.info["rollovers"] == 1
    first = FAMILY.decode(packets[:1], {"path": "/Meas/Acc/13"})
    rest = FAMILY.decode(
        packets[1:], {"path": "/Meas/Acc/13", "previous_timestamp_ms": first.info["last_timestamp_ms"]}
    )
    assert np.array_equal(np.concatenate([first.time_ns, rest.time_ns]), whole.time_ns)
    back = encode_meas("/Meas/Acc/13", 1, [500, 400], acc=np.zeros((2, 3)))
    _raises("sequence", FAMILY.decode, back, {"path": "/Meas/Acc/13"})


def test_log_assembly_out_of_order_with_holes():
    data = bytes(range(256)) * 2
    chunks = encode_log(3, data, chunk_bytes=100)
    assert assemble_log(chunks[::-1])[0] == data
    got, info = assemble_log([chunks[0], chunks[2]])
    assert info["holes"] == [[100, 200]] and not info["end_of_log"] and got[:100] == data[:100]
    _raises("value", assemble_log, [bytes([2, 3]) + (2**30).to_bytes(4, "little") + b"x"], offset=2)
    _raises("truncated", assemble_log, [bytes([2, 3, 0])])


def test_decode_meas_public_helper():
    pk = encode_meas("/Meas/Gyro/104", 2, [7], gyr=np.radians(np.ones((4, 3))))
    s = decode_meas(reassemble(pk, "/Meas/Gyro/104").payloads, "/Meas/Gyro/104")
    assert s.resource == "Gyro" and s.acc is None and np.allclose(np.degrees(s.gyr), 1.0)


# --- fuzz ---------------------------------------------------------------------------------------------

_SETTINGS = [
    {},
    {"direction": "from_sensor"},
    {"path": "/Meas/IMU6/104"},
    {"path": "/Meas/IMU9/208"},
    {"command": "HELLO"},
    {"command": "GET", "path": "/Time"},
    {"command": "FETCH_LOG"},
]


@settings(max_examples=400)
@given(st.lists(st.binary(max_size=300), max_size=4), st.sampled_from(_SETTINGS))
def test_random_bytes_raise_only_protocol_error(packets, opts):
    try:
        FAMILY.decode(packets, opts)
    except ProtocolError:
        pass


@settings(max_examples=400)
@given(st.data())
def test_mutated_packets_raise_only_protocol_error(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    acc = rng.normal(size=(16, 3))
    packets = encode_meas("/Meas/IMU9/104", 9, [10, 87], acc=acc, gyr=acc, mag=acc)
    i = data.draw(st.integers(0, len(packets) - 1))
    p = bytearray(packets[i])
    op = data.draw(st.sampled_from(["flip", "cut", "extend", "drop"]))
    if op == "flip":
        p[data.draw(st.integers(0, len(p) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif op == "cut":
        del p[data.draw(st.integers(0, len(p) - 1)) :]
    elif op == "extend":
        p += data.draw(st.binary(min_size=1, max_size=20))
    mutated = packets[:i] + ([] if op == "drop" else [bytes(p)]) + packets[i + 1 :]
    try:
        FAMILY.decode(mutated, {"path": "/Meas/IMU9/104"})
    except ProtocolError:
        pass
