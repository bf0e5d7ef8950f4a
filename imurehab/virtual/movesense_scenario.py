"""A virtual Movesense scenario: N virtual Movesense sensors replaying simulated motion, on a virtual air.

:class:`MovesenseScenario` simulates a movement with :func:`imurehab.simulate.simulate_session` (sensors
S1..SN placed as in :data:`~imurehab.virtual.scenario.PLACEMENTS`), builds one
:class:`~imurehab.virtual.movesense_sensor.MovesenseSensor` per simulated sensor replaying it, and ``async
with scenario.start() as air:`` puts them on a :class:`~imurehab.virtual.VirtualAir` with the faults of the
``--fault`` texts a Movesense link can suffer: ``loss=F`` (notifications lost: results, DATA and log
chunks alike), ``link-drop@S`` and ``silent@S`` (air seconds), ``drift-ppm=X`` (each sensor clock drifts by
a seeded value in ±X ppm). ``reboot@`` and ``overflow@`` are OSP firmware faults and are refused. Each
sensor has been up a seeded while (its timestamps are ms since boot) and its UTC clock is a seeded few
seconds off. With ``log_seconds``, each sensor holds one closed Logbook entry of ``log_path`` that logged
for that long until air time 0, ready for a sync; :meth:`~MovesenseScenario.true_sample_times_s` gives the
true instant of each of its samples.

Examples
--------
>>> scenario = MovesenseScenario(n_sensors=2, minutes=0.2, seed=3, faults=["loss=0.02"])
>>> scenario.names
['Movesense 233838941001', 'Movesense 233838941002']
>>> scenario.families == {a: "movesense-gsp" for a in scenario.addresses}
True
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.protocols.movesense import meas_resource
from imurehab.simulate import SimulatedSession, simulate_session
from imurehab.virtual.mixed import FamilyScenario
from imurehab.virtual.movesense_sensor import MovesenseSensor
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.polar_sensor import PolarSource
from imurehab.virtual.scenario import check_placement, check_scenario, scenario_addresses

__all__ = ["MovesenseScenario"]

_SUPPORTED: Final = ("loss", "drift-ppm", "link-drop", "silent")
FAMILY: Final = "movesense-gsp"


class MovesenseScenario(FamilyScenario):
    """Simulated motion measured by virtual Movesense sensors.

    Parameters
    ----------
    n_sensors : int
        Sensors S1..SN (1–15).
    minutes : float
        Length of the simulated motion, replayed cyclically [min].
    rate_hz : float
        Rate of the simulation [Hz] (the sensors sample at the rate subscribed or logged).
    movement : str
        A simulated movement (``"walking"``, ``"squat"``, ...).
    faults : sequence of str or Fault
        ``loss=F``, ``link-drop@S``, ``silent@S``, ``drift-ppm=X``.
    seed : int
        Seed of the simulation, serials, clocks and losses.
    log_seconds : float
        Length of a Logbook entry each sensor holds at air time 0 [s] (0: none).
    log_path : str
        What that entry logged.
    first_placement : int
        Index in :data:`~imurehab.virtual.scenario.PLACEMENTS` of S1's segment.

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range or a fault a Movesense sensor cannot suffer.
    """

    family = FAMILY

    def __init__(
        self,
        n_sensors: int = 2,
        minutes: float = 1.0,
        rate_hz: float = 208.0,
        movement: str = "walking",
        faults: Sequence[str | Fault] = (),
        seed: int = 0,
        log_seconds: float = 0.0,
        log_path: str = "/Meas/IMU6/104",
        first_placement: int = 0,
    ) -> None:
        self.faults = check_scenario(n_sensors, minutes, rate_hz, movement, faults, seed, max_minutes=60.0)
        refused = [str(f) for f in self.faults if f.kind not in _SUPPORTED]
        if refused:
            raise DataValidationError(
                f"a virtual Movesense sensor cannot suffer {refused}; it takes {_SUPPORTED}"
            )
        if not 0.0 <= log_seconds <= 3600.0:
            raise DataValidationError(f"log_seconds must be in [0, 3600], got {log_seconds}")
        self.n_sensors, self.minutes, self.rate_hz = n_sensors, float(minutes), float(rate_hz)
        self.movement, self.seed = movement, seed
        self.log_seconds, self.log_path = float(log_seconds), log_path
        self.sensor_ids, self.placements = check_placement(n_sensors, first_placement)
        self._clocks: list[tuple[int, float]] = []  # per sensor: clock at air time 0 [ns], drift [ppm]
        tag, self.addresses = scenario_addresses("imurehab-virtual-movesense", "F3", seed, n_sensors)
        self.serials = [f"2338{tag % 100_000:05d}{i:03d}" for i in range(1, n_sensors + 1)]
        self.names = [f"Movesense {s}" for s in self.serials]

    def _value(self, kind: str, default: float = 0.0) -> float:
        return next((f.value for f in self.faults if f.kind == kind), default)

    @cached_property
    def simulation(self) -> SimulatedSession:
        """The simulated motion (computed once)."""
        return simulate_session(
            self.movement,
            duration_s=self.minutes * 60.0,
            rate_hz=self.rate_hz,
            sensors=self.placements,
            seed=self.seed,
        )

    @cached_property
    def sensors(self) -> list[MovesenseSensor]:  # type: ignore[override]
        """The virtual sensors, S1 first (with their Logbook entry when ``log_seconds``)."""
        rng = random.Random(f"imurehab-virtual-movesense-clock/{self.seed}")
        drift = self._value("drift-ppm")
        recorded = {s.info.sensor_id: s for s in self.simulation.recording.sensors}
        out = []
        for sid, address, serial in zip(self.sensor_ids, self.addresses, self.serials, strict=True):
            samples = recorded[sid]
            boot_ms, ppm = round(rng.uniform(2.0, 20.0) * 3_600_000), rng.uniform(-drift, drift)
            self._clocks.append((boot_ms * 1_000_000, ppm))
            sensor = MovesenseSensor(
                address,
                serial=serial,
                source=PolarSource(self.rate_hz, samples.acc, samples.gyr, samples.mag),
                boot_ms_at_air0=boot_ms,
                clock_drift_ppm=ppm,
                utc_offset_s=rng.uniform(-5.0, 5.0),
            )
            if self.log_seconds:
                sensor.prefill_log([self.log_path], self.log_seconds)
            out.append(sensor)
        return out

    def sensor(self, address: str) -> MovesenseSensor:
        """The sensor at ``address`` (any case).

        Parameters
        ----------
        address : str
            One of :attr:`addresses`.
        """
        return self.sensors[self._position(address)]

    def true_sample_times_s(self, address: str) -> npt.NDArray[np.float64]:
        """True instant of each sample of the sensor's Logbook entry, in air time [s] (empty without one).

        Parameters
        ----------
        address : str
            The sensor's address.
        """
        i = self._position(address)
        n = self.sensors[i].samples_per_message  # built first: that draws the clocks
        boot_ns, ppm = self._clocks[i]
        rate = int(meas_resource(self.log_path)[1] or 0)
        # The DataLogger's grid: whole messages of samples k / rate since boot, from the start to the stop.
        first = -(-(boot_ns - round(self.log_seconds * 1e9)) * rate // 10**9)
        messages = len(range(first, boot_ns * rate // 10**9 - n + 2, n)) if self.log_seconds else 0
        k = first + np.arange(messages * n, dtype=np.float64)
        return (k / rate - boot_ns / 1e9) / (1.0 + ppm * 1e-6)
