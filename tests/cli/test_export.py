"""``imurehab export``: each format, filters, JSON report, and one clear line for bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.export.export_dataset import export_app, make_dataset

runner = CliRunner()


APP = export_app()


def _one_line(output: str) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(output.split())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("cli-export") / "ds")


@pytest.mark.parametrize(
    ("fmt", "first_file"),
    [
        ("bids", "sub-p1/ses-s1/motion/sub-p1_ses-s1_task-squat_tracksys-thighleft_motion.tsv"),
        ("opensense", "p_1/s1/orientations.sto"),
        ("csv", "p_1/s1/sessions.csv"),
    ],
)
def test_each_format_reports_what_it_wrote(dataset, tmp_path, fmt, first_file):
    out = tmp_path / fmt
    args = ["export", str(dataset), "--format", fmt, "--out", str(out), "--subject", "p_1", "--json"]
    res = runner.invoke(APP, args)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["format"] == fmt and report["sessions"] == [{"subject": "p_1", "session": "s1"}]
    assert report["files"][0] == first_file
    assert all((out / f).is_file() for f in report["files"])


def test_session_filter_and_progress_run_without_json(dataset, tmp_path):
    res = runner.invoke(
        APP, ["export", str(dataset), "--format", "csv", "--out", str(tmp_path / "o"), "--session", "s1"]
    )
    assert res.exit_code == 0, res.output
    assert "Exported 2 session(s) as csv" in _one_line(res.output)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["001", "p_1"]


def test_an_out_folder_that_is_not_empty_needs_overwrite(dataset, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["export", str(dataset), "--format", "csv", "--out", str(out)]
    res = runner.invoke(APP, args)
    assert res.exit_code == 1
    assert "not empty" in _one_line(res.output) and "Traceback" not in res.output
    res = runner.invoke(APP, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output
    assert (out / "notes.txt").read_text() == "mine" and (out / "001" / "s1" / "samples.csv").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--format", "parquet"], 2, "parquet"),
        (["--format", "csv", "--subject", "nobody"], 1, "no session to export matching subject 'nobody'"),
        (["--format", "csv", "--subject", "bad/id"], 1, "not allowed"),
    ],
)
def test_bad_input_is_one_clear_line(dataset, tmp_path, args, code, message):
    res = runner.invoke(APP, ["export", str(dataset), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == code
    assert message in _one_line(res.output) and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()  # nothing written


def test_an_empty_dataset_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    res = runner.invoke(
        APP, ["export", str(tmp_path / "empty"), "--format", "bids", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 1
    assert _one_line(res.output).startswith("error:") and "Traceback" not in res.output
    assert "no table 'sessions'" in _one_line(res.output)
