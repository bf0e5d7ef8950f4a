"""docs/coach.md cannot rot: its Python and its commands run in order, with the outputs it describes."""

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imurehab.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "coach.md"


@pytest.mark.slow
def test_the_tour_runs_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    namespace: dict = {}
    outputs = []
    for kind, body in re.findall(
        r"```(python|console)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S
    ):
        if kind == "python":
            exec(compile(body, str(DOC), "exec"), namespace)
            continue
        for line in body.splitlines():
            args = shlex.split(line.removeprefix("$ "))
            assert args[0] == "imurehab"
            res = runner.invoke(app, args[1:])
            assert res.exit_code == 0, (line, res.output)
            outputs.append((line, res.stdout))
    second = json.loads(outputs[1][1])
    assert second["computed"] == 0 and second["skipped"] == 18
    assert (tmp_path / "team-load.html").stat().st_size > 0
    assert (tmp_path / "team-load.png").read_bytes().startswith(b"\x89PNG")
    compared = json.loads(outputs[-1][1])
    assert [r["acwr_rolling"] is not None for r in compared["acwr_latest"]] == [True, True]
    assert "0 computed, 18 unchanged" in capsys.readouterr().out
