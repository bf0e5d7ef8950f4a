"""WitMotion: vectors, encode/decode identity, resynchronisation across split/merged notifications."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.errors import ProtocolError
from imurehab.protocols import decode_packets, load_vectors
from imurehab.protocols.witmotion import (
    ACC_LSB,
    ANGLE_LSB,
    GYR_LSB,
    WitmotionStream,
    decode_stream,
    encode_combined,
    encode_serial,
    read_register_command,
    write_register_command,
)

raw3 = st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=30).map(np.array)


def _si(n_samples, seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(-32768, 32768, (n_samples, 9))
    return raw[:, :3] * ACC_LSB, raw[:, 3:6] * GYR_LSB, raw[:, 6:] * ANGLE_LSB


@pytest.mark.parametrize("vector", load_vectors("witmotion"), ids=lambda v: v["what"][:40])
def test_vectors_decode_exactly(vector):
    hexes = vector["hex"] if isinstance(vector["hex"], list) else [vector["hex"]]
    res = decode_packets("witmotion", [bytes.fromhex(h) for h in hexes], vector["settings"])
    assert res.time_ns is None and res.info["host_time"]
    for key, want in vector["expect"].items():
        if key in ("acc", "gyr", "mag"):
            np.testing.assert_allclose(getattr(res, key), want, rtol=1e-12, atol=1e-12)
        elif key == "angle_deg":
            np.testing.assert_allclose(res.info[key], want, rtol=1e-12)
        else:
            assert res.info[key] == want, key


@given(raw3, st.data())
def test_combined_decode_of_encode_is_identity(acc_raw, data):
    n = len(acc_raw)
    gyr_raw = np.array(
        data.draw(st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=n, max_size=n))
    )
    ang_raw = np.array(
        data.draw(st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=n, max_size=n))
    )
    acc, gyr, ang = acc_raw * ACC_LSB, gyr_raw * GYR_LSB, ang_raw * ANGLE_LSB
    packets = encode_combined(acc, gyr, ang)
    s = decode_stream(packets)
    np.testing.assert_array_equal(s.acc, acc)
    np.testing.assert_array_equal(s.gyr, gyr)
    np.testing.assert_array_equal(s.angle_deg, ang)
    assert s.mag is None and s.counts["packets"] == {"0x61": n}
    assert encode_combined(s.acc, s.gyr, s.angle_deg) == packets


@given(raw3, st.booleans())
def test_serial_decode_of_encode_is_identity(raw, with_mag):
    acc, gyr, ang = raw * ACC_LSB, raw[::-1] * GYR_LSB, raw * ANGLE_LSB
    mag = raw * 0.1 if with_mag else None
    s = decode_stream(encode_serial(acc, gyr, ang, mag))
    np.testing.assert_array_equal(s.acc, acc)
    np.testing.assert_array_equal(s.gyr, gyr)
    np.testing.assert_array_equal(s.angle_deg, ang)
    if with_mag:
        np.testing.assert_array_equal(s.mag, mag)
    assert s.counts["rejected"] == {"checksum": 0, "unconfirmed": 0}


@settings(max_examples=60)
@given(st.data())
def test_resync_across_split_and_merged_notifications_with_garbage(data):
    """Junk (no 0x55 in it) between packets; the byte stream re-cut into notifications at random points."""
    n = data.draw(st.integers(1, 40))
    acc, gyr, ang = _si(n, data.draw(st.integers(0, 1000)))
    serial = data.draw(st.booleans())
    packets = encode_serial(acc, gyr, ang) if serial else encode_combined(acc, gyr, ang)
    junk = st.binary(min_size=1, max_size=15).map(lambda b: b.replace(b"\x55", b"\x54"))
    stream, forced, garbage = b"", set(), 0
    for p in packets:
        stream += p
        if data.draw(st.booleans()):
            # a checksum-less packet is believed when a header or a notification boundary follows it
            forced.add(len(stream))
            g = data.draw(junk)
            stream += g
            garbage += len(g)
    cuts = set(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=20))) | (forced - {len(stream)})
    cuts = sorted(cuts)
    notes = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    times = list(range(100, 100 + len(notes)))
    s = decode_stream(notes, host_time_ns=times)
    np.testing.assert_array_equal(s.acc, acc)
    np.testing.assert_array_equal(s.gyr, gyr)
    np.testing.assert_array_equal(s.angle_deg, ang)
    assert s.counts["garbage_bytes"] == garbage and s.counts["truncated_bytes"] == 0
    assert s.counts["rejected"] == {"checksum": 0, "unconfirmed": 0}
    # live: the stateful stream gives the same samples, each stamped with its completing notification
    live = WitmotionStream()
    got, stamps = [], []
    for out in [
        *(live.feed(note, host_time_ns=t) for note, t in zip(notes, times, strict=True)),
        live.flush(),
    ]:
        got.append(out.acc)
        stamps += out.host_time_ns.tolist()
    np.testing.assert_array_equal(np.concatenate(got), acc)
    assert stamps == s.host_time_ns.tolist() and stamps == sorted(stamps)


def test_lost_fragment_is_not_glued_into_a_sample():
    acc, gyr, ang = _si(3, 1)
    p = encode_combined(acc, gyr, ang)
    # the tail of packet 1 is lost: its head fragment runs straight into packet 2 in the same notification
    s = decode_stream([p[0], p[1][:8] + p[2]])
    np.testing.assert_array_equal(s.acc, acc[[0, 2]])
    assert s.counts["rejected"]["unconfirmed"] == 1 and s.counts["garbage_bytes"] == 8


def test_serial_cycles_with_damaged_and_missing_packets():
    acc, gyr, ang = _si(4, 2)
    packets = encode_serial(acc, gyr, ang)  # 3 packets per sample
    damaged = bytearray(packets[4])  # gyr of sample 1
    damaged[5] ^= 0x10
    stream = [*packets[:4], bytes(damaged), *packets[5:9], *packets[10:]]  # and sample 3 loses its acc
    s = decode_stream(stream)
    assert len(s) == 4 and s.counts["rejected"]["checksum"] == 1
    assert np.isnan(s.gyr[1]).all() and np.isnan(s.acc[3]).all()
    np.testing.assert_array_equal(s.acc[:3], acc[:3])
    np.testing.assert_array_equal(s.angle_deg, ang)


def test_live_serial_stream_emits_each_cycle_once_complete():
    acc, gyr, ang = _si(3, 3)
    live = WitmotionStream()
    counts = [len(live.feed(p, host_time_ns=i)) for i, p in enumerate(encode_serial(acc, gyr, ang))]
    # the first cycle is known complete when the second starts; later ones with their last packet
    assert counts == [0, 0, 0, 1, 0, 1, 0, 0, 1] and len(live.flush()) == 0


def test_random_bytes_never_crash():
    rng = np.random.default_rng(0)
    for _ in range(200):
        blobs = [rng.bytes(int(rng.integers(0, 40))) for _ in range(int(rng.integers(1, 5)))]
        blobs = [b.replace(b"\x56", b"\x55") for b in blobs]  # more headers, more candidates
        res = decode_packets("witmotion", blobs)
        assert len(res) <= sum(map(len, blobs)) // 11 + 1
    with pytest.raises(ProtocolError) as info:
        decode_packets("witmotion", [b"\x55"], {"mag_scale": "x"})
    assert info.value.reason == "settings"


def test_commands():
    assert write_register_command(0x03, 0x0B) == bytes.fromhex("FFAA030B00")  # 200 Hz
    assert read_register_command(0x3A) == bytes.fromhex("FFAA273A00")  # datasheet example
    with pytest.raises(ProtocolError):
        write_register_command(0x100, 0)


def test_encoder_clips_and_rejects_bad_input():
    big = encode_combined([[1e6, -1e6, 0]], [[0, 0, 0]], [[0, 0, 0]])[0]
    assert decode_stream([big]).acc[0, :2].tolist() == [32767 * ACC_LSB, -32768 * ACC_LSB]
    with pytest.raises(ProtocolError):
        encode_combined([[np.nan, 0, 0]], [[0, 0, 0]], [[0, 0, 0]])
    with pytest.raises(ProtocolError):
        encode_serial([[0, 0, 0]], [[0, 0, 0]], [[0, 0, 0], [0, 0, 0]])
