import os
import shutil
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from coach_data import T0, playerload_epochs, sensor, write_session, write_team

from imurehab.store import columns as cols
from imurehab.store import read_file_metadata, read_table, write_table
from imurehab.training import LoadMetrics, compute_session_load, update_load
from imurehab.training import update as update_module
from imurehab.training.provenance import LEGACY_SOURCE_FILE, SOURCE_KEY, LoadSource

METRICS = LoadMetrics(playerload_epochs, "test-1")


@pytest.fixture
def team(tmp_path):
    write_team(tmp_path, athletes=("A1", "A2"), weeks=2, per_week=2)
    return tmp_path


def statuses(report):
    return {(o.subject, o.session): (o.status, o.reason) for o in report.outcomes}


def test_second_run_computes_nothing(team):
    first = update_load(team, metrics=METRICS)
    assert first.count("computed") == 8 and first.count("failed") == 0
    assert {r for _, r in statuses(first).values()} == {"new"}
    second = update_load(team, metrics=METRICS)
    assert second.count("skipped") == 8 and second.count("computed") == 0


def test_touching_or_rewriting_one_session_recomputes_only_it(team):
    update_load(team, metrics=METRICS)
    (part,) = (team / "samples" / "subject=A1" / "session=w1s0").glob("*.parquet")
    st = part.stat()
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    report = update_load(team, metrics=METRICS)
    assert [k for k, v in statuses(report).items() if v[0] == "computed"] == [("A1", "w1s0")]
    assert statuses(report)[("A1", "w1s0")] == ("computed", "samples changed")

    write_session(team, "A2", "w0s1", T0 + timedelta(days=3, hours=1), intensity=9.0, seed=5, overwrite=True)
    report = update_load(team, metrics=METRICS)
    assert [k for k, v in statuses(report).items() if v[0] == "computed"] == [("A2", "w0s1")]
    rows = read_table(team, cols.LOAD, subject="A2", session="w0s1", sensor="S1").collect()
    s = sensor("S1", T0 + timedelta(days=3, hours=1), 180.0, 9.0, 5)
    expected = playerload_epochs(s.acc, s.time_us, rate_hz=50.0, sensor="S1")
    np.testing.assert_allclose(
        rows.get_column(cols.PLAYERLOAD).to_numpy(), expected[cols.PLAYERLOAD].to_numpy()
    )


def test_new_definitions_or_epochs_recompute_everything(team):
    update_load(team, metrics=METRICS)
    report = update_load(team, metrics=LoadMetrics(playerload_epochs, "test-2"))
    assert report.count("computed") == 8
    assert {r for _, r in statuses(report).values()} == {"metrics version changed"}
    report = update_load(team, metrics=LoadMetrics(playerload_epochs, "test-2"), epoch_s=30.0)
    assert {r for _, r in statuses(report).values()} == {"epoch length changed"}
    assert read_table(team, cols.LOAD).select(pl.col(cols.EPOCH_S).unique()).collect().item() == 30.0


def test_the_source_is_in_the_load_footer_and_a_load_without_one_is_recomputed(team):
    update_load(team, metrics=METRICS)
    part = team / "load" / "subject=A1" / "session=w0s0" / "part-0.parquet"
    source = LoadSource.from_dict(read_file_metadata(part)[SOURCE_KEY])
    assert source is not None and source.metrics_version == "test-1" and source.epoch_s == 60.0
    assert not list((team / "load").rglob("_*"))  # no sidecar files
    rows = read_table(team, cols.LOAD, subject="A1", session="w0s0").drop(cols.SUBJECT, cols.SESSION)
    write_table(rows.collect(), team, cols.LOAD, subject="A1", session="w0s0", overwrite=True)
    report = update_load(team, metrics=METRICS)
    assert [k for k, v in statuses(report).items() if v[0] == "computed"] == [("A1", "w0s0")]


def test_a_load_partition_from_before_the_footer_source_is_recomputed_once(team):
    update_load(team, metrics=METRICS)
    partition = team / "load" / "subject=A2" / "session=w1s0"
    part = partition / "part-0.parquet"
    source = read_file_metadata(part)[SOURCE_KEY]
    rows = read_table(team, cols.LOAD, subject="A2", session="w1s0").drop(cols.SUBJECT, cols.SESSION)
    write_table(rows.collect(), team, cols.LOAD, subject="A2", session="w1s0", overwrite=True)
    (partition / LEGACY_SOURCE_FILE).write_text(LoadSource.from_dict(source).to_json())  # the old layout
    report = update_load(team, metrics=METRICS)
    assert [k for k, v in statuses(report).items() if v[0] == "computed"] == [("A2", "w1s0")]
    assert not (partition / LEGACY_SOURCE_FILE).exists()
    assert update_load(team, metrics=METRICS).count("skipped") == 8


def test_load_of_a_deleted_session_is_removed_or_reported(team):
    update_load(team, metrics=METRICS)
    for table in ("samples", "sessions"):
        shutil.rmtree(team / table / "subject=A2" / "session=w1s1")
    kept = update_load(team, metrics=METRICS, prune=False)
    assert statuses(kept)[("A2", "w1s1")][0] == "orphaned"
    assert (team / "load" / "subject=A2" / "session=w1s1").is_dir()
    removed = update_load(team, metrics=METRICS)
    assert statuses(removed)[("A2", "w1s1")][0] == "removed"
    assert not (team / "load" / "subject=A2" / "session=w1s1").exists()
    sessions = read_table(team, cols.LOAD).select(cols.SUBJECT, cols.SESSION).unique().collect()
    assert sessions.height == 7


def test_a_failing_session_is_reported_and_the_others_computed(team):
    shutil.rmtree(team / "samples" / "subject=A1" / "session=w0s1")
    report = update_load(team, metrics=METRICS)
    (failed,) = report.failed
    assert (failed.subject, failed.session) == ("A1", "w0s1") and failed.error
    assert report.count("computed") == 7


def test_load_rows_are_each_sensor_of_the_direct_computation(team):
    load, hours = compute_session_load(team, subject="A1", session="w0s0", metrics=METRICS)
    assert hours == pytest.approx(2 * 180.0 / 3600.0)
    for i, sid in enumerate(("S1", "S2")):
        s = sensor(sid, T0, 180.0, 2.0 * (1.0 + 0.5 * i), i)
        direct = playerload_epochs(s.acc, s.time_us, rate_hz=50.0, sensor=sid)
        got = load.filter(pl.col(cols.SENSOR) == sid)
        assert got.get_column(cols.EPOCH_START).to_list() == direct.get_column(cols.EPOCH_START).to_list()
        np.testing.assert_allclose(
            got[cols.PLAYERLOAD].to_numpy(), direct[cols.PLAYERLOAD].to_numpy(), rtol=1e-12
        )


def test_hyrox_sessions_get_station_labels(tmp_path, monkeypatch):
    write_session(tmp_path, "A1", "race", T0, duration_s=300.0, exercise="hyrox")
    write_session(tmp_path, "A1", "easy", T0 + timedelta(days=1), duration_s=300.0)
    t0 = int(T0.timestamp() * 1e6)

    class Race:
        phases = pl.DataFrame({"label": ["run 1", "skierg"], "start": [0.0, 130.0], "end": [130.0, 300.0]})

    monkeypatch.setattr(update_module, "hyrox_segmenter", lambda: (lambda rec: Race(), "fake-1"))
    update_load(tmp_path, metrics=METRICS)
    race = read_table(tmp_path, cols.LOAD, session="race", sensor="S1").sort(cols.EPOCH_START).collect()
    assert race.get_column(cols.STATION).to_list() == ["run 1", "run 1", "skierg", "skierg", "skierg"]
    assert race.get_column(cols.EPOCH_START).dt.epoch("us")[0] == t0
    easy = read_table(tmp_path, cols.LOAD, session="easy").collect()
    assert easy.get_column(cols.STATION).null_count() == easy.height
    monkeypatch.setattr(update_module, "hyrox_segmenter", lambda: (lambda rec: Race(), "fake-2"))
    report = update_load(tmp_path, metrics=METRICS)
    assert statuses(report) == {
        ("A1", "easy"): ("skipped", "unchanged"),
        ("A1", "race"): ("computed", "station labelling changed"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["threads", "processes"])
def test_two_workers_write_what_one_writes(team, tmp_path_factory, parallel):
    pytest.importorskip("imurehab.analysis.load")
    other = tmp_path_factory.mktemp("copy")
    shutil.copytree(team, other, dirs_exist_ok=True)
    one = update_load(team)
    two = update_load(other, workers=2, parallel=parallel)
    assert one.count("computed") == two.count("computed") == 8
    keys = [cols.SUBJECT, cols.SESSION, cols.SENSOR, cols.EPOCH_START]
    a = read_table(team, cols.LOAD).collect().sort(keys)
    b = read_table(other, cols.LOAD).collect().sort(keys)
    assert a.equals(b)


def test_a_race_that_cannot_be_segmented_keeps_its_load_unlabelled(tmp_path, monkeypatch):
    from imurehab.errors import DataValidationError

    write_session(tmp_path, "A1", "short", T0, duration_s=120.0, exercise="hyrox")

    def refuse(rec):
        raise DataValidationError("too short to be a race")

    monkeypatch.setattr(update_module, "hyrox_segmenter", lambda: (refuse, "fake-1"))
    report = update_load(tmp_path, metrics=METRICS)
    assert report.count("computed") == 1
    load = read_table(tmp_path, cols.LOAD).collect()
    assert load.height and load.get_column(cols.STATION).null_count() == load.height
