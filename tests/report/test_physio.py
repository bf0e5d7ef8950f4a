"""The physio report's content, read from the page's HTML (no browser; see test_physio_chromium.py)."""

from __future__ import annotations

import html
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from imurehab.analysis import MEASUREMENT_MDC_SOURCE
from imurehab.cli.report import register
from imurehab.errors import DatasetNotFoundError
from imurehab.exercises import load_template
from imurehab.pipeline.provenance import CALIBRATION_METADATA_KEY, NOTES_METADATA_KEY
from imurehab.report import physio_report
from imurehab.report.physio_figures import envelope
from imurehab.report.physio_tables import flag_reason
from imurehab.store import read_table, write_table


def _dataset_module():
    path = Path(__file__).with_name("test_physio_dataset.py")
    spec = importlib.util.spec_from_file_location("physio_test_dataset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ds = _dataset_module()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehab")
    return root, ds.write_dataset(root)


@pytest.fixture(scope="module")
def report(dataset):
    root, _ = dataset
    return physio_report(root, ds.SUBJECT)


def test_the_latest_session_is_reported_with_every_section(report):
    assert report.session.session == "s3"
    page = report.html
    for anchor in (
        "about",
        "summary-knee-right",
        "angles-knee-right",
        "rom-knee-right",
        "progress-knee-right",
    ):
        assert f'<section id="{anchor}">' in page
    assert '<section id="quality">' in page
    assert page.count("<svg ") == 3  # angles, ROM per rep, progress
    assert "Units and conventions: angles in degrees [deg]" in page


def test_the_page_needs_nothing_from_outside(report):
    page = report.html
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(script|link|iframe|object|embed)\b", page)
    assert not re.search(r"@import|url\((?!#)", page)
    links = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert links and all(v.startswith(("#", "data:")) for v in links)
    ids = re.findall(r'\bid="([^"]*)"', page)
    assert len(ids) == len(set(ids))  # figures' ids do not collide
    assert all(ref[1:] in ids for ref in links if ref.startswith("#"))


def test_the_repetition_table_holds_the_dataset_numbers(dataset, report):
    root, _ = dataset
    reps = read_table(root, "reps", subject=ds.SUBJECT, session="s3").sort("rep").collect()
    rows = ds.table(report.html, "Repetitions")
    assert [r["rep"] for r in rows] == [str(r) for r in reps.get_column("rep")]
    assert [r["ROM [deg]"] for r in rows] == [f"{v:.1f}" for v in reps.get_column("rom_deg")]
    assert [r["min [deg]"] for r in rows] == [f"{v:.1f}" for v in reps.get_column("min_deg")]
    assert {r["± u [deg]"] for r in rows} == {"0.5"}  # ROM_UNCERTAINTY_DEG["knee"]
    # seated knee extension: target 0° flexion, so the gap is the smallest angle reached
    assert [r["short of target [deg]"] for r in rows] == [f"{v:.1f}" for v in reps.get_column("min_deg")]
    assert [r["flags"] for r in rows] == [", ".join(f) or "–" for f in reps.get_column("flags").to_list()]


def test_key_figures_match_the_processing_summary(dataset, report):
    _, results = dataset
    (joint,) = results["s3"].joints
    summary = joint.summary
    rows = {r["what"]: r for r in ds.table(report.html, "Key figures")}
    mean = rows["mean ROM [deg]"]["value"]
    assert mean.startswith(f"{summary.rom_mean_deg:.1f} ± {summary.rom_mean_uncertainty_deg:.1f} (SD ")
    change = rows["change of mean ROM since the previous session [deg]"]
    c = summary.change
    verdict = "exceeds" if c.exceeds_mdc else "does not exceed"
    assert change["value"] == f"{c.change_deg:+.1f}: {verdict} the MDC95 of {c.mdc_deg:.1f}"
    assert change["basis"] == MEASUREMENT_MDC_SOURCE
    assert rows["target angle [deg]"]["value"] == "0 (tolerance 10)"
    assert "AAOS" in rows["normal extension [deg]"]["basis"]


def test_flags_come_with_the_rule_that_raised_them(report):
    flagged = report.sets[0].summary.flags
    assert flagged  # the dataset has a short repetition in the last session
    rows = ds.table(report.html, "Flags")
    assert [r["flag"] for r in rows] == list(flagged)
    reasons = {r["flag"]: r["reason"] for r in rows}
    assert reasons["rom_short"] == "stopped more than 10° short of the target angle 0°"


def test_flag_reasons_state_the_template_numbers():
    t = load_template("seated-knee-extension")
    assert flag_reason("too_slow", t) == "the repetition took more than 10 s (template maximum)"
    assert flag_reason("compensation:trunk-lean", t) == (
        "lumbar flexion moved more than 10° from its value at the start of the repetition"
    )
    assert "not available" in flag_reason("rom_short", None)
    assert "does not define" in flag_reason("compensation:unknown", t)


def test_progress_lists_each_session_against_the_previous_one(dataset, report):
    _, results = dataset
    rows = ds.table(report.html, "Mean ROM per session")
    assert [r["session"] for r in rows] == list(ds.SESSIONS)
    assert [r["date (UTC)"] for r in rows] == ["2025-03-03", "2025-03-10", "2025-03-17"]
    for row, result in zip(rows, results.values(), strict=True):
        s = result.joints[0].summary
        assert row["mean ROM [deg]"] == f"{s.rom_mean_deg:.1f}"
        if s.change is None:
            assert row["change [deg]"] == row["MDC95 [deg]"] == row["change > MDC95"] == "–"
        else:
            assert row["change [deg]"] == f"{s.change.change_deg:+.1f}"
            assert row["MDC95 [deg]"] == f"{s.change.mdc_deg:.1f}"
            assert row["change > MDC95"] == ("yes" if s.change.exceeds_mdc else "no")
    assert "MDC used: " + MEASUREMENT_MDC_SOURCE in html.unescape(report.html)


def test_a_published_mdc_is_used_and_cited(dataset):
    root, _ = dataset
    report = physio_report(root, ds.SUBJECT, mdc_deg=1.0, mdc_source="Test-retest study X (2020)")
    rows = ds.table(report.html, "Mean ROM per session")
    assert [r["MDC95 [deg]"] for r in rows] == ["–", "1.0", "1.0"]
    assert [r["change > MDC95"] for r in rows] == ["–", "yes", "yes"]
    assert "MDC used: Test-retest study X (2020)" in report.html


def test_an_earlier_session_shows_progress_up_to_it(dataset):
    root, _ = dataset
    report = physio_report(root, ds.SUBJECT, session="s1")
    assert [s.session for s in report.history] == ["s1"]
    assert "nothing to compare with yet" in report.html
    assert report.html.count("<svg ") == 2  # no progress chart with one session


def test_data_quality_shows_the_gap_the_flags_and_the_clock(dataset, report):
    _, results = dataset
    sensors = {r["sensor"]: r for r in ds.table(report.html, "Sensors")}
    lost = ds.GAP.stop - ds.GAP.start
    assert (
        sensors["S2"] | {"lost": str(lost), "gaps": "1", "filled in": "5", "clock ± [ms]": "0.80"}
        == sensors["S2"]
    )
    assert sensors["S2"]["longest gap [s]"] == f"{(lost + 1) / 100:.2f}"  # 100 Hz
    assert (
        sensors["S1"] | {"lost": "0", "gaps": "0", "longest gap [s]": "–", "clock ± [ms]": "not recorded"}
        == sensors["S1"]
    )
    (calibration,) = ds.table(report.html, "Joint calibration")
    (joint,) = results["s3"].joints
    assert calibration["off-axis RMS [deg]"] == f"{joint.angles.off_axis_rms_deg:.1f}"
    assert calibration["method"] == joint.calibration()["method"]  # stored by imurehab process


def test_calibration_stored_with_the_results_is_shown(tmp_path):
    results = ds.write_dataset(tmp_path)
    (joint,) = results["s3"].joints
    rows = read_table(tmp_path, "joint_angles", subject=ds.SUBJECT, session="s3").collect()
    meta = {
        CALIBRATION_METADATA_KEY: [{"joint": joint.joint, "side": joint.side, **joint.calibration()}],
        NOTES_METADATA_KEY: ["knee right: a processing note"],
    }
    write_table(
        rows.drop("subject", "session"),
        tmp_path,
        "joint_angles",
        subject=ds.SUBJECT,
        session="s3",
        overwrite=True,
        metadata=meta,
    )
    report = physio_report(tmp_path, ds.SUBJECT)
    (calibration,) = ds.table(report.html, "Joint calibration")
    assert calibration["method"] == joint.calibration()["method"]
    assert calibration["heading"] == joint.calibration()["heading"]
    assert "<p>knee right: a processing note</p>" in report.html
    assert "are not stored with these results" not in report.html


def test_the_page_is_the_same_every_time(dataset, report):
    root, _ = dataset
    assert physio_report(root, ds.SUBJECT).html == report.html


def test_unknown_subjects_sessions_and_unprocessed_sessions_are_clear_errors(dataset, tmp_path):
    root, _ = dataset
    with pytest.raises(DatasetNotFoundError, match=r"no subject 'nobody'; subjects: p01"):
        physio_report(root, "nobody")
    with pytest.raises(DatasetNotFoundError, match=r"no session 's9'; sessions: s1, s2, s3"):
        physio_report(root, ds.SUBJECT, session="s9")
    ds.write_dataset(tmp_path, process=False)
    with pytest.raises(DatasetNotFoundError, match=r"no session of 'p01' has results: run `imurehab process"):
        physio_report(tmp_path, ds.SUBJECT)
    with pytest.raises(DatasetNotFoundError, match=r"session 's2' of 'p01' has no results"):
        physio_report(tmp_path, ds.SUBJECT, session="s2")
    with pytest.raises(DatasetNotFoundError):
        physio_report(tmp_path / "missing", ds.SUBJECT)
    with pytest.raises(ValueError, match=r"\.html page"):
        physio_report(root, ds.SUBJECT, out=tmp_path / "r.pdf")


def test_the_command_writes_the_page_and_prints_the_figures(dataset, tmp_path):
    root, _ = dataset
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command, so typer keeps "report" as a subcommand
    runner = CliRunner()
    out = tmp_path / "page.html"
    res = runner.invoke(
        app, ["report", str(root), "--subject", "p01", "--session", "s2", "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    assert printed["out"] == str(out) and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert printed["session"] == "s2" and [len(p) for p in printed["progress"]] == [2]
    assert printed["sets"][0]["summary"]["n_reps"] == 5
    res = runner.invoke(app, ["report", str(root), "--subject", "nobody"])
    assert res.exit_code == 1 and "no subject 'nobody'" in res.stderr
    res = runner.invoke(app, ["report", str(root), "--subject", "p01", "--out", "r.pdf"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["report", str(root), "--subject", "p01", "--mdc-deg", "3"])
    assert res.exit_code == 2 and "together" in res.stderr


@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=300),
    st.integers(2, 50),
)
def test_the_envelope_keeps_every_extreme_in_fewer_points(values, max_points):
    y = np.asarray(values)
    t = np.arange(len(y), dtype=np.float64)
    te, ye = envelope(t, y, max_points)
    assert len(te) == len(ye) <= max_points
    assert ye.max() == y.max() and ye.min() == y.min()
    assert np.all(np.diff(te) >= 0) and te[0] >= t[0] and te[-1] <= t[-1]
