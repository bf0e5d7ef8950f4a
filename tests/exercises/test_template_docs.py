"""docs/exercise-templates.md cannot rot: its Python runs, its template loads, its error is real."""

import re
from pathlib import Path

import pytest

from imurehab.errors import TemplateError
from imurehab.exercises import list_templates, load_template

DOC = Path(__file__).resolve().parents[2] / "docs" / "exercise-templates.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_python_examples_run(capsys):
    namespace: dict = {}
    for block in blocks("python"):
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "compensation:trunk-shift" in out and "rom_short: reps 5, 6" in out


def test_the_template_to_copy_loads(tmp_path):
    (toml,) = blocks("toml")
    path = tmp_path / "wall-slide.toml"
    path.write_text(toml, encoding="utf-8")
    t = load_template(path)
    assert t.name == "wall-slide" and t.compensations[0].name == "trunk-lean"


def test_the_documented_error_is_what_users_see(tmp_path):
    (toml,) = blocks("toml")
    folder = tmp_path / "my-templates"
    folder.mkdir()
    path = folder / "wall-slide.toml"
    path.write_text(
        toml.replace("min_rep_s = 3.0", "min_rep_s = 8").replace("max_rep_s = 12.0", "max_rep_s = 6")
    )
    with pytest.raises(TemplateError) as info:
        load_template(path)
    documented = "my-templates/wall-slide.toml, key 'tempo.min_rep_s': must be less than max_rep_s (8 >= 6)"
    assert str(info.value).endswith(documented)


def test_every_built_in_is_in_the_table():
    text = DOC.read_text(encoding="utf-8")
    for name in list_templates():
        t = load_template(name)
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"{t.target_deg:g}° ± {t.tolerance_deg:g}°" in row
        assert t.pose in row
