import json
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from imurehab import SensorInfo, SensorSamples
from imurehab.cli import app
from imurehab.store import read_recording
from imurehab.store.importers import write_generic_sensor_file
from imurehab.types import datetime_to_us

runner = CliRunner()
T0 = datetime(2026, 5, 4, 8, 30, tzinfo=UTC)


def sensor_file(tmp_path, sid, fmt="csv", n=300):
    rng = np.random.default_rng(abs(hash(sid)) % 1000)
    s = SensorSamples(
        SensorInfo(sid, "generic", 100.0),
        datetime_to_us(T0) + np.arange(n) * 10_000,
        rng.normal([0, 0, 9.81], 0.1, (n, 3)),
        rng.normal(0, 0.1, (n, 3)),
    )
    path = tmp_path / f"{sid}.{fmt}"
    write_generic_sensor_file(s, path)
    return s, path


def test_import_then_info(tmp_path):
    a, pa_ = sensor_file(tmp_path, "A")
    b, pb = sensor_file(tmp_path, "B", "parquet")
    out = tmp_path / "ds"
    args = ["import", "--sensor", f"A={pa_}", "--sensor", f"B={pb}", "--subject", "001", "--session", "s1"]
    args += ["--placement", "A=thigh_left", "--placement", "B=shank_left", "--exercise", "squat"]
    res = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert [s["samples"] for s in report["sensors"]] == [300, 300]
    rec = read_recording(out, subject="001", session="s1")
    assert np.allclose(rec["A"].acc, a.acc) and np.array_equal(rec["B"].time_us, b.time_us)
    assert rec.session.placements == {"A": "thigh_left", "B": "shank_left"}
    assert rec.session.exercise == "squat"

    res = runner.invoke(app, ["info", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["subjects"] == 1 and info["sessions"] == 1 and info["sensors"] == 2
    assert info["tables"]["samples"] == 600
    assert info["session_list"][0]["subject"] == "001"
    res = runner.invoke(app, ["info", str(out)])
    assert res.exit_code == 0 and "samples" in res.output

    # The same session again without --overwrite: refused, one line, exit 1, nothing lost.
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 1
    assert "error:" in res.output and "Traceback" not in res.output
    assert pl.scan_parquet(f"{out}/samples/**/*.parquet").select(pl.len()).collect().item() == 600


def test_import_in_g_and_deg_s(tmp_path):
    n = 200
    path = tmp_path / "g.csv"
    t = np.arange(n) / 100.0
    rows = ["time,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"] + [f"{x},0,0,1,0,0,90" for x in t]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "ds"
    base = ["import", "--sensor", f"S={path}", "--subject", "p", "--session", "x", "--out", str(out)]
    res = runner.invoke(app, base)
    assert res.exit_code == 1 and "start" in res.output.lower()  # relative time needs --start-time
    res = runner.invoke(app, [*base, "--start-time", "2026-01-01T10:00:00+00:00"])
    assert res.exit_code == 1 and "in g" in res.output
    res = runner.invoke(
        app, [*base, "--start-time", "2026-01-01T10:00:00+00:00", "--units", "acc=g,gyr=deg/s"]
    )
    assert res.exit_code == 0, res.output
    s = read_recording(out, subject="p", session="x")["S"]
    assert s.acc[0, 2] == pytest.approx(9.80665) and s.gyr[0, 2] == pytest.approx(np.pi / 2)


@pytest.mark.parametrize(
    "extra",
    [
        ["--sensor", "nofile"],
        ["--sensor", "A=x.csv", "--placement", "A"],
        ["--sensor", "A=x.csv", "--start-time", "yesterday"],
        ["--sensor", "A=x.csv", "--start-time", "2026-01-01T10:00:00"],
    ],
)
def test_usage_errors_exit_2(tmp_path, extra):
    res = runner.invoke(app, ["import", "--subject", "p", "--session", "x", "--out", str(tmp_path), *extra])
    assert res.exit_code == 2


def test_missing_file_and_bad_dataset(tmp_path):
    res = runner.invoke(
        app,
        ["import", "--sensor", "A=missing.csv", "--subject", "p", "--session", "x", "--out", str(tmp_path)],
    )
    assert res.exit_code == 1 and "missing.csv" in res.output
    res = runner.invoke(app, ["info", str(tmp_path / "nothing")])
    assert res.exit_code == 1 and "error:" in res.output


def test_process_is_idempotent_and_reports(tmp_path):
    from imurehab import simulate_session, write_recording

    out = tmp_path / "ds"
    for seed, sess in ((1, "a"), (2, "b")):
        write_recording(
            simulate_session("seated-knee-extension", reps=3, seed=seed, session_id=sess).recording, out
        )
    res = runner.invoke(app, ["process", str(out), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert [r["status"] for r in report["sessions"]] == ["processed", "processed"]
    assert all(r["reps"] == 3 for r in report["sessions"])
    res = runner.invoke(app, ["process", str(out), "--json", "--session", "b"])
    assert json.loads(res.stdout)["sessions"][0]["status"].startswith("skipped")
    res = runner.invoke(app, ["process", str(out), "--session", "nope"])
    assert res.exit_code == 1


def test_process_with_an_exercise_by_name_or_by_template_file(tmp_path):
    from imurehab import simulate_session, write_recording
    from imurehab.exercises import list_templates

    out = tmp_path / "ds"
    write_recording(simulate_session("squat", reps=3, seed=4, with_mag=False, session_id="a").recording, out)
    res = runner.invoke(app, ["process", str(out), "--exercise", "sqaut"])
    assert res.exit_code == 2 and "unknown exercise 'sqaut'" in res.output
    # a physiotherapist's own template: the built-in squat with a deeper target
    from importlib import resources

    text = (resources.files("imurehab.exercises") / "templates" / "squat.toml").read_text()
    mine = tmp_path / "deep-squat.toml"
    mine.write_text(text.replace('name = "squat"', 'name = "deep-squat"'))
    assert "deep-squat" not in list_templates()
    res = runner.invoke(app, ["process", str(out), "--exercise", str(mine), "--json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)["sessions"]
    assert row["joints"] == ["knee right"] and row["reps"] == 3
    (summary,) = row["summaries"]
    assert summary["exercise"] == "deep-squat" and summary["n_reps"] == 3
    (calibration,) = row["calibration"]
    assert calibration["method"].startswith("seel2014") and calibration["static_s"] >= 1.0
    assert all(u > 0 for u in summary["rom_uncertainty_deg"])
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('joint = "knee"', 'joint = "kneee"'))
    res = runner.invoke(app, ["process", str(out), "--exercise", str(bad), "--overwrite"])
    flat = res.output.replace("\n", "")  # the terminal may wrap a long path
    assert res.exit_code != 0 and "joint" in flat and "bad.toml" in flat


def test_process_compares_each_set_with_the_previous_session(tmp_path):
    from datetime import timedelta

    from imurehab import simulate_session, write_recording

    out = tmp_path / "ds"
    for day, (seed, sess) in enumerate(((1, "week1"), (2, "week2"))):
        sim = simulate_session(
            "squat",
            reps=4,
            seed=seed,
            with_mag=False,
            session_id=sess,
            start_time=T0 + timedelta(days=7 * day),
        )
        write_recording(sim.recording, out)
    res = runner.invoke(app, ["process", str(out), "--exercise", "squat", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["session"]: r for r in json.loads(res.stdout)["sessions"]}
    (first,) = rows["week1"]["summaries"]
    (second,) = rows["week2"]["summaries"]
    assert first["change"] is None
    change = second["change"]
    assert change["change_deg"] == pytest.approx(second["rom_mean_deg"] - first["rom_mean_deg"])
    assert change["exceeds_mdc"] == (abs(change["change_deg"]) > change["mdc_deg"])
