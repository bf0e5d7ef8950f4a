"""Simulated sets fed to the live engine packet by packet, shared by the feedback tests."""

from __future__ import annotations

from imurehab.feedback import CueEvent, FeedbackEngine
from imurehab.simulate import SensorErrorModel, simulate_session

PACKET = 20  # samples per packet, as a 244-byte OSP notification of acc + gyr


def simulate(movement, seed=1, rate_hz=100.0, **options):
    return simulate_session(
        movement, errors=SensorErrorModel.realistic(), with_mag=False, seed=seed, rate_hz=rate_hz, **options
    )


def packets(recording, stop=None):
    """(sensor id, slice) in arrival order: each sensor's packet k before anyone's packet k + 1."""
    n = min(len(s.time_us) for s in recording.sensors) if stop is None else stop
    for k in range(0, n, PACKET):
        for s in recording.sensors:
            yield s, slice(k, min(k + PACKET, n))


def feed(sim, template, stop=None, drop=None):
    rec = sim.recording
    engine = FeedbackEngine(template, rec.session.placements, rec.sensors[0].info.rate_hz)
    events: list[CueEvent] = []
    for i, (s, part) in enumerate(packets(rec, stop)):
        if drop is not None and drop(i):
            continue
        events += engine.push(s.sensor_id, s.time_us[part], s.acc[part], s.gyr[part])
    return engine, events


def truth_reps(sim, engine):
    return [r for r in sim.truth.reps if r.joint == engine.template.joint and r.side == engine.side]


def of(events, kind):
    return [e for e in events if e.kind == kind]
