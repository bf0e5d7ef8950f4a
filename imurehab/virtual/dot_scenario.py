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

Clocks: each sensor's SampleTimeFine at air time 0 is drawn (seeded) in its first 60 s after power on
(after ``log_seconds``), or, with ``clock_near_wrap_s``, that many seconds (plus up to one more, seeded)
before the 2³² µs rollover.

With ``log_seconds``, each sensor holds a recording on its flash that ran for that long until air time 0,
stamped with the true UTC second of its start, ready for :func:`~imurehab.ble.dot_sync.sync_dot`;
:meth:`~DotScenario.true_sample_times_s` gives the true instant of each of its samples.

Examples
--------
>>> scenario = DotScenario(n_sensors=2, minutes=0.2, seed=3, faults=["corrupt=0.05", "loss=0.01"])
>>> scenario.corrupt, scenario.families == dict.fromkeys(scenario.addresses, "movella-dot")
(0.05, True)
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.simulate import SimulatedSession, simulate_session
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.dot_flash import DotRecording
from imurehab.virtual.dot_sensor import DotSensor
from imurehab.virtual.mixed import FamilyScenario
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.polar_sensor import PolarSource
from imurehab.virtual.scenario import check_placement, check_scenario, scenario_addresses

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


class DotScenario(FamilyScenario):
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
    log_seconds : float
        Length of the recording each sensor holds on its flash at air time 0 [s] (0: none).
    first_placement : int
        Index in :data:`~imurehab.virtual.scenario.PLACEMENTS` of S1's segment.

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range or a fault a DOT cannot suffer.
    """

    family = "movella-dot"
    air_faults = ("silent",)  # a DOT fires its link drops itself (streaming or exporting)

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
        log_seconds: float = 0.0,
        first_placement: int = 0,
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
        if not 0.0 <= log_seconds <= 3600.0:
            raise DataValidationError(f"log_seconds must be in [0, 3600], got {log_seconds}")
        self.log_seconds = float(log_seconds)
        self.sensor_ids, self.placements = check_placement(n_sensors, first_placement)
        self._clocks: list[tuple[int, float]] = []  # per sensor: clock at air time 0 [µs], drift [ppm]
        self._logged = False
        _, self.addresses = scenario_addresses("imurehab-virtual-dot", "D4", seed, n_sensors)

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
    def sensors(self) -> list[DotSensor]:  # type: ignore[override]
        """The virtual sensors, S1 first."""
        rng = random.Random(f"imurehab-virtual-dot-clock/{self.seed}")
        drift = self._value("drift-ppm")
        recorded = {s.info.sensor_id: s for s in self.simulation.recording.sensors}
        truth = self.simulation.truth.sensors
        out = []
        for sid, address in zip(self.sensor_ids, self.addresses, strict=True):
            samples = recorded[sid]
            if self.clock_near_wrap_s is None:
                clock_us = round((rng.uniform(0.0, 60.0) + self.log_seconds) * 1e6)
            else:
                clock_us = 2**32 - round((self.clock_near_wrap_s + rng.uniform(0.0, 1.0)) * 1e6)
            self._clocks.append((clock_us, rng.uniform(-drift, drift)))
            out.append(
                DotSensor(
                    address,
                    source=PolarSource(self.rate_hz, samples.acc, samples.gyr, samples.mag),
                    orientation=truth[sid].quat,
                    rate_hz=self.rate_hz,
                    clock_at_air0_us=clock_us,
                    clock_drift_ppm=self._clocks[-1][1],
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
        return self.sensors[self._position(address)]

    def _recorded_k(self) -> npt.NDArray[np.int64]:
        """Grid samples of the prefilled recording: the ``log_seconds`` before air time 0."""
        return np.arange(-round(self.log_seconds * self.rate_hz), 0, dtype=np.int64)

    def _on_air(self, air: VirtualAir) -> None:
        """Put the recording that ran until air time 0 on every flash, once, with its true start second."""
        if not self.log_seconds or self._logged:
            return
        self._logged = True
        utc_at_air0_s, k = time.time() - air.time, self._recorded_k()
        for sensor, address in zip(self.sensors, self.addresses, strict=True):
            start_s = math.floor(utc_at_air0_s + float(self.true_sample_times_s(address)[0]))
            sensor.flash.files.append(DotRecording(start_s, int(k[0]), int(k[-1])))

    def true_sample_times_s(self, address: str) -> npt.NDArray[np.float64]:
        """True instant of each sample of the sensor's prefilled recording, in air time [s].

        Parameters
        ----------
        address : str
            The sensor's address.
        """
        i = self._position(address)
        device_us = self.sensors[i].sample_time_us(self._recorded_k())  # built first: that draws the clocks
        clock_us, ppm = self._clocks[i]
        return (device_us - clock_us) / 1e6 / (1.0 + ppm * 1e-6)
