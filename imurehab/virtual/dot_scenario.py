"""A virtual Movella DOT scenario: N virtual DOTs replaying simulated motion, on a virtual air with faults.

:class:`DotScenario` simulates a movement with :func:`imurehab.simulate.simulate_session` (sensors S1..SN
placed as in :data:`~imurehab.virtual.scenario.PLACEMENTS`, at the sensors' output rate, so streamed and
recorded sample ``k`` is simulated row ``k`` of the replayed session), builds one
:class:`~imurehab.virtual.dot_sensor.DotSensor` per simulated sensor, and ``async with scenario.start()
as air:`` puts them on a :class:`~imurehab.virtual.VirtualAir` with the faults of the ``--fault`` texts:
``loss=F`` (notifications lost), ``link-drop@S`` (air seconds while streaming, seconds into the file
while exporting: see :class:`~imurehab.virtual.dot_sensor.DotSensor`), ``silent@S`` (air seconds),
``drift-ppm=X`` (each sensor clock drifts by a seeded value in ±X ppm), and ``corrupt=F`` (that
fraction of exported packets fail their checksum). ``reboot@`` and ``overflow@`` are OSP firmware
faults and are refused.

Clocks: each sensor's SampleTimeFine at air time 0 is drawn (seeded) in its first 60 s after power on,
or, with ``clock_near_wrap_s``, that many seconds (plus up to one more, seeded) before the 2³² µs
rollover.

Examples
--------
>>> scenario = DotScenario(n_sensors=2, minutes=0.2, seed=3, faults=["corrupt=0.05", "loss=0.01"])
>>> scenario.corrupt, scenario.families == dict.fromkeys(scenario.addresses, "movella-dot")
(0.05, True)
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from functools import cached_property
from typing import Final

from imurehab.errors import DataValidationError
from imurehab.simulate import SimulatedSession, simulate_session
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.dot_sensor import DotSensor
from imurehab.virtual.faults import FaultPlan
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.polar_sensor import PolarSource
from imurehab.virtual.scenario import PLACEMENTS, check_scenario, scenario_addresses

__all__ = ["DotScenario"]

_SUPPORTED: Final = ("loss", "drift-ppm", "link-drop", "silent")
_WRAP_S: Final = 2**32 / 1e6


def _corrupt_fraction(faults: Sequence[str | Fault]) -> tuple[float, list[str | Fault]]:
    """Split ``corrupt=F`` (a DOT export fault the shared grammar does not know) from the others."""
    corrupt, rest = 0.0, []
    for f in faults:
        text = f.strip() if isinstance(f, str) else ""
        if not text.startswith("corrupt="):
            rest.append(f)
            continue
        try:
            corrupt = float(text.removeprefix("corrupt="))
        except ValueError:
            corrupt = math.nan
        if not 0.0 <= corrupt < 1.0:
            raise DataValidationError(f"bad fault {f!r}: FRACTION must be in [0, 1)")
    return corrupt, rest


class DotScenario:
    """Simulated motion streamed and recorded by virtual Movella DOT sensors.

    Parameters
    ----------
    n_sensors : int
        Sensors S1..SN (1–15).
    minutes : float
        Length of the simulated motion, replayed cyclically [min].
    rate_hz : float
        Output rate of the sensors and of the simulation [Hz] (a DOT records at up to 120 Hz).
    movement : str
        A simulated movement (``"walking"``, ``"squat"``, ...).
    faults : sequence of str or Fault
        ``loss=F``, ``link-drop@S``, ``silent@S``, ``drift-ppm=X``, ``corrupt=F``.
    seed : int
        Seed of the simulation, addresses, clocks, losses and corruption.
    clock_near_wrap_s : float, optional
        Start every sensor clock this many seconds (plus a seeded 0–1 s) before its 2³² µs rollover [s].
    invalid_data_numbers : iterable of int
        Data numbers every sensor reports as ExportFileDataInvalid (unreadable flash).
    export_link_drops : iterable of int
        DataNumbers after whose export packet every sensor's link drops (once each).
    retransmission_on_new_link : bool
        False: the sensors forget the file being exported on a link drop and refuse a Retransmission
        on the new link (see :class:`~imurehab.virtual.dot_sensor.DotSensor`).

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range or a fault a DOT cannot suffer.
    """

    def __init__(
        self,
        n_sensors: int = 2,
        minutes: float = 1.0,
        rate_hz: float = 60.0,
        movement: str = "walking",
        faults: Sequence[str | Fault] = (),
        seed: int = 0,
        *,
        clock_near_wrap_s: float | None = None,
        invalid_data_numbers: Iterable[int] = (),
        export_link_drops: Iterable[int] = (),
        retransmission_on_new_link: bool = True,
    ) -> None:
        if isinstance(faults, str):
            raise DataValidationError("faults must be a sequence of fault texts, not one string")
        self.corrupt, rest = _corrupt_fraction(faults)
        self.faults = check_scenario(n_sensors, minutes, rate_hz, movement, rest, seed, max_minutes=60.0)
        refused = [str(f) for f in self.faults if f.kind not in _SUPPORTED]
        if refused:
            raise DataValidationError(
                f"a virtual DOT cannot suffer {refused}; it takes {(*_SUPPORTED, 'corrupt')}"
            )
        if clock_near_wrap_s is not None and not 0.0 < clock_near_wrap_s < _WRAP_S:
            raise DataValidationError(f"clock_near_wrap_s must be in (0, {_WRAP_S:g}) s")
        self.n_sensors, self.minutes, self.rate_hz = n_sensors, float(minutes), float(rate_hz)
        self.movement, self.seed = movement, seed
        self.clock_near_wrap_s = clock_near_wrap_s
        self.invalid_data_numbers = frozenset(invalid_data_numbers)
        self.retransmission_on_new_link = retransmission_on_new_link
        self.export_link_drops = frozenset(export_link_drops)
        self.sensor_ids = [f"S{i}" for i in range(1, n_sensors + 1)]
        self.placements = dict(zip(self.sensor_ids, PLACEMENTS, strict=False))
        _, self.addresses = scenario_addresses("imurehab-virtual-dot", "D4", seed, n_sensors)

    @property
    def families(self) -> dict[str, str]:
        """Address → ``"movella-dot"`` (for :func:`imurehab.ble.stream`'s ``families``)."""
        return dict.fromkeys(self.addresses, "movella-dot")

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
    def sensors(self) -> list[DotSensor]:
        """The virtual sensors, S1 first."""
        rng = random.Random(f"imurehab-virtual-dot-clock/{self.seed}")
        drift = self._value("drift-ppm")
        recorded = {s.info.sensor_id: s for s in self.simulation.recording.sensors}
        truth = self.simulation.truth.sensors
        out = []
        for sid, address in zip(self.sensor_ids, self.addresses, strict=True):
            samples = recorded[sid]
            if self.clock_near_wrap_s is None:
                clock_us = round(rng.uniform(0.0, 60.0) * 1e6)
            else:
                clock_us = 2**32 - round((self.clock_near_wrap_s + rng.uniform(0.0, 1.0)) * 1e6)
            out.append(
                DotSensor(
                    address,
                    source=PolarSource(self.rate_hz, samples.acc, samples.gyr, samples.mag),
                    orientation=truth[sid].quat,
                    rate_hz=self.rate_hz,
                    clock_at_air0_us=clock_us,
                    clock_drift_ppm=rng.uniform(-drift, drift),
                    corrupt=self.corrupt,
                    invalid_data_numbers=self.invalid_data_numbers,
                    link_drop_at=[f.value for f in self.faults if f.kind == "link-drop"],
                    seed=self.seed,
                    export_link_drops=self.export_link_drops,
                    retransmission_on_new_link=self.retransmission_on_new_link,
                )
            )
        return out

    def sensor(self, address: str) -> DotSensor:
        """The sensor at ``address`` (any case).

        Parameters
        ----------
        address : str
            Its address.
        """
        return self.sensors[self.addresses.index(address.upper())]

    @contextlib.asynccontextmanager
    async def start(self) -> AsyncIterator[VirtualAir]:
        """Open a virtual air with the sensors on it and their faults scheduled."""
        plan = FaultPlan(
            notification_loss=self._value("loss"),
            silent_loss_at=tuple(f.value for f in self.faults if f.kind == "silent"),
        )
        async with VirtualAir(seed=self.seed) as air:
            for sensor in self.sensors:
                await air.add(sensor, plan)
            yield air
