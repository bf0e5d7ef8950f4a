"""The shakes of sensors held together are left out of what is computed from the body, and only they.

A shaken session: each sensor's simulated rehab session with 6 s before it in which the sensors, held as
one bundle, are shaken and come to rest in the orientation each has on the body at the start (a
continuous strapping-on, so the data do not jump).
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import pytest

from imurehab.align import shake_spans, worn_recording
from imurehab.pipeline import process_recording
from imurehab.quaternion import quat_to_matrix
from imurehab.simulate import simulate_session
from imurehab.simulate.shake import SensorShake


class BodyShake(SensorShake):
    """A shake ending at rest with each sensor in its body orientation at the session's start."""

    def __init__(self, mounts, **kw):
        super().__init__(**kw)
        object.__setattr__(self, "_mounts", mounts)

    @cached_property
    def _motion(self):
        return {**SensorShake._motion.func(self), "base": np.eye(3)}

    def mount(self, key):
        return self._mounts[key]


def prepended(sim, lead_s=6.0, seed=0):
    rec = sim.recording
    mounts = {sid: quat_to_matrix(sim.truth.sensors[sid].quat[0]) for sid in rec.sensor_ids}
    shake = BodyShake(mounts, start_s=1.0, duration_s=4.0, seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    for s in rec.sensors:
        n = int(lead_s * s.info.rate_hz)
        before = s.time_us[0] - np.arange(n, 0, -1) * 1e6 / s.info.rate_hz
        acc, gyr, _ = shake.measure((before - before[0]) / 1e6, s.info.sensor_id)
        gyr = gyr + rng.normal(0.0, 0.003, gyr.shape) + s.gyr[:50].mean(axis=0)  # its noise and bias
        acc = acc + rng.normal(0.0, 0.02, acc.shape)
        out.append(
            dataclasses.replace(
                s,
                time_us=np.concatenate([np.round(before).astype(np.int64), s.time_us]),
                acc=np.vstack([acc, s.acc]),
                gyr=np.vstack([gyr, s.gyr]),
                mag=None,
                sample_index=np.arange(n + len(s)),
                device_time=None,
                flags=np.zeros(n + len(s), dtype=np.uint16),
            )
        )
    return dataclasses.replace(rec, sensors=tuple(out))


@pytest.mark.parametrize("exercise", ["seated-knee-extension", "elbow-flexion"])
def test_a_shake_before_the_session_is_left_out_and_the_numbers_stay(exercise):
    sim = simulate_session(exercise, reps=4, seed=3)
    shaken = prepended(sim)
    cut, note = worn_recording(shaken)
    assert note is not None and "shaken together" in note
    for s, orig in zip(cut.sensors, sim.recording.sensors, strict=True):
        # the shake and a second either side are out; the session itself is all in
        assert s.time_us[0] <= orig.time_us[0] and s.time_us[-1] == orig.time_us[-1]
        assert s.time_us[0] >= orig.time_us[0] - 1.1e6
    a = process_recording(sim.recording, exercise=exercise)
    b = process_recording(shaken, exercise=exercise)
    assert note in b.notes
    assert b.reps.height == a.reps.height == 4
    assert np.allclose(b.reps["rom_deg"].to_numpy(), a.reps["rom_deg"].to_numpy(), atol=0.5)


def test_two_sensors_on_one_segment_are_not_a_shake():
    """They move rigidly together all session, but the third sensor does not: nothing is cut."""
    sim = simulate_session("squat", reps=3, seed=2)
    rec = sim.recording
    thigh = rec.sensors[0]
    turn = quat_to_matrix(np.array([np.cos(0.6), 0.0, np.sin(0.6), 0.0]))  # 69° about y
    twin = dataclasses.replace(
        thigh,
        info=dataclasses.replace(thigh.info, sensor_id="TWIN"),
        acc=thigh.acc @ turn,
        gyr=thigh.gyr @ turn,
        mag=None if thigh.mag is None else thigh.mag @ turn,
    )
    three = dataclasses.replace(rec, sensors=(*rec.sensors, twin))
    assert shake_spans(three.sensors) == []
    same, note = worn_recording(three)
    assert note is None and same is three


def test_a_session_without_a_shake_is_left_as_it_is():
    rec = simulate_session("seated-knee-extension", reps=3, seed=1).recording
    same, note = worn_recording(rec)
    assert note is None and same is rec
