"""The C reference encoder (firmware_protocols/osp/c) matches the Python OSP codec byte for byte.

The driver is compiled with the machine's C compiler into a temporary folder (skipped when there is none)
and fed several hundred seeded pseudo-random requests plus edge cases on stdin in one run.
"""

import random
import shutil
import struct
import subprocess

import numpy as np
import pytest

from imurehab.errors import ProtocolError
from imurehab.protocols import protocol_dir
from imurehab.protocols.osp import (
    Chunk,
    ClockSyncCommand,
    ClockSyncReply,
    CommitCommand,
    DataFrame,
    Descriptor,
    End,
    ListCommand,
    ReadCommand,
    Response,
    SessionEntry,
    SessionList,
    StartLogCommand,
    StartStreamCommand,
    StopLogCommand,
    crc32,
    decode_command,
    encode_chunk,
    encode_command,
    encode_data_frame,
    encode_descriptor,
    encode_end,
    encode_response,
    max_samples_per_frame,
)
from imurehab.protocols.osp.frames import channel_count

CASES = 60  # per message kind


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH: the C reference encoder is not checked")
    src = protocol_dir("osp") / "c"
    exe = tmp_path_factory.mktemp("osp_c") / "osp_vectors"
    cmd = [
        cc,
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-pedantic",
        "-Werror",
        "-O2",
        "-o",
        str(exe),
        str(src / "osp_encode.c"),
        str(src / "osp_vectors.c"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr

    def run(lines):
        out = subprocess.run(
            [str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True, timeout=60
        )
        return out.stdout.splitlines()

    return run


def _text(rng, max_bytes=32):
    alphabet = "abcXYZ019 -_.,:/µé"
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        if len(s.encode()) <= max_bytes:
            return s


def _f32_bits(rng):
    return struct.unpack("<I", struct.pack("<f", rng.uniform(-10.0, 10.0) * 10 ** rng.randint(-6, 3)))[0]


def test_c_matches_python_for_every_message(driver):
    rng = random.Random(20261125)
    requests, expected = [], []

    def case(line, python_bytes):
        requests.append(line)
        expected.append(python_bytes.hex() if isinstance(python_bytes, bytes) else python_bytes)

    case("crc " + b"123456789".hex(), f"{crc32(b'123456789'):08x}")
    for _ in range(CASES):
        blob = rng.randbytes(rng.randint(0, 400))
        case(f"crc {blob.hex() or '-'}", f"{crc32(blob):08x}")
        mtu, mask = rng.randint(23, 600), rng.randint(1, 7)
        case(f"spf {mtu} {mask}", str(max_samples_per_frame(mtu, mask)))

    for k in range(CASES * 2):
        mask = rng.randint(1, 7)
        n = 255 if k == 0 else rng.randint(1, 40)
        values = [rng.randint(-32768, 32767) for _ in range(n * channel_count(mask))]
        head = [
            rng.randint(0, 255),
            rng.randint(0, 255),
            rng.getrandbits(32),
            rng.getrandbits(32),
            rng.getrandbits(64),
            rng.getrandbits(64),
        ]
        frame = DataFrame(
            head[0],
            head[1],
            head[2],
            head[3],
            head[4],
            head[5],
            mask,
            np.array(values, dtype=np.int16).reshape(n, -1),
        )
        case(
            f"data {head[0]} {head[1]} {n} {mask} {head[2]} {head[3]} {head[4]} {head[5]} "
            + " ".join(map(str, values)),
            encode_data_frame(frame),
        )

    for _ in range(CASES):
        bits = [_f32_bits(rng) for _ in range(3)]
        strings = [_text(rng) for _ in range(4)]
        d = Descriptor(
            channel_mask=rng.randint(0, 7),
            rate_mhz=rng.randint(1, 2**32 - 1),
            acc_scale=struct.unpack("<f", struct.pack("<I", bits[0]))[0],
            gyr_scale=struct.unpack("<f", struct.pack("<I", bits[1]))[0],
            mag_scale=struct.unpack("<f", struct.pack("<I", bits[2]))[0],
            boot_id=rng.getrandbits(32),
            session_id=rng.getrandbits(32),
            acc_range_g=rng.randint(0, 255),
            gyr_range_dps=rng.randint(0, 65535),
            imu_model=strings[0],
            serial=strings[1],
            firmware=strings[2],
            axis_frame=strings[3],
            stream_id=rng.randint(0, 255),
            protocol_minor=rng.randint(0, 255),
        )
        hexes = " ".join(s.encode().hex() or "-" for s in strings)
        case(
            f"desc {d.stream_id} {d.protocol_minor} {d.channel_mask} {d.acc_range_g} {d.gyr_range_dps} "
            f"{d.rate_mhz} {bits[0]} {bits[1]} {bits[2]} {d.boot_id} {d.session_id} {hexes}",
            encode_descriptor(d),
        )

    for _ in range(CASES):
        c = Chunk(rng.getrandbits(32), rng.getrandbits(32), rng.randbytes(rng.randint(0, 300)))
        case(f"chunk {c.session_id} {c.offset} {c.data.hex() or '-'}", encode_chunk(c))
        e = End(
            rng.randint(0, 255),
            *(rng.getrandbits(32) for _ in range(6)),
            rng.randint(0, 2),
            tag=rng.randint(0, 255),
        )
        case(
            f"end {e.tag} {e.status} {e.session_id} {e.offset} {e.length} {e.range_crc} {e.log_length} "
            f"{e.log_crc} {e.state}",
            encode_end(e),
        )
        r = Response(rng.randint(0, 255), rng.randint(1, 255), rng.randint(0, 255))
        case(f"resp {r.opcode} {r.tag} {r.status}", encode_response(r))
        tag, t = rng.randint(0, 255), [rng.getrandbits(64) for _ in range(3)]
        boot = rng.getrandbits(32)
        case(
            f"clock {tag} {t[0]} {t[1]} {t[2]} {boot}",
            encode_response(Response(0x18, 0, tag, ClockSyncReply(t[0], t[1], t[2], boot))),
        )
        entries = tuple(
            SessionEntry(
                rng.getrandbits(32),
                rng.randint(0, 2),
                rng.getrandbits(32),
                rng.getrandbits(32),
                rng.getrandbits(32),
                rng.getrandbits(32),
                rng.getrandbits(64),
                rng.getrandbits(64),
            )
            for _ in range(rng.randint(0, 6))
        )
        body = SessionList(rng.randint(0, 65535), rng.randint(0, 65535), entries)
        fields = " ".join(
            f"{e.session_id} {e.state} {e.boot_id} {e.length} {e.log_crc} {e.n_samples} "
            f"{e.first_index} {e.first_time_us}"
            for e in entries
        )
        case(
            f"list {tag} {body.total} {body.first} {len(entries)} {fields}",
            encode_response(Response(0x10, 0, tag, body)),
        )

    got = driver(requests)
    assert len(got) == len(expected)
    for line, want, have in zip(requests, expected, got, strict=True):
        assert have == want, line[:80]


def _c_fields(cmd):
    """The field list the C driver prints for a parsed command, from the Python dataclass."""
    v = {
        "first": 0,
        "session_id": 0,
        "offset": 0,
        "length": 0,
        "log_crc": 0,
        "rate_mhz": 0,
        "channel_mask": 0,
        "acc_range_g": 0,
        "gyr_range_dps": 0,
        "max_samples": 0,
        "t1_us": 0,
    }
    v.update({k: getattr(cmd, k) for k in v if hasattr(cmd, k)})
    order = [
        "first",
        "session_id",
        "offset",
        "length",
        "log_crc",
        "rate_mhz",
        "channel_mask",
        "acc_range_g",
        "gyr_range_dps",
        "max_samples",
        "t1_us",
    ]
    return " ".join(["0", str(cmd.OPCODE), str(cmd.tag), *(str(v[k]) for k in order)])


def test_c_command_parser_agrees_with_python(driver):
    rng = random.Random(7)
    cmds = []
    for _ in range(CASES):
        tag = rng.randint(0, 255)
        cmds += [
            ListCommand(rng.randint(0, 65535), tag=tag),
            ReadCommand(rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32), tag=tag),
            CommitCommand(rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32), tag=tag),
            StartStreamCommand(
                rng.getrandbits(32),
                rng.randint(0, 255),
                rng.randint(0, 255),
                rng.randint(0, 65535),
                rng.randint(0, 255),
                tag=tag,
            ),
            StartLogCommand(rng.getrandbits(32), rng.randint(1, 7), 16, 2000, 0, tag=tag),
            StopLogCommand(tag=tag),
            ClockSyncCommand(rng.getrandbits(64), tag=tag),
        ]
    got = driver([f"cmd {encode_command(c).hex()}" for c in cmds])
    assert got == [_c_fields(c) for c in cmds]
    # damaged writes: the C status matches the reason the Python parser gives
    status_of = {("type", 0): "1", ("type", 1): "2", ("truncated", None): "3", ("overlong", None): "3"}
    blobs = [
        b"\x02\x10\x00\x00\x00",
        b"\x01\x7f\x00",
        b"\x01\x11\x00\x01",
        encode_command(ListCommand()) + b"\x00",
    ]
    blobs += [rng.randbytes(rng.randint(1, 20)) for _ in range(CASES)]
    got = driver([f"cmd {b.hex()}" for b in blobs])
    for blob, line in zip(blobs, got, strict=True):
        try:
            decode_command(blob)
            assert line.split()[0] == "0", blob.hex()
        except ProtocolError as err:
            key = (err.reason, err.offset if err.reason == "type" else None)
            assert line.split()[0] == status_of[key], blob.hex()
