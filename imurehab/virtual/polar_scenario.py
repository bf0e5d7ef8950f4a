"""A virtual Polar scenario: N virtual Verity Sense sensors replaying simulated motion, on a virtual air.

:class:`PolarScenario` simulates a movement with :func:`imurehab.simulate.simulate_session` (sensors S1..SN
placed as in :data:`~imurehab.virtual.scenario.PLACEMENTS`), builds one
:class:`~imurehab.virtual.polar_sensor.PolarSensor` per simulated sensor replaying it, and ``async with
scenario.start() as air:`` puts them on a :class:`~imurehab.virtual.VirtualAir` with the faults of the
``--fault`` texts that a Polar stream can suffer: ``loss=F`` (notifications lost), ``link-drop@S`` and
``silent@S`` (air seconds), ``drift-ppm=X`` (each sensor clock drifts by a seeded value in ±X ppm).
``reboot@`` and ``overflow@`` are OSP firmware faults and are refused. Each sensor clock reads a seeded
local time (Polar clocks are set by the phone, to local time, not UTC).

Examples
--------
>>> scenario = PolarScenario(n_sensors=2, minutes=0.2, seed=3, faults=["loss=0.02"])
>>> scenario.names
['Polar Sense FCC11501', 'Polar Sense FCC11502']
>>> scenario.families == {a: "polar-pmd" for a in scenario.addresses}
True
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Sequence
from functools import cached_property
from typing import Final

from imurehab.errors import DataValidationError
from imurehab.simulate import SimulatedSession, simulate_session
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.faults import FaultPlan
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.polar_sensor import PolarSensor, PolarSource
from imurehab.virtual.scenario import PLACEMENTS, check_scenario, scenario_addresses

__all__ = ["PolarScenario"]

_SUPPORTED: Final = ("loss", "drift-ppm", "link-drop", "silent")
_CLOCK_BASE_S: Final = 820_000_000  # sensor clocks read about 2025-12-27 [s since 2000-01-01]


class PolarScenario:
    """Simulated motion streamed by virtual Polar Verity Sense sensors.

    Parameters
    ----------
    n_sensors : int
        Sensors S1..SN (1–15).
    minutes : float
        Length of the simulated motion, replayed cyclically [min].
    rate_hz : float
        Rate of the simulation [Hz] (the sensors stream at the rate the host negotiates).
    movement : str
        A simulated movement (``"walking"``, ``"squat"``, ...).
    faults : sequence of str or Fault
        ``loss=F``, ``link-drop@S``, ``silent@S``, ``drift-ppm=X``.
    seed : int
        Seed of the simulation, device ids, clocks and losses.
    link_drop_after : sequence of int
        Drop each sensor's link right after its n-th notification (see
        :class:`~imurehab.virtual.FaultPlan`): a drop at a data-driven point, e.g. in the middle of a
        PFTP download.
    max_file_bytes : int
        Size above which a sensor splits an offline recording into parts [bytes].

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range or a fault a Polar sensor cannot suffer.
    """

    def __init__(
        self,
        n_sensors: int = 2,
        minutes: float = 1.0,
        rate_hz: float = 208.0,
        movement: str = "walking",
        faults: Sequence[str | Fault] = (),
        seed: int = 0,
        link_drop_after: Sequence[int] = (),
        max_file_bytes: int = 65_536,
    ) -> None:
        self.faults = check_scenario(n_sensors, minutes, rate_hz, movement, faults, seed, max_minutes=60.0)
        refused = [str(f) for f in self.faults if f.kind not in _SUPPORTED]
        if refused:
            raise DataValidationError(
                f"a virtual Polar sensor cannot suffer {refused}; it takes {_SUPPORTED}"
            )
        self.n_sensors, self.minutes, self.rate_hz = n_sensors, float(minutes), float(rate_hz)
        self.movement, self.seed = movement, seed
        self.link_drop_after, self.max_file_bytes = tuple(link_drop_after), max_file_bytes
        self.sensor_ids = [f"S{i}" for i in range(1, n_sensors + 1)]
        self.placements = dict(zip(self.sensor_ids, PLACEMENTS, strict=False))
        tag, self.addresses = scenario_addresses("imurehab-virtual-polar", "F2", seed, n_sensors)
        self.device_ids = [f"{tag & 0xFFFFFF:06X}{i:02X}" for i in range(1, n_sensors + 1)]
        self.names = [f"Polar Sense {d}" for d in self.device_ids]

    @property
    def families(self) -> dict[str, str]:
        """Address → ``"polar-pmd"`` (for :func:`imurehab.ble.stream`'s ``families``)."""
        return dict.fromkeys(self.addresses, "polar-pmd")

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
    def sensors(self) -> list[PolarSensor]:
        """The virtual sensors, S1 first."""
        rng = random.Random(f"imurehab-virtual-polar-clock/{self.seed}")
        drift = self._value("drift-ppm")
        recorded = {s.info.sensor_id: s for s in self.simulation.recording.sensors}
        out = []
        for sid, address, device_id in zip(self.sensor_ids, self.addresses, self.device_ids, strict=True):
            samples = recorded[sid]
            local_s = _CLOCK_BASE_S + 3600 + rng.uniform(-30.0, 30.0)  # local time (UTC+1), set imprecisely
            out.append(
                PolarSensor(
                    address,
                    device_id=device_id,
                    source=PolarSource(self.rate_hz, samples.acc, samples.gyr, samples.mag),
                    clock_at_air0_ns=round(local_s * 1e9),
                    clock_drift_ppm=rng.uniform(-drift, drift),
                    max_file_bytes=self.max_file_bytes,
                )
            )
        return out

    def sensor(self, address: str) -> PolarSensor:
        """The sensor at ``address`` (any case)."""
        return self.sensors[self.addresses.index(address.upper())]

    @contextlib.asynccontextmanager
    async def start(self) -> AsyncIterator[VirtualAir]:
        """Open a virtual air with the sensors on it and their faults scheduled."""
        plan = FaultPlan(
            notification_loss=self._value("loss"),
            link_drop_at=tuple(f.value for f in self.faults if f.kind == "link-drop"),
            link_drop_after=self.link_drop_after,
            silent_loss_at=tuple(f.value for f in self.faults if f.kind == "silent"),
        )
        async with VirtualAir(seed=self.seed) as air:
            for sensor in self.sensors:
                await air.add(sensor, plan)
            yield air
