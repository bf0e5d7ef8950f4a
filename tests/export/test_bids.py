"""BIDS motion export: the official validators accept it, and the files hold the stored samples exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imurehab.export import export_bids
from imurehab.export.bids import bids_labels
from imurehab.store import columns as cols
from imurehab.store import read_table
from imurehab.types import datetime_to_us
from tests.export.export_dataset import GAP, T0, N, make_dataset, spin
from tests.strategies import DETERMINISTIC, identifiers

REPO = Path(__file__).resolve().parents[2]
# The legacy validator (npm `bids-validator`, node) and the current one (PyPI `bids-validator-deno`).
LEGACY = REPO / ".tools" / "bids-validator" / "node_modules" / ".bin" / "bids-validator"
DENO = Path(sys.executable).parent / "bids-validator-deno"
S1 = Path("sub-001") / "ses-s1"
THIGH = S1 / "motion" / "sub-001_ses-s1_task-seatedkneeextension_tracksys-thighright"


def _errors(validator: Path, root: Path) -> tuple[list[str], list[str]]:
    """The validator's error codes and the datatypes it recognised, from its JSON report."""
    done = subprocess.run(
        [str(validator), str(root), "--json"], capture_output=True, text=True, timeout=600, check=False
    )
    report = json.loads(done.stdout)
    issues = report["issues"]
    if "errors" in issues:  # legacy layout
        codes = [issue["key"] for issue in issues["errors"]]
    else:
        codes = [issue["code"] for issue in issues["issues"] if issue["severity"] == "error"]
    return codes, report["summary"]["dataTypes"]


def _validator(which: str) -> Path:
    path = LEGACY if which == "legacy" else DENO
    if not path.exists():
        install = (
            "npm install --prefix .tools/bids-validator bids-validator@1.15.0"
            if which == "legacy"
            else ".venv/bin/pip install bids-validator-deno"
        )
        pytest.skip(f"BIDS validator not installed at {path} (make's set-up installs it: {install})")
    if which == "legacy" and shutil.which("node") is None:
        pytest.skip("the npm bids-validator needs node, which is not on PATH")
    return path


@pytest.fixture(scope="module")
def bids(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bids")
    export_bids(make_dataset(root / "ds"), root / "bids")
    return root / "bids"


@pytest.mark.parametrize("which", ["legacy", "deno"])
def test_the_official_validators_accept_the_export(bids, which):
    codes, datatypes = _errors(_validator(which), bids)
    assert codes == []
    assert "motion" in datatypes


@pytest.mark.parametrize("which", ["legacy", "deno"])
def test_the_validators_see_a_broken_sidecar(bids, tmp_path, which):
    """The check above can fail: without the required SamplingFrequency the validators report errors."""
    broken = shutil.copytree(bids, tmp_path / "broken")
    sidecar = broken / f"{THIGH}_motion.json"
    fields = json.loads(sidecar.read_text())
    del fields["SamplingFrequency"]
    sidecar.write_text(json.dumps(fields))
    codes, _ = _errors(_validator(which), broken)
    assert codes


def _motion(bids: Path, stem: Path) -> pl.DataFrame:
    channels = pl.read_csv(bids / f"{stem}_channels.tsv", separator="\t")
    names = channels.get_column("name").to_list()
    return pl.read_csv(
        bids / f"{stem}_motion.tsv",
        separator="\t",
        has_header=False,
        new_columns=names,
        null_values="n/a",
        schema_overrides={"latency": pl.String},
    )


def test_motion_holds_the_samples_with_lost_ones_as_na(bids):
    channels = pl.read_csv(bids / f"{THIGH}_channels.tsv", separator="\t")
    assert channels.columns[:5] == ["name", "component", "type", "tracked_point", "units"]
    assert channels.select("type", "units").unique(maintain_order=True).rows() == [
        ("LATENCY", "s"),
        ("ACCEL", "m/s^2"),
        ("GYRO", "rad/s"),
        ("MAGN", "uT"),
        ("ORNT", "n/a"),
    ]
    motion = _motion(bids, THIGH)
    assert motion.height == N  # 296 samples and the 4 lost ones
    lost = motion.slice(GAP[0], GAP[1] - GAP[0])
    assert all(lost.get_column(c).null_count() == lost.height for c in motion.columns)
    stored = read_table(bids.parent / "ds", cols.SAMPLES, subject="001", session="s1", sensor="T1")
    stored = stored.sort(cols.TIME).collect()
    measured = motion.filter(pl.col("acc_x").is_not_null())
    assert np.array_equal(
        measured.select("acc_x", "gyr_z", "mag_y").to_numpy(),
        stored.select(cols.ACC_X, cols.GYR_Z, cols.MAG_Y).to_numpy(),
    )
    latency_us = stored.get_column(cols.TIME).dt.epoch("us") - stored.get_column(cols.TIME).dt.epoch("us")[0]
    assert measured.get_column("latency").to_list() == [f"{us / 1e6:.6f}" for us in latency_us]
    time_us = stored.get_column(cols.TIME).dt.epoch("us").to_numpy()
    quats = measured.select("quat_w", "quat_x", "quat_y", "quat_z").to_numpy()
    assert np.array_equal(quats, spin(time_us, datetime_to_us(T0)))


def test_sensors_without_magnetometer_have_no_magn_channels_and_scans_give_onsets(bids):
    shank = S1 / "motion" / "sub-001_ses-s1_task-seatedkneeextension_tracksys-shankright"
    types = pl.read_csv(bids / f"{shank}_channels.tsv", separator="\t").get_column("type").to_list()
    assert "MAGN" not in types and len(types) == 1 + 3 + 3 + 4
    assert _motion(bids, shank).width == len(types)
    sidecar = json.loads((bids / f"{shank}_motion.json").read_text())
    assert sidecar["SamplingFrequency"] == 100.0 and sidecar["MotionChannelCount"] == len(types)
    assert (
        sidecar["TaskName"] == "seated-knee-extension"
        and sidecar["TrackingSystemName"] == "generic sensor S1"
    )
    scans = pl.read_csv(bids / S1 / "sub-001_ses-s1_scans.tsv", separator="\t")
    assert scans.rows() == [
        (f"motion/{THIGH.name}_motion.tsv", "2026-05-04T08:30:00.000000"),
        (f"motion/{shank.name}_motion.tsv", "2026-05-04T08:30:00.003000"),
    ]


def test_ids_become_labels_and_the_mapping_is_written(bids):
    participants = pl.read_csv(bids / "participants.tsv", separator="\t", infer_schema=False)
    assert participants.rows() == [("sub-001", "001"), ("sub-p1", "p_1")]
    sessions = pl.read_csv(bids / "sub-001" / "sub-001_sessions.tsv", separator="\t", infer_schema=False)
    assert sessions.select("session_id", "imurehab_session", "exercise").rows() == [
        ("ses-s2", "s-2", "n/a"),
        ("ses-s1", "s1", "seated-knee-extension"),
    ]
    assert (bids / "sub-001" / "ses-s2" / "motion").is_dir()
    names = {p.name for p in (bids / "sub-001" / "ses-s2" / "motion").iterdir()}
    assert "sub-001_ses-s2_task-unspecified_tracksys-thighright_motion.tsv" in names
    description = json.loads((bids / "dataset_description.json").read_text())
    assert description["BIDSVersion"] == "1.9.0" and description["DatasetType"] == "raw"


def test_one_subject_keeps_the_labels_of_the_whole_dataset(bids, tmp_path):
    result = export_bids(bids.parent / "ds", tmp_path / "one", subject="p_1")
    assert result.sessions == (("p_1", "s1"),)
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [
        "README",
        "dataset_description.json",
        "participants.json",
        "participants.tsv",
        "sub-p1",
    ]


@DETERMINISTIC
@given(st.lists(identifiers, max_size=12))
def test_labels_are_distinct_alphanumeric_and_independent_of_order(ids):
    labels = bids_labels(ids)
    assert set(labels) == set(ids)
    assert all(label.isalnum() and label.isascii() for label in labels.values())
    assert len({label.lower() for label in labels.values()}) == len(labels)
    assert bids_labels(reversed(ids)) == labels
