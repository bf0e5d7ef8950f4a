"""Full HYROX races in the simulator: structure, truth, athletes, options."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imurehab.analysis.hyrox import STATIONS as ANALYSIS_STATIONS
from imurehab.errors import SimulationError
from imurehab.simulate import SensorErrorModel, simulate_session
from imurehab.simulate.body import Skeleton
from imurehab.simulate.hyrox_race import (
    ROXZONE,
    RUN,
    STATIONS,
    HyroxAthlete,
    HyroxRaceOptions,
    hyrox_race_program,
    race_truth,
)
from imurehab.simulate.reps import MovementRequest

IDEAL = SensorErrorModel.ideal()


@pytest.fixture(scope="module")
def small_race():
    options = HyroxRaceOptions(scale=0.05, wall_balls=75)
    return simulate_session(
        "hyrox-race", options=options, sensors={"W": "forearm_right"}, errors=IDEAL, with_mag=False, seed=5
    )


def _program(seed: int, options: HyroxRaceOptions | None = None):
    request = MovementRequest(np.random.default_rng(seed), Skeleton(), None, None, "right")
    return hyrox_race_program(request, options)


def test_race_order_and_truth(small_race):
    truth = race_truth(small_race.truth)
    expected = []
    for k in range(1, 9):
        expected += [(RUN, k), (ROXZONE, k), (STATIONS[k - 1], k)] + ([(ROXZONE, k)] if k < 8 else [])
    assert [(p.label, p.index) for p in truth.phases] == expected
    starts = [p.start_s for p in truth.phases]
    assert starts[0] == 0.0 and np.all(np.diff(starts) > 0)
    for a, b in zip(truth.phases[:-1], truth.phases[1:], strict=True):
        assert a.end_s == pytest.approx(b.start_s)
    assert truth.phases[-1].end_s == pytest.approx(small_race.truth.time_s[-1], abs=0.2)
    for station in truth.stations:
        reps = [r for r in small_race.truth.reps if r.exercise == station.label]
        assert station.performed == len(reps) > 0
        assert all(station.start_s - 1e-6 <= r.start_s and r.end_s <= station.end_s + 1e-6 for r in reps)
    wall = truth.station("wall-balls")
    assert wall.valid == round(75 * 0.05)
    flagged = [
        i + 1 for i, r in enumerate(small_race.truth.reps_for("knee_right", "wall-balls")) if r.incomplete
    ]
    assert list(wall.no_reps) == flagged


def test_same_station_labels_as_the_analysis():
    assert STATIONS == ANALYSIS_STATIONS


def test_body_moves_continuously(small_race):
    pelvis = small_race.truth.pelvis_position_m
    dt = np.diff(small_race.truth.time_s)
    speed = np.linalg.norm(np.diff(pelvis, axis=0), axis=1) / dt
    assert speed.max() < 6.0  # below a sprint, also during jumps and blends
    assert pelvis[-1, 1] > 8 * 1000.0 * 0.05  # ran north, eight scaled kilometres and more


@pytest.mark.parametrize("seed", range(12))
def test_full_race_durations_are_realistic(seed):
    program = _program(seed)
    assert 55.0 * 60 <= program.duration_s <= 120.0 * 60
    runs = [p for p in program.phases if p.label == RUN]
    assert len(runs) == 8 and all(150.0 < p.end_s - p.start_s < 600.0 for p in runs)
    rox = [p.end_s - p.start_s for p in program.phases if p.label == ROXZONE]
    assert len(rox) == 15 and all(5.0 < r < 90.0 for r in rox)


def test_athletes_vary_and_fade():
    athletes = [HyroxAthlete.draw(np.random.default_rng(s)) for s in range(20)]
    speeds = [a.run_speed_mps for a in athletes]
    assert max(speeds) / min(speeds) > 1.3
    assert {a.ski_spm > 40 for a in athletes} == {True, False}
    fader = dataclasses.replace(athletes[0], run_fade=0.15)
    program = _program(1, HyroxRaceOptions(athlete=fader))
    runs = [p.end_s - p.start_s for p in program.phases if p.label == RUN]
    assert runs[-1] > 1.08 * runs[0]


def test_skipped_station_leaves_one_roxzone():
    program = _program(3, HyroxRaceOptions(scale=0.05, skip_stations=frozenset({3})))
    labels = [p.label for p in program.phases]
    assert "sled-pull" not in labels
    i = labels.index(RUN, labels.index("sled-push") + 1)  # run 3
    assert labels[i : i + 3] == [RUN, ROXZONE, RUN]


def test_division_sets_wall_balls():
    for count in (75, 100):
        program = _program(2, HyroxRaceOptions(scale=0.2, wall_balls=count))
        windows = [w for w in program.windows if w.exercise == "wall-balls"]
        assert sum(not w.incomplete for w in windows) == round(count * 0.2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"options": HyroxRaceOptions(), "movement": "squat"}, "takes no options"),
        ({"options": "fast", "movement": "hyrox-race"}, "HyroxRaceOptions"),
        ({"duration_s": 600.0, "movement": "hyrox-race"}, "own length"),
    ],
)
def test_bad_requests(kwargs, match):
    with pytest.raises(SimulationError, match=match):
        simulate_session(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": 0.0}, "scale"),
        ({"scale": 2.0}, "scale"),
        ({"wall_balls": 80}, "75 or 100"),
        ({"skip_stations": frozenset({9})}, "1..8"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(SimulationError, match=match):
        HyroxRaceOptions(**kwargs)


def test_race_truth_needs_a_race():
    sim = simulate_session("hyrox", duration_s=60.0, errors=IDEAL, with_mag=False, seed=1)
    with pytest.raises(SimulationError, match="hyrox-race"):
        race_truth(sim.truth)
