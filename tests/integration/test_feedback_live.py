"""Live feedback over virtual BLE: the engine runs in the stream's consumer task on real bleak code paths.

The virtual sensors replay a simulated set from its first sample when the stream starts, so the
repetitions the engine reports are the simulation's first ones. Nothing asserts timing.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from imurehab.ble import stream
from imurehab.cli import app
from imurehab.exercises import load_template
from imurehab.feedback import FeedbackEngine
from imurehab.virtual import VirtualBleakClient, VirtualScenario

pytestmark = pytest.mark.integration


def test_cues_from_a_live_stream_with_losses_match_the_simulated_reps(tmp_path):
    scenario = VirtualScenario(
        n_sensors=2, minutes=0.3, movement="seated-knee-extension", seed=4, faults=["loss=0.02"]
    )
    engine = FeedbackEngine(
        load_template("seated-knee-extension"),
        dict(zip(scenario.addresses, scenario.placements.values(), strict=True)),
        200.0,
    )
    events = []

    def on_samples(live):
        events.extend(engine.push(live.address, live.time_us, live.acc, live.gyr))

    async def main():
        async with scenario.start():
            return await stream(
                scenario.addresses,
                tmp_path,
                seconds=14.0,
                on_samples=on_samples,
                client_backend=VirtualBleakClient,
            )

    report = asyncio.run(asyncio.wait_for(main(), 90.0))
    assert all(s.error is None for s in report.sensors)
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["calibrating", "calibrating", "ready"]
    reps = [e for e in events if e.kind == "rep"]
    truth = [r for r in scenario.truth.reps if r.joint == "knee"]
    assert 1 <= len(reps) <= len(truth)
    for e, r in zip(reps, truth, strict=False):
        assert e.values["rep"] == r.rep
        assert abs(e.values["rom_deg"] - r.rom_deg) <= 3.0  # 2 % of notifications lost on the air


def test_stream_exercise_json_writes_one_document_per_line(tmp_path):
    args = ["stream", "--virtual", "--exercise", "squat", "--seconds", "9", "--out", str(tmp_path), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (0, 3), res.output
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    cues, report = docs[:-1], docs[-1]
    assert cues and all(d["event"] == "cue" for d in cues)
    assert [d["kind"] for d in cues][:3] == ["calibrating", "calibrating", "ready"]
    assert report["feedback"]["exercise"] == "squat" and report["feedback"]["stage"] == "ready"
    assert report["feedback"]["reps"] == sum(d["kind"] == "rep" for d in cues) >= 1


def test_stream_exercise_needs_the_segments_placed(tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "stream",
            "AA:BB:CC:DD:EE:FF",
            "--exercise",
            "squat",
            "--place",
            "AA:BB:CC:DD:EE:FF=thigh_right",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 1 and "shank_right" in res.output


def test_stream_exercise_without_a_live_model_is_one_line_before_connecting(tmp_path):
    res = CliRunner().invoke(
        app, ["stream", "--virtual", "--exercise", "ankle-pumps", "--out", str(tmp_path)]
    )
    assert res.exit_code == 1
    assert "no live model for the ankle" in res.output and "Traceback" not in res.output
    assert not any(tmp_path.iterdir())  # nothing connected, nothing written
