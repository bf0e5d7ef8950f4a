import importlib.util
import re
from pathlib import Path

import polars as pl
import pytest

from imurehab.report import Section, html_page, html_table, write_comparison
from imurehab.training import LoadMetrics, compare_athletes, update_load


def coach_data():
    path = Path(__file__).resolve().parents[1] / "training" / "coach_data.py"
    spec = importlib.util.spec_from_file_location("coach_data_for_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    data = coach_data()
    root = tmp_path_factory.mktemp("team")
    data.write_team(root, athletes=("A1", "A2"), weeks=5, per_week=1)
    update_load(root, metrics=LoadMetrics(data.playerload_epochs, "test-1"))
    return compare_athletes(root, ["A1", "A2"])


def test_png_chart_is_written(comparison, tmp_path):
    path = write_comparison(comparison, tmp_path / "load.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_html_page_is_self_contained(comparison, tmp_path):
    text = write_comparison(comparison, tmp_path / "load.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    assert not re.search(r"https?://", text)
    assert not re.search(r"<(script|link)\b", text)
    assert "not a validated injury-risk predictor" in text
    assert "danger" not in text.lower()
    for athlete in ("A1", "A2"):
        assert f"<th>{athlete}</th>" in text


def test_other_suffixes_are_refused(comparison, tmp_path):
    with pytest.raises(ValueError, match=r"\.png or \.html"):
        write_comparison(comparison, tmp_path / "load.pdf")


def test_tables_escape_text_and_blank_missing_values():
    df = pl.DataFrame(
        {"who": ["<b>x</b>"], "v": [float("nan")], "w": [None]}, schema_overrides={"w": pl.Float64}
    )
    table = html_table(df)
    assert "&lt;b&gt;" in table and "<b>" not in table and "nan" not in table.lower()
    page = html_page("T & U", [Section("S", paragraphs=("a < b",), note="n")])
    assert "<title>T &amp; U</title>" in page and "a &lt; b" in page
