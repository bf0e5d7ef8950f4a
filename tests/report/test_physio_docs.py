"""docs/report.md cannot rot: its Python and its commands run in order, with the numbers it describes."""

import json
import re
import shlex
from pathlib import Path

import typer
from typer.testing import CliRunner

from imurehab.cli.report import register

DOC = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def test_the_example_runs_and_the_page_is_as_described(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command, so typer keeps "report" as a subcommand
    runner = CliRunner()
    namespace: dict = {}
    outputs = []
    text = DOC.read_text(encoding="utf-8")
    for kind, body in re.findall(r"```(python|console)\n(.*?)```", text, flags=re.S):
        if kind == "python":
            exec(compile(body, str(DOC), "exec"), namespace)
            continue
        for line in body.splitlines():
            args = shlex.split(line.removeprefix("$ "))
            assert args[:2] == ["imurehab", "report"]
            res = runner.invoke(app, args[1:])
            assert res.exit_code == 0, (line, res.output)
            outputs.append(res.stdout)
    assert (tmp_path / "p01-week3.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    week2 = json.loads(outputs[-1])
    change = week2["sets"][0]["summary"]["change"]
    assert change["mdc_deg"] == 8 and change["mdc_source"] == "Test-retest study (example)"
    # the description of the screenshot
    summary = namespace["report"].sets[0].summary
    assert f"mean ROM {summary.rom_mean_deg:.1f} ± {summary.rom_mean_uncertainty_deg:.1f}°" in text
    assert f"best {summary.rom_best_deg:.1f} ± 0.5°" in text
    assert f"change of {summary.change.change_deg:+.1f}° since the previous week, which does not" in text
    assert not summary.change.exceeds_mdc and f"MDC95 of {summary.change.mdc_deg:.1f}°" in text
    assert summary.flags == {"rom_short": (2,)}
    assert f"repetition 2 stopped {namespace['report'].sets[0].reps.get_column('min_deg')[1]:.1f}°" in text
    assert "week3" in capsys.readouterr().out
