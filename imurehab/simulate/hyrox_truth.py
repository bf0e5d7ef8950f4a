"""The HYROX race structure (phase labels, station order, what is counted) and a race's truth.

:func:`race_truth` turns the truth of a simulated ``"hyrox-race"`` into phases with their run/station
number and, per station, how many reps, strokes, pulls or steps were done and which wall balls were
no-reps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imurehab.errors import SimulationError
from imurehab.simulate.truth import SimulationTruth
from imurehab.types.hyrox import ROXZONE, RUN, STATIONS

__all__ = [
    "ROXZONE",
    "RUN",
    "STATIONS",
    "STATION_COUNTS",
    "RacePhase",
    "RaceTruth",
    "StationTruth",
    "race_truth",
]


STATION_COUNTS = {
    "skierg": "strokes",
    "sled-push": "steps",
    "sled-pull": "pulls",
    "burpee-broad-jumps": "reps",
    "rowing": "strokes",
    "farmers-carry": "steps",
    "sandbag-lunges": "steps",
    "wall-balls": "reps",
}
"""What the truth counts at each station: one rep window each (a step: one foot's contact to the other's,
start and stop ramps of every bout included)."""


@dataclass(frozen=True)
class RacePhase:
    """One phase of a race: ``label`` (run, roxzone or a station), ``index`` 1–8 and its window [s].

    A run's index is its number; a station's its place in the race; a Roxzone's that of the station it
    leads to or comes from.
    """

    label: str
    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Length [s]."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class StationTruth:
    """What an athlete did at one station.

    Attributes
    ----------
    label, index : str, int
        Station and its place (1–8).
    start_s, end_s : float
        Window [s since session start].
    unit : str
        What was counted (:data:`STATION_COUNTS`).
    performed : int
        Reps, strokes or steps performed.
    no_reps : tuple of int
        1-based numbers of the performed reps that did not count (wall balls).
    """

    label: str
    index: int
    start_s: float
    end_s: float
    unit: str
    performed: int
    no_reps: tuple[int, ...] = ()

    @property
    def valid(self) -> int:
        """Reps that count (performed minus no-reps)."""
        return self.performed - len(self.no_reps)


@dataclass(frozen=True)
class RaceTruth:
    """The race's phases in order and what was done at each station."""

    phases: tuple[RacePhase, ...]
    stations: tuple[StationTruth, ...] = field(default=())

    def station(self, label: str) -> StationTruth:
        """The station named ``label``; KeyError if it was skipped."""
        for s in self.stations:
            if s.label == label:
                return s
        raise KeyError(label)

    def runs(self) -> tuple[RacePhase, ...]:
        """The eight runs."""
        return tuple(p for p in self.phases if p.label == RUN)


def race_truth(truth: SimulationTruth) -> RaceTruth:
    """Race phases with indices, and per-station counts, from a simulated ``"hyrox-race"``'s truth.

    Parameters
    ----------
    truth : SimulationTruth
        ``simulate_session("hyrox-race", ...).truth``.
    """
    if truth.movement != "hyrox-race":
        raise SimulationError(f"race_truth needs a hyrox-race simulation, got {truth.movement!r}")
    phases, stations = [], []
    run = 0
    for p in truth.phases:
        if p.label == RUN:
            run += 1
            index = run
        elif p.label == ROXZONE:
            index = run
        else:
            index = STATIONS.index(p.label) + 1
            reps = [r for r in truth.reps if r.exercise == p.label]
            no = tuple(i + 1 for i, r in enumerate(reps) if r.incomplete)
            stations.append(
                StationTruth(p.label, index, p.start_s, p.end_s, STATION_COUNTS[p.label], len(reps), no)
            )
        phases.append(RacePhase(p.label, index, p.start_s, p.end_s))
    return RaceTruth(tuple(phases), tuple(stations))
