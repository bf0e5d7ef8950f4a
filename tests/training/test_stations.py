from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from imurehab.training import is_hyrox_session, label_stations

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
T0_US = int(T0.timestamp() * 1e6)


def epochs(n, epoch_s=60.0):
    return pl.DataFrame(
        {"epoch_start": [T0 + timedelta(seconds=epoch_s * i) for i in range(n)], "epoch_s": [epoch_s] * n},
        schema_overrides={"epoch_start": pl.Datetime("us", "UTC")},
    )


def test_the_longest_overlap_wins_and_ties_go_to_the_earlier_phase():
    phases = pl.DataFrame(
        {"label": ["roxzone", "run", "sled"], "start": [90.0, 0.0, 150.0], "end": [150.0, 90.0, 400.0]}
    )
    got = label_stations(epochs(5), phases, origin_us=T0_US)["station"].to_list()
    # [60,120): run 30 s vs roxzone 30 s, a tie: run is earlier; [120,180): roxzone 30 s vs sled 30 s
    assert got == ["run", "run", "roxzone", "sled", "sled"]


def test_epochs_without_a_phase_stay_unlabelled_and_datetimes_work():
    phases = pl.DataFrame(
        {
            "label": ["wall balls"],
            "start": [T0 + timedelta(seconds=70)],
            "end": [T0 + timedelta(seconds=100)],
        },
        schema_overrides={"start": pl.Datetime("us", "UTC"), "end": pl.Datetime("us", "UTC")},
    )
    assert label_stations(epochs(3), phases)["station"].to_list() == [None, "wall balls", None]
    assert label_stations(epochs(3), phases.clear())["station"].to_list() == [None, None, None]


def test_seconds_need_the_session_start():
    phases = pl.DataFrame({"label": ["run"], "start": [0.0], "end": [60.0]})
    with pytest.raises(ValueError, match="origin_us"):
        label_stations(epochs(1), phases)


def test_hyrox_sessions_by_exercise_name():
    assert is_hyrox_session("hyrox") and is_hyrox_session("HYROX-race")
    assert not is_hyrox_session(None) and not is_hyrox_session("squat")
