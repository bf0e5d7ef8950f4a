from collections import defaultdict
from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from coach_data import T0, playerload_epochs, sensor, write_session, write_team

from imurehab.errors import DatasetNotFoundError, SchemaError
from imurehab.store import columns as cols
from imurehab.store import write_table
from imurehab.training import LoadMetrics, compare_athletes, reference_sensors, update_load

METRICS = LoadMetrics(playerload_epochs, "test-1")
ATHLETES = ("A1", "A2", "A3")
WEEKS = 5


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    write_team(root, athletes=ATHLETES, weeks=WEEKS, per_week=2)
    update_load(root, metrics=METRICS)
    return root


def direct_weekly():
    """Weekly PlayerLoad of the trunk sensor, from the generated signals, grouped by hand."""
    out = defaultdict(float)
    for a, athlete in enumerate(ATHLETES):
        for w in range(WEEKS):
            for k in range(2):
                start = T0 + timedelta(days=7 * w + 3 * k, hours=a)
                s = sensor("S1", start, 180.0, 2.0 + a + 0.5 * w, 100 * a + 10 * w + k)
                g = s.acc / 9.80665
                d = np.sqrt(np.sum(np.diff(g, axis=0, prepend=g[:1]) ** 2, axis=1)) / 100.0
                monday = start.date() - timedelta(days=start.weekday())
                out[athlete, monday] += float(d.sum())
    return dict(out)


def test_weekly_table_equals_the_direct_computation(team):
    c = compare_athletes(team, ["A3", "A1"])
    assert c.weekly_table().columns == ["week", "A3", "A1"]
    direct = direct_weekly()
    for athlete, week, load in c.weekly.select(cols.SUBJECT, "week", "load").iter_rows():
        assert load == pytest.approx(direct[athlete, week], rel=1e-9)
    assert c.weekly.height == 2 * WEEKS
    assert set(c.reference.get_column(cols.SENSOR)) == {"S1"}  # the trunk sensor, not the forearm


def test_duckdb_reads_the_same_weekly_totals(team):
    c = compare_athletes(team, list(ATHLETES))
    ours = {
        (a, (w - date(1970, 1, 5)).days // 7): v
        for a, w, v in c.weekly.select(cols.SUBJECT, "week", "load").iter_rows()
    }
    # 1970-01-05 was a Monday: week index = floor((days since epoch - 4) / 7), no timezone extension needed.
    rows = duckdb.sql(
        f"""
        SELECT subject, floor((epoch_us(epoch_start) // 86400000000 - 4) / 7)::BIGINT AS week, sum(playerload)
        FROM read_parquet('{team}/load/*/*/*.parquet', hive_partitioning = true)
        WHERE sensor = 'S1' GROUP BY ALL
        """
    ).fetchall()
    theirs = {(a, w): v for a, w, v in rows}
    assert theirs.keys() == ours.keys()
    for key, value in theirs.items():
        assert value == pytest.approx(ours[key], rel=1e-12)


def test_acwr_uses_rest_days_and_the_whole_history(team):
    c = compare_athletes(team, ["A1"])
    days = c.daily.filter(pl.col(cols.SUBJECT) == "A1")
    assert days.height == (days.get_column("date").max() - days.get_column("date").min()).days + 1
    assert (days.get_column("load") == 0).sum() == days.height - 2 * WEEKS
    assert np.isnan(days.get_column("acwr_rolling").to_numpy()[:27]).all()
    assert np.isfinite(days.get_column("acwr_rolling").to_numpy()[27:]).all()
    later = compare_athletes(team, ["A1"], since=date(2025, 3, 31))
    assert later.weekly.get_column("week").min() == date(2025, 3, 31)
    assert (
        later.daily.get_column("acwr_ewma").to_list()
        == days.filter(pl.col("date") >= date(2025, 3, 31)).get_column("acwr_ewma").to_list()
    )


def test_intensity_metrics_are_volumes(team):
    c = compare_athletes(team, ["A2"], metric=cols.ENMO_MG)
    assert c.unit == "mg·min"
    assert (c.weekly.get_column("load") > 0).all()


def test_unknown_athlete_or_metric_is_a_clear_error(team):
    with pytest.raises(DatasetNotFoundError, match=r"no load for athlete.*B7.*A1, A2, A3"):
        compare_athletes(team, ["A1", "B7"])
    with pytest.raises(SchemaError, match="not a load metric"):
        compare_athletes(team, ["A1"], metric="heart_rate")


def test_reference_sensor_prefers_trunk_then_pelvis_then_first_id(tmp_path):
    write_session(tmp_path, "P", "s1", T0, duration_s=60.0, placements={"S1": "thigh_right", "S2": "pelvis"})
    write_session(
        tmp_path, "P", "s2", T0, duration_s=60.0, placements={"S2": "shank_left", "S1": "foot_left"}
    )
    update_load(tmp_path, metrics=METRICS)
    ref = reference_sensors(tmp_path)
    assert ref.select(cols.SESSION, cols.SENSOR).rows() == [("s1", "S2"), ("s2", "S1")]


def test_station_splits_side_by_side(tmp_path):
    t0 = T0
    for athlete, scale in (("A", 1.0), ("B", 2.0)):
        stations = ["run", "skierg", "run", "wall balls", None]
        write_table(
            pl.DataFrame(
                {
                    cols.SENSOR: ["S1"] * 5,
                    cols.EPOCH_START: [t0 + timedelta(minutes=i) for i in range(5)],
                    cols.EPOCH_S: [60.0] * 5,
                    cols.PLAYERLOAD: [scale * (i + 1) for i in range(5)],
                    cols.STATION: stations,
                },
                schema_overrides={cols.EPOCH_START: pl.Datetime("us", "UTC")},
            ),
            tmp_path,
            cols.LOAD,
            subject=athlete,
            session="race",
        )
    c = compare_athletes(tmp_path, ["B", "A"])
    table = c.station_table()
    assert table.columns == ["station", "B", "A"]
    assert table.rows() == [("run", 8.0, 4.0), ("skierg", 4.0, 2.0), ("wall balls", 8.0, 4.0)]
    assert c.stations.filter(pl.col(cols.STATION) == "run").get_column("minutes").to_list() == [2.0, 2.0]
