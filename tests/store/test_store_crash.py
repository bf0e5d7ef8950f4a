"""A writer killed at any moment leaves no partial ``*.parquet`` file that readers could see."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from imurehab.errors import DatasetNotFoundError
from imurehab.store import columns as cols
from imurehab.store import read_file_metadata, read_recording, read_table, write_recording
from imurehab.store import schema as sc
from tests.strategies import synthetic_recording

REPO = Path(__file__).resolve().parents[2]
N_SAMPLES = 120_000  # per sensor, 3 sensors: one write takes ~0.1-0.5 s, so kills land mid-write
# Fixed delays after the child is ready (imports done, recording built): before, during and between writes.
KILL_DELAYS_S = (0.0, 0.03, 0.11, 0.23, 0.37, 0.61)

CHILD = """
import sys
from imurehab.store import write_recording
from tests.strategies import synthetic_recording

rec = synthetic_recording(int(sys.argv[2]))
print("ready", flush=True)
while True:
    write_recording(rec, sys.argv[1], overwrite=True)
"""


def _check_visible_state(root: Path, expected) -> None:
    visible = sorted(root.rglob("*.parquet"))
    assert not [p for p in visible if p.name.startswith(".")]
    for path in visible:
        table = pq.read_table(path)  # reads every page: a torn file fails here
        assert table.num_rows == pq.read_metadata(path).num_rows
        assert read_file_metadata(path)["schema_version"] == sc.SCHEMA_VERSION
    for table in (cols.SAMPLES, cols.SESSIONS):
        if (root / table).is_dir():
            read_table(root, table).collect()
    # Every write wrote the same recording, so whatever a reader sees must be all of it.
    try:
        back = read_recording(root, subject="001", session="s1")
    except DatasetNotFoundError:
        assert not (root / cols.SESSIONS).exists() or not list((root / cols.SESSIONS).rglob("*.parquet"))
    else:
        assert back.equals(expected)


@pytest.mark.slow
def test_killed_writer_leaves_only_complete_files(tmp_path):
    root = tmp_path / "dataset"
    expected = synthetic_recording(N_SAMPLES)
    for delay in KILL_DELAYS_S:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), str(N_SAMPLES)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            line = child.stdout.readline()
            assert line == b"ready\n", child.stderr.read().decode()
            time.sleep(delay)
            assert child.poll() is None, child.stderr.read().decode()
        finally:
            child.kill()
            child.communicate(timeout=30)
        _check_visible_state(root, expected)
    # Temporary files of killed writers were hidden from readers; the next overwrite sweeps them.
    write_recording(expected, root, overwrite=True)
    _check_visible_state(root, expected)
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["part-0.parquet", "part-0.parquet"]
