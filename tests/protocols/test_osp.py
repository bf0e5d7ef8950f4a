"""OSP v1: vectors, round trips, robustness against damaged bytes, log assembly and clock-sync math."""

import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.errors import ProtocolError
from imurehab.protocols import decode_packets, load_profile, load_vectors
from imurehab.protocols.osp import (
    CRC_CHECK,
    AbortCommand,
    Chunk,
    ClockSample,
    ClockSyncCommand,
    ClockSyncReply,
    CommitCommand,
    DataFrame,
    Descriptor,
    End,
    FrameFlag,
    ListCommand,
    LogAssembler,
    LogStarted,
    LogStopped,
    ReadAccepted,
    ReadCommand,
    Response,
    SessionEntry,
    SessionList,
    StartLogCommand,
    StartStreamCommand,
    Status,
    StopLogCommand,
    StopStreamCommand,
    StreamConfig,
    best_sample,
    crc32,
    decode_chunk,
    decode_command,
    decode_data_frame,
    decode_descriptor,
    decode_end,
    decode_log,
    decode_response,
    encode_chunk,
    encode_command,
    encode_data_frame,
    encode_descriptor,
    encode_end,
    encode_frames,
    encode_log,
    encode_response,
    fit_clock,
    frame_bytes,
    max_chunk_data,
    max_samples_per_frame,
    quantize,
    verify_log,
)
from imurehab.protocols.osp.frames import channel_count

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 2**63 - 1)
masks = st.integers(1, 7)
DECODERS = (decode_data_frame, decode_descriptor, decode_command, decode_response, decode_end, decode_chunk)


def _descriptor(mask=3, session=1, rate=200_000, boot=0xB007):
    return Descriptor(
        channel_mask=mask,
        rate_mhz=rate,
        acc_scale=0.0048,
        gyr_scale=0.00107,
        mag_scale=0.15,
        boot_id=boot,
        session_id=session,
        imu_model="ICM-42688-P",
        serial="OSP-0001",
        firmware="1.2.3",
        axis_frame="x USB",
    )


@st.composite
def data_frames(draw, max_n=40):
    mask = draw(masks)
    n = draw(st.integers(1, max_n))
    values = draw(
        st.lists(
            st.integers(-32768, 32767), min_size=n * channel_count(mask), max_size=n * channel_count(mask)
        )
    )
    return DataFrame(
        stream_id=draw(u8),
        flags=draw(u8),
        session_id=draw(u32),
        seq=draw(u32),
        first_index=draw(st.integers(0, 2**62)),
        first_time_us=draw(st.integers(0, 2**52)),
        channel_mask=mask,
        samples=np.array(values, dtype=np.int16).reshape(n, -1),
    )


short_text = st.text(max_size=8).filter(lambda s: len(s.encode()) <= 32)
descriptors = st.builds(
    Descriptor,
    channel_mask=st.integers(0, 7),
    rate_mhz=st.integers(1, 0xFFFF_FFFF),
    acc_scale=st.floats(0, 1, width=32),
    gyr_scale=st.floats(0, 1, width=32),
    mag_scale=st.floats(0, 10, width=32),
    boot_id=u32,
    session_id=u32,
    acc_range_g=u8,
    gyr_range_dps=u16,
    imu_model=short_text,
    serial=short_text,
    firmware=short_text,
    axis_frame=short_text,
    stream_id=u8,
    protocol_minor=u8,
)
commands = st.one_of(
    st.builds(ListCommand, first=u16, tag=u8),
    st.builds(ReadCommand, session_id=u32, offset=u32, length=u32, tag=u8),
    st.builds(AbortCommand, tag=u8),
    st.builds(CommitCommand, session_id=u32, length=u32, log_crc=u32, tag=u8),
    st.builds(
        StartStreamCommand,
        rate_mhz=u32,
        channel_mask=u8,
        acc_range_g=u8,
        gyr_range_dps=u16,
        max_samples=u8,
        tag=u8,
    ),
    st.builds(StopStreamCommand, tag=u8),
    st.builds(
        StartLogCommand,
        rate_mhz=u32,
        channel_mask=u8,
        acc_range_g=u8,
        gyr_range_dps=u16,
        max_samples=u8,
        tag=u8,
    ),
    st.builds(StopLogCommand, tag=u8),
    st.builds(ClockSyncCommand, t1_us=st.integers(0, 2**64 - 1), tag=u8),
)
entries = st.builds(
    SessionEntry,
    session_id=u32,
    state=st.integers(0, 2),
    boot_id=u32,
    length=u32,
    log_crc=u32,
    n_samples=u32,
    first_index=u64,
    first_time_us=u64,
)
responses = st.one_of(
    st.builds(
        Response,
        opcode=st.just(0x10),
        status=st.just(0),
        tag=u8,
        body=st.builds(SessionList, total=u16, first=u16, entries=st.lists(entries, max_size=6).map(tuple)),
    ),
    st.builds(
        Response, opcode=st.just(0x11), status=st.just(0), tag=u8, body=st.builds(ReadAccepted, u32, u32, u32)
    ),
    st.builds(
        Response,
        opcode=st.just(0x14),
        status=st.just(0),
        tag=u8,
        body=st.builds(StreamConfig, u32, u8, u8, u16, u8),
    ),
    st.builds(
        Response,
        opcode=st.just(0x16),
        status=st.just(0),
        tag=u8,
        body=st.builds(LogStarted, u32, u32, u8, u8, u16, u8),
    ),
    st.builds(
        Response,
        opcode=st.just(0x17),
        status=st.just(0),
        tag=u8,
        body=st.builds(LogStopped, u32, u32, u32, u32),
    ),
    st.builds(
        Response,
        opcode=st.just(0x18),
        status=st.just(0),
        tag=u8,
        body=st.builds(ClockSyncReply, u64, u64, u64, u32),
    ),
    st.builds(Response, opcode=st.sampled_from([0x12, 0x13, 0x15]), status=st.just(0), tag=u8),
    st.builds(Response, opcode=u8, status=st.integers(1, 255), tag=u8),
)


# --- vectors and constants ------------------------------------------------------------------------


@pytest.mark.parametrize("vector", load_vectors("osp"), ids=lambda v: v["what"][:40])
def test_vectors_decode_exactly(vector):
    hexes = vector["hex"] if isinstance(vector["hex"], list) else [vector["hex"]]
    res = decode_packets("osp", [bytes.fromhex(h) for h in hexes], vector["settings"])
    expect = vector["expect"]
    for key in ("acc", "gyr", "mag"):
        if key in expect:
            np.testing.assert_allclose(getattr(res, key), expect[key], rtol=1e-12, atol=0)
    for key in ("time_ns", "sample_index"):
        if key in expect:
            assert getattr(res, key).tolist() == expect[key]
    for key, value in expect.items():
        if key not in ("acc", "gyr", "mag", "time_ns", "sample_index"):
            assert res.info[key] == value, key
    assert vector["source"].startswith("imurehab OSP v1 spec")


def test_crc_is_the_standard_crc32():
    assert crc32(b"123456789") == CRC_CHECK == 0xCBF43926 == load_profile("osp")["crc_check"]
    frame = encode_data_frame(DataFrame(0, 0, 1, 2, 3, 4, 1, np.ones((2, 3), np.int16)))
    assert zlib.crc32(frame) == load_profile("osp")["crc_residue"]
    assert frame[-4:] == zlib.crc32(frame[:-4]).to_bytes(4, "little")


def test_frames_fit_one_notification_and_degrade_with_the_mtu():
    for mask in range(1, 8):
        n = max_samples_per_frame(247, mask)
        assert frame_bytes(n, mask) <= 244 < frame_bytes(n + 1, mask)
        for mtu in (64, 100, 185, 247, 517):
            k = max_samples_per_frame(mtu, mask)
            assert 1 <= k <= 255 and frame_bytes(k, mask) <= mtu - 3
    assert max_samples_per_frame(247, 3) == 17 and max_samples_per_frame(23, 7) == 0
    assert max_chunk_data(247) == 228


# --- round trips ----------------------------------------------------------------------------------


@given(data_frames())
def test_data_frame_round_trip(frame):
    raw = encode_data_frame(frame)
    assert len(raw) == frame_bytes(len(frame.samples), frame.channel_mask)
    assert decode_data_frame(raw) == frame


@given(descriptors)
def test_descriptor_round_trip(desc):
    if desc.rate_mhz == 0:
        return
    assert decode_descriptor(encode_descriptor(desc)) == desc


@given(commands)
def test_command_round_trip(cmd):
    assert decode_command(encode_command(cmd)) == cmd


@given(responses)
def test_response_round_trip(resp):
    raw = encode_response(resp)
    assert decode_response(raw) == resp
    assert raw[:2] == b"\x01\x80"


@given(
    st.builds(
        End,
        status=u8,
        session_id=u32,
        offset=u32,
        length=u32,
        range_crc=u32,
        log_length=u32,
        log_crc=u32,
        state=u8,
        tag=u8,
    )
)
def test_end_round_trip(end):
    assert decode_end(encode_end(end)) == end


@given(st.builds(Chunk, session_id=u32, offset=u32, data=st.binary(max_size=300)))
def test_chunk_round_trip(chunk):
    assert decode_chunk(encode_chunk(chunk)) == chunk


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 3)), min_size=1, max_size=8), st.data())
def test_vectorised_log_decoder_equals_frame_by_frame(segments, data):
    """Logs of several sessions (descriptor, frames of varying sizes) decode as the sum of their frames."""
    mask = data.draw(masks)
    log, expect_raw, expect_idx, expect_t, index = b"", [], [], [], 0
    for s, (spf, ext) in enumerate(segments):
        d = _descriptor(mask=mask, session=s + 1, rate=data.draw(st.integers(1000, 2_000_000)))
        n = data.draw(st.integers(1, 60))
        raw = np.array(
            data.draw(
                st.lists(
                    st.integers(-32768, 32767),
                    min_size=n * channel_count(mask),
                    max_size=n * channel_count(mask),
                )
            ),
            dtype=np.int16,
        ).reshape(n, -1)
        t0 = data.draw(st.integers(0, 10**12))
        log += encode_log(d, raw, first_index=index, first_time_us=t0, samples_per_frame=spf)
        log += ext * (
            b"\x01\x40\x00\x00\x0a\x00" + zlib.crc32(b"\x01\x40\x00\x00\x0a\x00").to_bytes(4, "little")
        )
        expect_raw.append(
            raw
            * np.array(
                [d.acc_scale] * 3 * bool(mask & 1)
                + [d.gyr_scale] * 3 * bool(mask & 2)
                + [d.mag_scale] * 3 * bool(mask & 4)
            )
        )
        k = np.arange(n)
        expect_idx.append(index + k)
        starts = (k // spf) * spf
        frame_t0 = t0 + (starts * 10**9) // d.rate_mhz
        expect_t.append(frame_t0 * 1000 + ((k - starts) * 10**12) // d.rate_mhz)
        index += n + 5
    res = decode_log(log)
    si = np.concatenate(expect_raw)
    got = np.hstack([a for a in (res.acc, res.gyr, res.mag) if a is not None])
    np.testing.assert_array_equal(got, si)
    np.testing.assert_array_equal(res.sample_index, np.concatenate(expect_idx))
    np.testing.assert_array_equal(res.time_ns, np.concatenate(expect_t))
    assert res.info["descriptor_frames"] == len(segments)
    assert res.info["extension_frames"] == sum(e for _, e in segments)
    assert res.info["session_ids"] == list(range(1, len(segments) + 1))
    assert res.info["lost_samples"] == 0 and res.info["last_flag"]


def test_si_round_trip_through_quantize():
    d = _descriptor(mask=7)
    rng = np.random.default_rng(1)
    si = rng.normal(0, 5, (50, 9))
    raw = np.hstack(
        [
            quantize(si[:, 0:3], d.acc_scale),
            quantize(si[:, 3:6], d.gyr_scale),
            quantize(si[:, 6:9], d.mag_scale),
        ]
    )
    res = decode_log(encode_log(d, raw, first_index=0, first_time_us=0, samples_per_frame=11))
    for got, col, scale in ((res.acc, 0, d.acc_scale), (res.gyr, 3, d.gyr_scale), (res.mag, 6, d.mag_scale)):
        assert np.abs(got - si[:, col : col + 3]).max() <= scale / 2 + 1e-12
        np.testing.assert_array_equal(got, raw[:, col : col + 3] * scale)


def test_encode_frames_uses_measured_times_and_flags():
    raw = np.zeros((5, 3), np.int16)
    raw[3, 1] = 32767
    frames = encode_frames(
        raw,
        channel_mask=1,
        first_index=10,
        first_time_us=0,
        rate_mhz=100_000,
        samples_per_frame=2,
        time_us=np.array([7, 17, 28, 37, 49]),
        gap_before=True,
        last=True,
    )
    decoded = [decode_data_frame(f) for f in frames]
    assert [f.first_time_us for f in decoded] == [7, 28, 49]
    assert [f.first_index for f in decoded] == [10, 12, 14] and [f.seq for f in decoded] == [0, 1, 2]
    assert [f.flags for f in decoded] == [FrameFlag.GAP_BEFORE, FrameFlag.ACC_SATURATED, FrameFlag.LAST]


# --- robustness -----------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_protocol_error(blob):
    for decoder in DECODERS:
        try:
            decoder(blob)
        except ProtocolError:
            pass
    desc = "0x" + encode_descriptor(_descriptor(mask=7)).hex()
    for packets in ([blob], [b"\x01\x80" + blob, blob[:5], b"\x01\x10" + blob]):
        try:
            decode_packets("osp", packets, {"descriptor": desc})
        except ProtocolError:
            pass
    for blob_ in (blob, b"\x01\x01" + blob, b"\x01\x02" + blob):
        try:
            decode_log(blob_, descriptor=_descriptor(mask=7))
        except ProtocolError:
            pass
        res = decode_log(blob_, descriptor=_descriptor(mask=7), on_error="skip")
        assert res.info["rejected_bytes"] <= len(blob_)


@given(st.data())
def test_mutated_frames_raise_only_protocol_error_and_skip_mode_recovers(data):
    d = _descriptor(mask=3)
    raw = np.arange(30 * 6, dtype=np.int16).reshape(30, 6)
    log = bytearray(encode_log(d, raw, first_index=0, first_time_us=0, samples_per_frame=5))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(log) - 1))
        log[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(log)))
        log = log[:cut] + log[cut + data.draw(st.integers(0, 20)) :]
    try:
        decode_log(bytes(log))
    except ProtocolError as err:
        assert err.reason in {"truncated", "overlong", "crc", "type", "value", "settings"}
    res = decode_log(bytes(log), descriptor=d, on_error="skip")
    if len(res):  # whatever survived is exact, once
        idx = res.sample_index
        assert (np.diff(idx) > 0).all()
        np.testing.assert_array_equal(res.acc, raw[idx, :3] * d.acc_scale)
    for messages in (encode_command(ReadCommand(1, 2, 3)), encode_chunk(Chunk(1, 0, b"abc"))):
        mutated = bytearray(messages)
        mutated[data.draw(st.integers(0, len(mutated) - 1))] ^= data.draw(st.integers(1, 255))
        for decoder in DECODERS:
            try:
                decoder(bytes(mutated))
            except ProtocolError:
                pass


def test_rejections_name_reason_and_offset():
    frame = encode_data_frame(DataFrame(0, 0, 1, 0, 0, 0, 3, np.ones((2, 6), np.int16)))

    def reason(fn, blob):
        with pytest.raises(ProtocolError) as info:
            fn(blob)
        return info.value.reason, info.value.offset

    assert reason(decode_data_frame, frame[:-1]) == ("truncated", 4)
    assert reason(decode_data_frame, frame[:3]) == ("truncated", 0)
    assert reason(decode_data_frame, frame + b"\x00") == ("overlong", len(frame))
    bad = bytearray(frame)
    bad[40] ^= 1
    assert reason(decode_data_frame, bytes(bad)) == ("crc", len(frame) - 4)
    assert reason(decode_data_frame, b"\x02" + frame[1:]) == ("type", 0)
    assert reason(decode_data_frame, encode_descriptor(_descriptor())) == ("type", 1)
    assert reason(decode_command, b"\x01\x7f\x00") == ("type", 1)
    assert reason(decode_command, b"\x02\x10\x00\x00\x00") == ("type", 0)
    assert reason(decode_command, b"\x01\x11\x00\x00") == ("truncated", 4)
    assert reason(decode_command, encode_command(ListCommand()) + b"\x00") == ("overlong", 5)
    assert reason(decode_chunk, encode_chunk(Chunk(1, 0, b"abcd"))[:-2]) == ("truncated", 18)
    assert reason(decode_response, b"\x01\x80\x7f\x00\x00") == ("type", 2)
    log = encode_descriptor(_descriptor()) + frame + bytes(bad)
    assert reason(decode_log, log) == ("crc", len(log) - 4)
    with pytest.raises(ProtocolError, match="packet 1 of 2") as info:
        decode_packets("osp", [frame, bytes(bad)], {"acc_scale": 1, "gyr_scale": 1, "rate": 100})
    assert info.value.offset == len(frame) - 4
    with pytest.raises(ProtocolError) as info:
        decode_log(frame)
    assert info.value.reason == "settings"


def test_skip_mode_counts_and_resynchronises():
    d = _descriptor(mask=1)
    raw = np.arange(40 * 3, dtype=np.int16).reshape(40, 3)
    frames = encode_frames(
        raw,
        channel_mask=1,
        first_index=0,
        first_time_us=0,
        rate_mhz=d.rate_mhz,
        samples_per_frame=4,
        session_id=1,
    )
    damaged = bytearray(frames[3])
    damaged[20] ^= 0xFF
    log = (
        encode_descriptor(d) + b"".join(frames[:3]) + bytes(damaged) + b"\x01\x01junk" + b"".join(frames[4:])
    )
    res = decode_log(log, on_error="skip")
    assert res.info["rejected"] == {"crc": 1} and res.info["rejected_bytes"] == len(damaged) + 6
    assert res.info["lost_samples"] == 4 and res.info["index_gaps"] == 1 and res.info["seq_gaps"] == 1
    assert res.sample_index.tolist() == [*range(12), *range(16, 40)]


def test_streams_are_separated():
    d = _descriptor(mask=1)
    a = encode_frames(
        np.ones((4, 3), np.int16),
        channel_mask=1,
        first_index=0,
        first_time_us=0,
        rate_mhz=1000,
        samples_per_frame=2,
        stream_id=0,
    )
    b = encode_frames(
        np.full((4, 3), 2, np.int16),
        channel_mask=1,
        first_index=0,
        first_time_us=0,
        rate_mhz=1000,
        samples_per_frame=2,
        stream_id=1,
    )
    log = b"".join(x for pair in zip(a, b, strict=True) for x in pair)
    res = decode_log(log, descriptor=d, stream_id=1)
    assert np.all(res.acc == 2 * d.acc_scale) and res.info["other_stream_frames"] == 2


# --- log assembly ---------------------------------------------------------------------------------


def _log(n=300):
    raw = np.arange(n * 6, dtype=np.int16).reshape(n, 6)
    return encode_log(_descriptor(), raw, first_index=0, first_time_us=0, samples_per_frame=17)


def _chunks(log, size, session=1):
    return [Chunk(session, o, log[o : o + size]) for o in range(0, len(log), size)]


@settings(max_examples=40)
@given(st.data())
def test_assembler_with_loss_duplicates_reordering_and_damage(data):
    log = _log(120)
    size = data.draw(st.integers(1, 228))
    chunks = _chunks(log, size)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    arrivals = [encode_chunk(c) for c in chunks if rng.random() > 0.2]  # 20 % lost
    arrivals += [encode_chunk(chunks[i]) for i in rng.integers(0, len(chunks), 5)]  # duplicates
    arrivals += [encode_chunk(Chunk(1, o, log[o : o + 50])) for o in rng.integers(0, len(log), 3)]  # overlaps
    arrivals += [encode_chunk(Chunk(2, 0, log[:10])), encode_chunk(chunks[0])[:-1]]  # wrong session, cut
    rng.shuffle(arrivals)
    asm = LogAssembler(session_id=1)
    journal = bytearray()
    for a in arrivals:
        asm.add(a)
        journal += asm.take()
    end = End(0, 1, 0, len(log), crc32(log), len(log), crc32(log), 0, tag=0)
    first = asm.verify(end)
    assert journal == log[: asm.length] and asm.crc == crc32(log[: asm.length])
    assert asm.stats["wrong_session"] == 1 and asm.stats["rejected_truncated"] == 1
    for offset, length in first.missing:  # READ the holes again
        for c in _chunks(log[offset : offset + length], size):
            asm.add(Chunk(1, offset + c.offset, c.data))
            journal += asm.take()
    assert asm.verify(end).complete and bytes(journal) == log and verify_log(journal, end)
    assert asm.held_bytes == 0 and asm.stats["conflicts"] == 0


def test_assembler_resumes_from_a_verified_prefix_and_detects_corruption():
    log = _log()
    half = len(log) // 2
    asm = LogAssembler(session_id=1, length=half, crc=crc32(log[:half]))  # after a host crash
    assert asm.missing(len(log)) == [(half, len(log) - half)]
    for c in _chunks(log[half:], 200):
        asm.add(Chunk(1, half + c.offset, c.data))
    entry = SessionEntry(1, 0, 0xB007, len(log), crc32(log), 300, 0, 0)
    assert asm.verify(entry).complete and asm.take() == log[half:]
    wrong = LogAssembler(session_id=1, length=half, crc=crc32(log[:half]) ^ 1)
    wrong.add(Chunk(1, half, log[half:]))
    with pytest.raises(ProtocolError) as info:
        wrong.verify(entry)
    assert info.value.reason == "crc"
    with pytest.raises(ProtocolError):
        asm.verify(SessionEntry(1, 0, 0, 10, 0, 0, 0, 0))
    held = LogAssembler(session_id=1)
    held.add(Chunk(1, 10, b"x" * 5))
    held.add(Chunk(1, 12, b"y" * 5))  # overlapping bytes that differ
    assert held.stats["conflicts"] == 1 and held.missing(30) == [(0, 10), (17, 13)]


def test_journal_prefix_decodes_at_frame_boundaries():
    log = _log()
    cut = len(log) - 100
    res = decode_log(log[:cut], on_error="skip")
    assert res.info["rejected"] == {"truncated": 1}
    assert res.sample_index[-1] < 299 and res.sample_index.tolist() == list(range(len(res)))


# --- clock sync -----------------------------------------------------------------------------------


def test_clock_sample_math():
    s = ClockSample(t1_us=1000, t2_us=11_000 + 40, t3_us=11_000 + 90, t4_us=1200)
    assert s.offset_us == ((11_040 - 1000) + (11_090 - 1200)) / 2 and s.delay_us == 200 - 50
    assert s.host_mid_us == 1100
    with pytest.raises(ProtocolError):
        best_sample([ClockSample(10, 0, 0, 5)])


def test_clock_fit_recovers_offset_and_drift_within_its_bound():
    rng = np.random.default_rng(7)
    offset, drift_ppm = 123_456_789.0, 150.0
    samples = []
    for host in np.linspace(1e9, 1e9 + 600e6, 40):
        up, down = rng.uniform(3000, 30000), rng.uniform(3000, 30000)  # asymmetric BLE latencies [µs]
        t1 = host
        t2 = (t1 + up) + offset + drift_ppm * 1e-6 * (t1 + up - 1e9)
        t3 = t2 + 200
        host_t3 = (t3 - offset + drift_ppm * 1e-6 * 1e9) / (1 + drift_ppm * 1e-6)
        samples.append(ClockSample(int(t1), int(t2), int(t3), int(host_t3 + down)))
    fit = fit_clock(samples)
    truth = offset + drift_ppm * 1e-6 * (fit.ref_host_us - 1e9)
    assert abs(fit.offset_us - truth) <= fit.uncertainty_us
    assert abs(fit.drift_ppm - drift_ppm) < 30
    host = fit.device_to_host_us(truth + fit.ref_host_us)
    assert math.isclose(float(host), fit.ref_host_us, abs_tol=fit.uncertainty_us)
    single = fit_clock(samples[:1])
    assert single.drift_ppm == 0 and single.n_used == 1


def test_message_names_in_cli_json():
    res = decode_packets("osp", [encode_response(Response(0x13, Status.CRC_MISMATCH, 9))])
    assert res.info["messages"][0]["status_name"] == "CRC_MISMATCH"
    assert res.info["messages"][0]["opcode_name"] == "CMD_COMMIT"
