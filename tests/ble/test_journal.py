"""The raw journal: append, flush, reopen at the last verified byte, refuse foreign folders, survive kills."""

from __future__ import annotations

import errno
import json
import os
import random
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from imurehab.ble.files import safe_name
from imurehab.ble.journal import INDEX_RECORD_BYTES, LogJournal, SessionKey
from imurehab.ble.layout import JournalRoot
from imurehab.errors import JournalError

REPO = Path(__file__).resolve().parents[2]
KEY = SessionKey("OSP-0001", session_id=3, boot_id=0xABCDEF01, first_time_us=1_000)
STUDY = ("p01", "visit1")


def log_bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def pieces(data: bytes, seed: int = 1):
    rng, pos = random.Random(seed), 0
    while pos < len(data):
        n = rng.randrange(1, 400)
        yield data[pos : pos + n]
        pos += n


def reopen(folder: Path) -> LogJournal:
    return LogJournal.open(folder, KEY, study=STUDY)


def test_appended_and_flushed_bytes_come_back_with_their_crc(tmp_path):
    data = log_bytes(50_000)
    j = reopen(tmp_path / "s")
    j.flush_bytes = 4096
    for piece in pieces(data):
        j.append(piece)
    assert (j.length, j.crc) == (len(data), zlib.crc32(data))
    assert j.durable_length >= len(data) - 4096
    j.close()
    again = reopen(tmp_path / "s")
    assert (again.length, again.crc, again.read_log()) == (len(data), zlib.crc32(data), data)
    assert again.study == STUDY
    again.close()


def test_bytes_never_flushed_are_cut_off_on_reopen(tmp_path):
    data = log_bytes(10_000)
    j = reopen(tmp_path / "s")
    j.append(data[:6000])
    j.flush()
    j.append(data[6000:])  # written to log.bin, never indexed
    assert (tmp_path / "s" / "log.bin").stat().st_size == len(data)
    os.close(j._log_fd)  # a crash: no close(), no flush
    os.close(j._idx_fd)
    again = reopen(tmp_path / "s")
    assert again.length == 6000 and again.read_log() == data[:6000]
    assert (tmp_path / "s" / "log.bin").stat().st_size == 6000
    again.close()


def test_a_torn_index_record_is_dropped(tmp_path):
    data = log_bytes(3000)
    j = reopen(tmp_path / "s")
    for k in range(3):
        j.append(data[k * 1000 : (k + 1) * 1000])
        j.flush()
    j.close()
    idx = tmp_path / "s" / "log.idx"
    idx.write_bytes(idx.read_bytes()[: 2 * INDEX_RECORD_BYTES + 11])  # the last record half written
    again = reopen(tmp_path / "s")
    assert again.length == 2000 and again.read_log() == data[:2000]
    assert idx.stat().st_size == 2 * INDEX_RECORD_BYTES
    again.close()


def test_damaged_bytes_cut_the_journal_back_to_the_record_before_them(tmp_path):
    data = log_bytes(4000)
    j = reopen(tmp_path / "s")
    for k in range(4):
        j.append(data[k * 1000 : (k + 1) * 1000])
        j.flush()
    j.close()
    log = tmp_path / "s" / "log.bin"
    damaged = bytearray(log.read_bytes())
    damaged[2500] ^= 0x40
    log.write_bytes(damaged)
    again = reopen(tmp_path / "s")
    assert again.length == 2000 and again.crc == zlib.crc32(data[:2000])
    again.append(data[2000:])  # resumes exactly there
    again.close()
    assert reopen(tmp_path / "s").read_log() == data


def test_reset_discards_everything(tmp_path):
    j = reopen(tmp_path / "s")
    j.append(b"x" * 100)
    j.mark_verified(0)
    j.reset()
    assert (j.length, j.crc, j.verified) == (0, 0, None)
    j.append(b"y" * 10)
    j.close()
    assert reopen(tmp_path / "s").read_log() == b"y" * 10


def test_verified_state_is_kept(tmp_path):
    j = reopen(tmp_path / "s")
    j.append(b"abc")
    j.mark_verified(2, committed=True)
    j.close()
    assert reopen(tmp_path / "s").verified == {
        "length": 3,
        "crc": zlib.crc32(b"abc"),
        "state": 2,
        "committed": True,
    }


def test_a_folder_of_another_device_session_is_refused(tmp_path):
    j = reopen(tmp_path / "s")
    j.append(b"abc")
    j.close()
    other = SessionKey(KEY.serial, KEY.session_id, boot_id=0x12345678, first_time_us=KEY.first_time_us)
    with pytest.raises(JournalError, match=r"belongs to another device log session.*boot_id") as err:
        LogJournal.open(tmp_path / "s", other, study=STUDY)
    assert err.value.reason == "conflict" and err.value.path == tmp_path / "s"
    assert (tmp_path / "s" / "log.bin").read_bytes() == b"abc"  # untouched


def test_a_folder_with_foreign_files_is_refused(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(JournalError, match="not ours") as err:
        reopen(tmp_path / "s")
    assert err.value.reason == "conflict"


def test_a_full_disk_is_one_clear_error_and_keeps_the_durable_prefix(tmp_path, monkeypatch):
    data = log_bytes(20_000)
    j = reopen(tmp_path / "s")
    j.append(data[:8000])
    j.flush()
    real_write = os.write
    budget = [3000]

    def full_disk(fd, buf):
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(buf), budget[0])
        budget[0] -= n
        return real_write(fd, bytes(buf[:n]))

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(JournalError, match="no space left") as err:
        j.append(data[8000:])
    assert err.value.reason == "disk-full"
    assert (j.length, j.durable_length) == (8000, 8000)
    monkeypatch.setattr(os, "write", real_write)
    assert (tmp_path / "s" / "log.bin").stat().st_size == 8000  # the partial write was given back
    j.append(data[8000:])  # space again: it goes on from the durable prefix
    j.close()
    assert reopen(tmp_path / "s").read_log() == data


WRITER = """
import random, sys
from pathlib import Path
from imurehab.ble.journal import LogJournal, SessionKey

folder, seed = Path(sys.argv[1]), int(sys.argv[2])
data = random.Random(seed).randbytes(4_000_000)
key = SessionKey("OSP-0001", session_id=3, boot_id=0xABCDEF01, first_time_us=1_000)
j = LogJournal.open(folder, key, study=("p01", "visit1"))
j.flush_bytes = 1 << 40  # flushes only where we say
rng = random.Random(seed + 1)
print("ready", j.length, flush=True)
while j.length < len(data):
    j.append(data[j.length : j.length + rng.randrange(1, 2000)])
    if rng.random() < 0.05:
        j.flush()
        print("durable", j.durable_length, flush=True)
"""


@pytest.mark.parametrize("delays", [(0.05, 0.2, 0.013, 0.4, 0.11)])
def test_a_sigkilled_writer_leaves_a_journal_that_resumes_at_a_verified_prefix(tmp_path, delays):
    folder, seed = tmp_path / "s", 7
    data = random.Random(seed).randbytes(4_000_000)
    durable = 0
    for delay in delays:
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder), str(seed)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ready = child.stdout.readline().split()
            assert ready[:1] == ["ready"], child.stderr.read()
            assert int(ready[1]) >= durable  # nothing flushed before was lost
            time.sleep(delay)
        finally:
            child.kill()
            out, _ = child.communicate(timeout=30)
        lines = [line.split() for line in out.splitlines() if line.startswith("durable")]
        durable = max([durable, *(int(n) for _, n in lines)])
        j = reopen(folder)
        assert durable <= j.length <= len(data)
        assert j.read_log() == data[: j.length] and j.crc == zlib.crc32(data[: j.length])
        j.close()
    assert durable > 0


def test_the_root_lock_keeps_a_second_writer_out(tmp_path):
    root, other = JournalRoot(tmp_path), JournalRoot(tmp_path)
    with root.locked():
        with pytest.raises(JournalError, match="another imurehab process") as err, other.locked():
            pass
        assert err.value.reason == "busy"
    with other.locked():  # released
        pass


def test_an_unfinished_run_keeps_its_study_ids(tmp_path):
    root = JournalRoot(tmp_path)
    with root.locked():
        assert root.begin_run("sync", None, None, "first") == ("unassigned", "first")
        assert root.begin_run("sync", None, None, "second") == ("unassigned", "first")  # resumed
        assert root.begin_run("sync", "p02", None, "third") == ("p02", "first")
        root.finish_run()
        assert root.begin_run("sync", None, None, "fourth") == ("unassigned", "fourth")
    assert json.loads((tmp_path / "_journal" / "run.json").read_text())["session"] == "fourth"


def test_journals_are_listed_with_their_meta(tmp_path):
    root = JournalRoot(tmp_path)
    root.log_journal(KEY, STUDY).close()
    stream = root.stream_journal("OSP-0001", 0xABCDEF01, 123, STUDY)
    stream.append(b"frame")
    stream.close()
    found = [(kind, folder.name, meta["subject"]) for kind, folder, meta in root.iter_journals()]
    assert found == [("log", "session-3", "p01"), ("stream", "stream-abcdef01-123", "p01")]
    assert (root.device_dir("OSP-0001") / "stream-abcdef01-123" / "frames.bin").read_bytes() == b"frame"


def test_serials_become_safe_folder_names():
    assert safe_name("../../etc") == "etc"
    assert safe_name("IMU 7 (left)") == "IMU_7__left_"
    assert safe_name("é") == "unknown"
