import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imurehab.cli import app

runner = CliRunner()


def coach_data():
    path = Path(__file__).resolve().parents[1] / "training" / "coach_data.py"
    spec = importlib.util.spec_from_file_location("coach_data_for_cli", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def strict_json(text):
    def refuse(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    coach_data().write_team(root, athletes=("A1", "A2"), weeks=2, per_week=1)
    return root


def test_load_then_nothing_to_do(team):
    first = runner.invoke(app, ["load", str(team), "--json"])
    assert first.exit_code == 0, first.output
    report = strict_json(first.stdout)
    assert report["computed"] == 4 and report["failed"] == 0 and report["metrics_version"]
    assert {s["status"] for s in report["sessions"]} == {"computed"}
    second = strict_json(runner.invoke(app, ["load", str(team), "--json"]).stdout)
    assert second["computed"] == 0 and second["skipped"] == 4


def test_compare_json_is_strict_and_the_chart_is_written(team, tmp_path):
    assert runner.invoke(app, ["load", str(team)]).exit_code == 0
    out = tmp_path / "cmp.png"
    res = runner.invoke(app, ["compare", str(team), "--athletes", "A2,A1", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = strict_json(res.stdout)
    assert data["athletes"] == ["A2", "A1"] and data["metric"] == "playerload"
    assert [r["acwr_rolling"] for r in data["acwr_latest"]] == [None, None]  # two weeks: no ratio yet
    assert len(data["weekly"]) == 4 and "injury-risk" in data["acwr_caveat"]
    assert out.read_bytes().startswith(b"\x89PNG")


def test_compare_table_output(team):
    assert runner.invoke(app, ["load", str(team)]).exit_code == 0
    res = runner.invoke(app, ["compare", str(team), "--athletes", "A1", "--since", "2025-03-10"])
    assert res.exit_code == 0, res.output
    assert "Weekly load" in res.output and "2025-03-10" in res.output and "2025-03-03" not in res.output
    assert "not a validated injury-risk predictor" in " ".join(res.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--athletes", "A1,Z9"], "no load for Z9"),
        (["--athletes", "A1", "--metric", "speed"], "unknown metric 'speed'"),
        (["--athletes", "A1", "--since", "March"], "not a date"),
        (["--athletes", "A1", "--out", "x.pdf"], ".png or .html"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(team, args, message):
    assert runner.invoke(app, ["load", str(team)]).exit_code == 0
    res = runner.invoke(app, ["compare", str(team), *args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert res.output.strip().startswith("error:")


def test_no_load_table_is_a_failure_not_a_traceback(tmp_path):
    coach_data().write_session(tmp_path, "A1", "s1", coach_data().T0, duration_s=60.0)
    res = runner.invoke(app, ["compare", str(tmp_path), "--athletes", "A1"])
    assert res.exit_code == 1 and "no table 'load'" in res.output


def test_partial_failure_exits_3(team, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(team, root)
    shutil.rmtree(root / "samples" / "subject=A2" / "session=w1s0")
    shutil.rmtree(root / "load", ignore_errors=True)
    res = runner.invoke(app, ["load", str(root), "--json"])
    assert res.exit_code == 3
    report = strict_json(res.stdout)
    assert report["failed"] == 1 and report["computed"] == 3
