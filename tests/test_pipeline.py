"""The processing pipeline driven by exercise templates: joints, poses and rep flags."""

from __future__ import annotations

import pytest

from imurehab import process_recording, simulate_session
from imurehab.analysis import rep_quality
from imurehab.exercises import load_template
from imurehab.pipeline import EXERCISE_JOINTS


def test_the_hinge_exercises_come_from_the_templates():
    for name, (joint, pose) in EXERCISE_JOINTS.items():
        template = load_template(name)
        assert (template.joint, template.pose) == (joint, pose)
    assert {"seated-knee-extension", "squat", "elbow-flexion"} <= set(EXERCISE_JOINTS)


def test_rep_flags_in_the_reps_table_are_the_template_checks():
    sim = simulate_session("seated-knee-extension", reps=6, seed=2, with_mag=False)
    result = process_recording(sim.recording)
    (joint,) = result.joints
    template = load_template("seated-knee-extension")
    expected = rep_quality(joint.angles.flexion_deg, 100.0, joint.reps, template, side="right")
    assert result.reps.get_column("flags").to_list() == [list(q.flags) for q in expected]
    # seated knee extension moves toward smaller flexion: a rep is short when it stops more than the
    # tolerance above the target angle (or below the target ROM)
    assert template.direction == "decrease" and template.target_deg is not None
    for rep, row in zip(joint.reps, result.reps.iter_rows(named=True), strict=True):
        short = rep.min_deg - template.target_deg > template.tolerance_deg or (
            template.target_rom_deg is not None
            and template.target_rom_deg - rep.rom_deg > template.tolerance_deg
        )
        assert ("rom_short" in row["flags"]) == short


def test_a_template_whose_sensors_are_missing_says_so():
    """A seated-knee recording processed as a lumbar exercise: no pelvis or trunk sensor."""
    sim = simulate_session("seated-knee-extension", reps=3, seed=0, with_mag=False)
    result = process_recording(sim.recording, exercise="lumbar-flexion")
    assert not result.joints
    assert result.notes == ["lumbar-flexion: no lumbar to compute: needs sensors placed on pelvis and trunk"]


@pytest.mark.parametrize(
    ("exercise", "compensation"),
    [
        ("shoulder-abduction", "trunk-lean"),
        ("elbow-flexion", "shoulder-swing"),
        ("straight-leg-raise", "hip-hike"),
        ("straight-leg-raise", "knee-bend"),
        ("lumbar-flexion", "trunk-twist"),
        ("squat", "trunk-shift"),  # lumbar, away from the exercised knee: axes carried from the thigh
    ],
)
def test_compensation_flags_follow_the_simulated_compensations(exercise, compensation):
    sim = simulate_session(
        exercise, reps=6, seed=5, with_mag=False, compensation=compensation, compensated_reps=3
    )
    result = process_recording(sim.recording, exercise=exercise)
    (joint,) = result.joints
    truth = [r.compensated for r in sim.truth.reps if r.joint == joint.joint and r.side == joint.side]
    flagged = [f"compensation:{compensation}" in q.flags for q in joint.quality]
    assert sum(truth) == 3
    assert flagged == truth
    assert compensation in joint.quality[0].compensation_deg  # the check was watched


def test_process_session_records_what_its_results_were_made_from(tmp_path):
    from imurehab import process_session, write_recording
    from imurehab.batch import plan_batch
    from imurehab.errors import PartitionExistsError
    from imurehab.pipeline.provenance import read_results_source

    sim = simulate_session("seated-knee-extension", reps=2, seed=1, with_mag=False, session_id="a")
    write_recording(sim.recording, tmp_path)
    process_session(tmp_path, subject="sim01", session="a")
    source = read_results_source(tmp_path, "sim01", "a")
    assert source is not None and source.settings.exercise == "seated-knee-extension"
    assert source.settings.template_sha256 is not None
    assert [f.table for f in source.inputs] == ["samples", "sessions"]
    assert plan_batch(tmp_path).tasks == ()  # what the demo writes, a batch takes as finished
    with pytest.raises(PartitionExistsError):
        process_session(tmp_path, subject="sim01", session="a")
