import json

import numpy as np
import pytest
from typer.testing import CliRunner

from imurehab import read_table
from imurehab.cli import app
from imurehab.simulate.dataset import simulate_dataset

runner = CliRunner()
ARGS = ["--movement", "walking", "--subjects", "ath01,ath02", "--sessions", "2", "--every-days", "4",
        "--minutes", "0.2", "--sensor", "S1=pelvis", "--start", "2025-03-03", "--json"]  # fmt: skip


def test_simulate_writes_every_subject_and_session_with_dates_and_placements(tmp_path):
    result = runner.invoke(app, ["simulate", str(tmp_path), *ARGS])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    got = [(s["subject"], s["session"], s["start_time"][:10]) for s in report["sessions"]]
    assert got == [
        ("ath01", "walking-01", "2025-03-03"),
        ("ath01", "walking-02", "2025-03-07"),
        ("ath02", "walking-01", "2025-03-03"),
        ("ath02", "walking-02", "2025-03-07"),
    ]
    sessions = read_table(tmp_path, "sessions").collect()
    assert sorted(set(zip(sessions["subject"], sessions["session"], strict=True))) == sorted(
        (s, x) for s, x, _ in got
    )
    samples = read_table(tmp_path, "samples").collect()
    assert set(samples["sensor"]) == {"S1"} and samples["mag_x"].null_count() == len(samples)  # 6D


def test_the_same_options_write_the_same_samples_and_sessions_differ(tmp_path):
    a = simulate_dataset(tmp_path / "a", "walking", subjects=["x"], sessions=2, duration_s=12.0)
    b = simulate_dataset(tmp_path / "b", "walking", subjects=["x"], sessions=2, duration_s=12.0)
    assert a == b
    first, second = (
        read_table(tmp_path / name, "samples", session="walking-01").collect()["acc_x"].to_numpy()
        for name in ("a", "b")
    )
    assert np.array_equal(first, second)
    other = read_table(tmp_path / "a", "samples", session="walking-02").collect()["acc_x"].to_numpy()
    assert not np.array_equal(first[: len(other)], other[: len(first)])  # sessions get their own seeds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--movement", "juggling"], "unknown movement"),
        (["--movement", "walking", "--race-scale", "0.1"], "hyrox-race"),
        (["--start", "03/03/2025"], "YYYY-MM-DD"),
        (["--sensor", "S1"], "S1"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, args, message):
    result = runner.invoke(app, ["simulate", str(tmp_path), "--minutes", "0.1", *args])
    assert result.exit_code in (1, 2) and message in result.output, result.output


def test_an_existing_session_needs_overwrite(tmp_path):
    args = ["simulate", str(tmp_path), "--movement", "walking", "--minutes", "0.2"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already holds" in again.output, again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
