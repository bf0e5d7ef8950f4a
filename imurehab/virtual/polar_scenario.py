"""A virtual Polar scenario: N virtual Verity Sense sensors replaying simulated motion, on a virtual air.

:class:`PolarScenario` simulates a movement with :func:`imurehab.simulate.simulate_session` (sensors S1..SN
placed as in :data:`~imurehab.virtual.scenario.PLACEMENTS`), builds one
:class:`~imurehab.virtual.polar_sensor.PolarSensor` per simulated sensor replaying it, and ``async with
scenario.start() as air:`` puts them on a :class:`~imurehab.virtual.VirtualAir` with the faults of the
``--fault`` texts that a Polar stream can suffer: ``loss=F`` (notifications lost), ``link-drop@S`` and
``silent@S`` (air seconds), ``drift-ppm=X`` (each sensor clock drifts by a seeded value in ±X ppm).
``reboot@`` and ``overflow@`` are OSP firmware faults and are refused. Each sensor clock reads a seeded
local time (Polar clocks are set by the phone, to local time, not UTC). With ``log_seconds``, each sensor
holds an offline recording (ACC and GYRO, at the sensor rate nearest ``rate_hz``) that ran for that long
until the sensor went on the air (air time 0, or a few ms after), ready for
:func:`~imurehab.ble.polar_offline.sync_polar`; :meth:`~PolarScenario.true_sample_times_s` gives the true
instant of each of its ACC samples.

Examples
--------
>>> scenario = PolarScenario(n_sensors=2, minutes=0.2, seed=3, faults=["loss=0.02"])
>>> scenario.names
['Polar Sense FCC11501', 'Polar Sense FCC11502']
>>> scenario.families == {a: "polar-pmd" for a in scenario.addresses}
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
from imurehab.protocols.polar_pmd import decode_offline_recording
from imurehab.simulate import SimulatedSession, simulate_session
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.faults import FaultPlan
from imurehab.virtual.mixed import FamilyScenario, fault_plan
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.polar_sensor import SDK_MODE, PolarSensor, PolarSource
from imurehab.virtual.scenario import check_placement, check_scenario, scenario_addresses

__all__ = ["PolarScenario"]

_SUPPORTED: Final = ("loss", "drift-ppm", "link-drop", "silent")
_CLOCK_BASE_S: Final = 820_000_000  # sensor clocks read about 2025-12-27 [s since 2000-01-01]
_RECORDED: Final = {"acc": 8, "gyro": 2000}  # measurement → range [g, deg/s] of the prefilled recording


class PolarScenario(FamilyScenario):
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
    log_seconds : float
        Length of the offline recording each sensor holds at air time 0 [s] (0: none).
    first_placement : int
        Index in :data:`~imurehab.virtual.scenario.PLACEMENTS` of S1's segment.

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter out of range or a fault a Polar sensor cannot suffer.
    """

    family = "polar-pmd"

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
        log_seconds: float = 0.0,
        first_placement: int = 0,
    ) -> None:
        self.faults = check_scenario(n_sensors, minutes, rate_hz, movement, faults, seed, max_minutes=60.0)
        refused = [str(f) for f in self.faults if f.kind not in _SUPPORTED]
        if refused:
            raise DataValidationError(
                f"a virtual Polar sensor cannot suffer {refused}; it takes {_SUPPORTED}"
            )
        self.n_sensors, self.minutes, self.rate_hz = n_sensors, float(minutes), float(rate_hz)
        self.movement, self.seed = movement, seed
        if not 0.0 <= log_seconds <= 3600.0:
            raise DataValidationError(f"log_seconds must be in [0, 3600], got {log_seconds}")
        self.link_drop_after, self.max_file_bytes = tuple(link_drop_after), max_file_bytes
        self.log_seconds = float(log_seconds)
        rates = set(SDK_MODE["acc"]["sample_rate_hz"]) & set(SDK_MODE["gyro"]["sample_rate_hz"])
        self.log_rate_hz = min(sorted(rates), key=lambda r: abs(r - rate_hz))
        """Rate of the offline recording [Hz]: the sensor's nearest to ``rate_hz``."""
        self.sensor_ids, self.placements = check_placement(n_sensors, first_placement)
        self._clocks: list[tuple[int, float]] = []  # per sensor: clock at air time 0 [ns], drift [ppm]
        self._logged: dict[str, npt.NDArray[np.int64]] = {}  # address → recorded ACC samples (grid k)
        tag, self.addresses = scenario_addresses("imurehab-virtual-polar", "F2", seed, n_sensors)
        self.device_ids = [f"{tag & 0xFFFFFF:06X}{i:02X}" for i in range(1, n_sensors + 1)]
        self.names = [f"Polar Sense {d}" for d in self.device_ids]

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
    def sensors(self) -> list[PolarSensor]:  # type: ignore[override]
        """The virtual sensors, S1 first."""
        rng = random.Random(f"imurehab-virtual-polar-clock/{self.seed}")
        drift = self._value("drift-ppm")
        recorded = {s.info.sensor_id: s for s in self.simulation.recording.sensors}
        out = []
        for sid, address, device_id in zip(self.sensor_ids, self.addresses, self.device_ids, strict=True):
            samples = recorded[sid]
            local_s = _CLOCK_BASE_S + 3600 + rng.uniform(-30.0, 30.0)  # local time (UTC+1), set imprecisely
            self._clocks.append((round(local_s * 1e9), rng.uniform(-drift, drift)))
            out.append(
                PolarSensor(
                    address,
                    device_id=device_id,
                    source=PolarSource(self.rate_hz, samples.acc, samples.gyr, samples.mag),
                    clock_at_air0_ns=self._clocks[-1][0],
                    clock_drift_ppm=self._clocks[-1][1],
                    max_file_bytes=self.max_file_bytes,
                )
            )
        return out

    def sensor(self, address: str) -> PolarSensor:
        """The sensor at ``address`` (any case).

        Parameters
        ----------
        address : str
            One of :attr:`addresses`.
        """
        return self.sensors[self._position(address)]

    def fault_plan(self) -> FaultPlan:
        """The air's share of the faults, with ``link_drop_after``."""
        return fault_plan(self.faults, link_drop_after=self.link_drop_after)

    def _on_air(self, air: VirtualAir) -> None:
        """Store the offline recordings that ran until now (the sensors just went on the air), once."""
        del air
        if not self.log_seconds or self._logged:
            return
        for address, sensor in zip(self.addresses, self.sensors, strict=True):
            first_k = sensor.prefill_recording(_RECORDED, self.log_seconds, self.log_rate_hz)
            parts = sorted((p for p in sensor.psftp.files if "/ACC" in p), key=lambda p: (len(p), p))
            stored = decode_offline_recording([sensor.psftp.files[p] for p in parts]).samples.time_ns
            self._logged[address] = first_k + np.arange(len(stored), dtype=np.int64)

    def true_sample_times_s(self, address: str) -> npt.NDArray[np.float64]:
        """True instant of each ACC sample of the sensor's offline recording, in air time [s].

        Parameters
        ----------
        address : str
            The sensor's address.
        """
        clock_ns, ppm = self._clocks[self._position(address)]
        k = self._logged[address.upper()]
        device_ns = clock_ns + (k * 10**9) // self.log_rate_hz  # the sensor's sample grid
        return (device_ns - clock_ns) / 1e9 / (1.0 + ppm * 1e-6)
