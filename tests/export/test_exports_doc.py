"""docs/exports.md cannot rot: its Python and its commands run in order, printing what it shows."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.export.export_dataset import export_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "exports.md"


@pytest.mark.slow
def test_the_examples_run_in_order(tmp_path, monkeypatch):
    pytest.importorskip(
        "opensim", reason="the doc reads a .sto with OpenSim (PyPI `opensim`, the test extra)"
    )
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    app = export_app()
    namespace: dict = {}
    blocks = re.findall(r"```(python|console)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert [kind for kind, _ in blocks] == ["python", "console", "python", "python"]
    for kind, body in blocks:
        if kind == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(body, str(DOC), "exec"), namespace)
            shown = [line.removeprefix("# ") for line in body.splitlines() if line.startswith("# ")]
            assert printed.getvalue().splitlines() == shown
            continue
        for line in body.splitlines():
            args = shlex.split(line.removeprefix("$ "))
            assert args[:2] == ["imurehab", "export"]
            res = runner.invoke(app, args[1:])
            assert res.exit_code == 0, (line, res.output)
    assert (tmp_path / "data-bids" / "dataset_description.json").is_file()
    assert '"sessions": [{"subject": "001", "session": "knee-01"}]' in res.stdout
