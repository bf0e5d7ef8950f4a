"""The live feedback engine on simulated sets fed packet by packet: reps, ROM, cues, causality.

Margins are measured (seeds 1–3, realistic sensor errors, 6D only) and stated with their observed
maxima; nothing here times anything.
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
from feedback_sets import feed, of, simulate, truth_reps

from imurehab.errors import DataValidationError
from imurehab.exercises import load_template
from imurehab.feedback import FeedbackEngine

# Observed |live ROM − truth ROM| over 8 sets per exercise (seeds 1–4 at 100 and 200 Hz), max: knee
# extension 1.3°, elbow 1.1°, squat 0.6°, heel slide 1.0°, straight-leg raise 1.1°, lumbar 0.6° (tilt),
# shoulder 3.6° (tilt against ISB elevation). Margins sit a little above these.
CASES = [
    ("seated-knee-extension", 1, 2.0),
    ("seated-knee-extension", 3, 2.0),
    ("elbow-flexion", 1, 2.0),
    ("elbow-flexion", 2, 2.0),
    ("squat", 1, 1.5),
    ("heel-slide", 1, 2.0),
    ("straight-leg-raise", 1, 2.0),
    ("lumbar-flexion", 2, 1.5),
    ("shoulder-abduction", 3, 4.5),
]


@pytest.mark.parametrize(("movement", "seed", "margin_deg"), CASES)
def test_every_rep_is_counted_once_with_its_rom(movement, seed, margin_deg):
    sim = simulate(movement, seed)
    engine, events = feed(sim, load_template(movement))
    truth = truth_reps(sim, engine)
    reps = of(events, "rep")
    assert [e.values["rep"] for e in reps] == [r.rep for r in truth]
    errors = np.array([e.values["rom_deg"] - r.rom_deg for e, r in zip(reps, truth, strict=True)])
    print(f"{movement} seed {seed}: ROM error max {np.abs(errors).max():.2f}°")
    assert np.abs(errors).max() <= margin_deg
    # Durations between settled start and end: within 15 % of the commanded rep windows.
    durations = np.array([e.values["duration_s"] for e in reps])
    assert np.allclose(durations, [r.end_s - r.start_s for r in truth], rtol=0.15)


def test_the_set_starts_calibrating_then_ready_before_any_rep():
    sim = simulate("seated-knee-extension", 1, reps=3)
    engine, events = feed(sim, load_template("seated-knee-extension"))
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["calibrating", "calibrating", "ready"]
    assert [e.values["stage"] for e in events[:2]] == ["static", "movement"]
    ready = events[2].values
    # Both lever arms agree already at the calibration moment in this set (on the 10-rep sets they
    # contradict each other there, see test_heading.py).
    assert ready["method"] == "relative-rate" and ready["heading"] == "lever-arms"
    assert ready["rest_deg"] == pytest.approx(90.0, abs=4.0)
    assert engine.stage == "ready" and engine.reps == 3
    assert all(a.time_us <= b.time_us for a, b in itertools.pairwise(events))


@pytest.mark.parametrize("movement", ["squat", "seated-knee-extension"])
def test_reps_that_stop_short_get_a_deeper_cue_at_their_turn(movement):
    sim = simulate(movement, 2, incomplete_reps=3)
    template = load_template(movement)
    engine, events = feed(sim, template)
    truth = truth_reps(sim, engine)
    deeper = of(events, "deeper")
    short = {r.rep for r in truth if r.incomplete}
    assert len(short) == 3 and short <= {e.values["rep"] for e in deeper}
    for e in deeper:
        assert e.text == template.cues["deeper"]
        rep = next(r for r in of(events, "rep") if r.values["rep"] == e.values["rep"])
        assert "rom_short" in rep.values["flags"] and e.time_us < rep.time_us  # said at the turn
    # Full squats go past 90° ± 10°: none of them is told to go deeper.
    if movement == "squat":
        assert {e.values["rep"] for e in deeper} == short


def test_tempo_cues_follow_the_template_limits():
    sim = simulate("squat", 1, reps=4)
    slow = dataclasses.replace(load_template("squat"), min_rep_s=5.0)
    _, events = feed(sim, slow)
    assert [e.values["rep"] for e in of(events, "slower")] == [1, 2, 3, 4]
    assert all("too_fast" in e.values["flags"] for e in of(events, "rep"))
    fast = dataclasses.replace(load_template("squat"), max_rep_s=1.0)
    _, events = feed(sim, fast)
    assert len(of(events, "faster")) == 4 and not of(events, "slower")


def test_a_trunk_lean_is_cued_on_the_reps_that_show_it():
    sim = simulate(
        "shoulder-abduction", 1, compensation="trunk-lean", compensation_deg=15.0, compensated_reps=4
    )
    engine, events = feed(sim, load_template("shoulder-abduction"))
    assert "trunk-lean" in of(events, "ready")[0].values["watched"]
    leaned = {r.rep for r in truth_reps(sim, engine) if r.compensated}
    cued = of(events, "compensation")
    assert {e.values["rep"] for e in cued} == leaned
    assert all(e.text == "Keep your trunk upright, don't lean to the side" for e in cued)
    flagged = {e.values["rep"] for e in of(events, "rep") if "compensation:trunk-lean" in e.values["flags"]}
    assert flagged == leaned
    _, clean = feed(simulate("shoulder-abduction", 1), load_template("shoulder-abduction"))
    assert not of(clean, "compensation")


def test_events_depend_only_on_samples_up_to_their_time():
    sim = simulate("elbow-flexion", 1)
    template = load_template("elbow-flexion")
    _, full = feed(sim, template)
    for stop in (700, 1900, 3100):
        _, prefix = feed(sim, template, stop=stop)
        assert prefix == full[: len(prefix)]
        cut = sim.recording.sensors[0].time_us[stop - 1]
        # Everything the full run said well before the cut, the prefix run said too.
        early = [e for e in full if e.time_us < cut - 500_000]
        assert prefix[: len(early)] == early
        assert all(e.time_us <= cut + 20_000 for e in prefix)


def test_lost_packets_are_bridged_and_every_rep_still_counted():
    sim = simulate("seated-knee-extension", 1)
    rng = np.random.default_rng(5)
    lost = set(np.flatnonzero(rng.random(2000) < 0.02).tolist())
    engine, events = feed(sim, load_template("seated-knee-extension"), drop=lambda i: i in lost)
    truth = truth_reps(sim, engine)
    reps = of(events, "rep")
    assert len(lost) > 10 and len(reps) == len(truth)
    errors = [abs(e.values["rom_deg"] - r.rom_deg) for e, r in zip(reps, truth, strict=True)]
    print(f"2 % packets lost: ROM error max {max(errors):.2f}°")
    assert max(errors) <= 3.0


def test_events_serialise_to_one_json_line():
    sim = simulate("squat", 1, reps=2)
    _, events = feed(sim, load_template("squat"))
    for e in events:
        line = json.dumps(e.to_json(), allow_nan=False)
        back = json.loads(line)
        assert back["kind"] == e.kind and back["time_us"] == e.time_us and back["time"].endswith("Z")
        assert "\n" not in line
    rep = of(events, "rep")[0].to_json()["values"]
    assert set(rep) >= {"rep", "rom_deg", "peak_deg", "duration_s", "flags", "joint", "side"}


def test_missing_sensors_are_a_clear_error():
    with pytest.raises(DataValidationError, match="shank_right"):
        FeedbackEngine(load_template("squat"), {"S1": "thigh_right"}, 100.0)
    with pytest.raises(DataValidationError, match="not 'up'"):
        FeedbackEngine(load_template("squat"), {"S1": "thigh_right", "S2": "shank_right"}, 100.0, side="up")
    engine = FeedbackEngine(load_template("squat"), {"A": "thigh_left", "B": "shank_left"}, 100.0)
    assert engine.side == "left" and engine.push("elsewhere", [1], [[0, 0, 9.8]], [[0, 0, 0]]) == []
