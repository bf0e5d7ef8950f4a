"""docs/session-profiles.md cannot rot: its commands and its Python run in order, as described."""

import re
import shlex
import shutil
import tomllib
from pathlib import Path

import typer
from typer.testing import CliRunner

from imurehab.cli.session import register
from imurehab.session import load_profile

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "session-profiles.md"
EXAMPLE = REPO / "examples" / "profiles" / "knee-rehab.toml"


def test_the_documented_profile_is_the_example_without_its_comments():
    shown = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S).group(1)
    assert tomllib.loads(shown) == tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert load_profile(EXAMPLE).subject == "P017"


def test_the_commands_and_the_python_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command, so typer keeps "session" as a group
    register(app)
    runner = CliRunner()
    namespace: dict = {}
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```(python|console)\n(.*?)```", text, flags=re.S)
    assert [kind for kind, _ in blocks] == ["console", "python"]
    for kind, body in blocks:
        if kind == "python":
            exec(compile(body, str(DOC), "exec"), namespace)
            continue
        for line in body.splitlines():
            args = shlex.split(line.removeprefix("$ "))
            assert args[:2] == ["imurehab", "session"]
            res = runner.invoke(app, args[1:])
            assert res.exit_code == 0, (line, res.output)
    reports = list((tmp_path / "clinic-data" / "reports").glob("P017-*.html"))
    assert len(reports) == 1 and "ROM" in reports[0].read_text(encoding="utf-8")
    result = namespace["result"]
    assert result.complete and result.missing == [] and result.processed.reps >= 3
