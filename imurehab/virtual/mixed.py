"""Virtual scenarios of any family, and several of them on one air: a mixed session.

Every family's scenario (:class:`~imurehab.virtual.VirtualScenario` for OSP,
:class:`~imurehab.virtual.PolarScenario`, :class:`~imurehab.virtual.MovesenseScenario`,
:class:`~imurehab.virtual.DotScenario`) is a :class:`FamilyScenario`: it builds its virtual sensors from a
simulated movement, puts them on an air with the faults of its ``--fault`` texts (:meth:`FamilyScenario.
add_to`; :func:`fault_plan` is the air's share of them) and knows the true instant of every sample its
sensors logged before the air opened (:meth:`FamilyScenario.true_sample_times_s`), because each twin's
clock is defined against air time.

:class:`MixedScenario` puts several family scenarios on **one** :class:`~imurehab.virtual.VirtualAir`
(one air per central): e.g. OSP sensors on the legs and Movella DOTs on the trunk and head of one
simulated body, each family with its own sensors' faults. Give each family scenario its own
``first_placement`` so they strap their sensors on distinct segments (refused otherwise), and the same
``movement`` and ``seed`` so they all measure one body's movement.

Examples
--------
>>> from imurehab.virtual import DotScenario, VirtualScenario
>>> mixed = MixedScenario([
...     VirtualScenario(n_sensors=2, minutes=0.2, seed=1),
...     DotScenario(n_sensors=2, minutes=0.2, seed=1, first_placement=2, log_seconds=12.0),
... ])
>>> sorted(set(mixed.families.values())), list(mixed.placed().values())
(['movella-dot', 'osp'], ['thigh_right', 'shank_right', 'thigh_left', 'shank_left'])
>>> mixed = virtual_scenario(parse_family_specs(["polar-pmd:1", "movesense-gsp"], 2), minutes=0.2, seed=1)
>>> mixed.placed() == dict(zip(mixed.addresses, ["thigh_right", "shank_right", "thigh_left"]))
True
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError, SimulationError
from imurehab.simulate.shake import SensorShake, ShakeSeries
from imurehab.virtual import shake_overlay
from imurehab.virtual._radio import Airtime
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.faults import FaultPlan
from imurehab.virtual.osp_faults import Fault

__all__ = [
    "SCENARIO_FAMILIES",
    "FamilyScenario",
    "MixedScenario",
    "fault_plan",
    "nearest_rate",
    "parse_family_specs",
    "virtual_scenario",
]

SCENARIO_FAMILIES: Final = ("osp", "polar-pmd", "movesense-gsp", "movella-dot")
"""Families with a virtual scenario (see :func:`virtual_scenario`)."""


def fault_plan(
    faults: Sequence[Fault],
    *,
    on_air: Collection[str] = ("link-drop", "silent"),
    link_drop_after: Sequence[int] = (),
) -> FaultPlan:
    """The air's share of a scenario's faults: ``loss=F`` on every link and the events the air fires.

    Parameters
    ----------
    faults : sequence of Fault
        The scenario's parsed faults.
    on_air : collection of str
        Which of ``link-drop`` and ``silent`` the air fires at their air time [s] (a family whose
        sensors fire one themselves leaves it out).
    link_drop_after : sequence of int
        Drop each link right after its n-th notification (see :class:`~imurehab.virtual.FaultPlan`).

    Returns
    -------
    FaultPlan
    """

    def times(kind: str) -> tuple[float, ...]:
        return tuple(f.value for f in faults if f.kind == kind and kind in on_air)

    return FaultPlan(
        notification_loss=next((f.value for f in faults if f.kind == "loss"), 0.0),
        link_drop_at=times("link-drop"),
        silent_loss_at=times("silent"),
        link_drop_after=tuple(link_drop_after),
    )


class FamilyScenario:
    """What the virtual scenarios of every family share: their sensors put on an air, with their faults.

    A family's scenario sets ``seed``, ``faults``, ``addresses``, ``placements`` (sensor id → segment)
    and ``sensors`` (one virtual peripheral per address, in order), and says which faults the air fires
    for it (:attr:`air_faults`).
    """

    family: ClassVar[str]
    air_faults: ClassVar[tuple[str, ...]] = ("link-drop", "silent")
    seed: int
    faults: tuple[Fault, ...]
    addresses: list[str]
    sensor_ids: list[str]
    placements: dict[str, str]
    origin_monotonic: float | None = None
    """Event-loop time (``time.monotonic()``) of air time 0 of the first air the sensors went on [s]."""

    @property
    def families(self) -> dict[str, str]:
        """Address → family (for :func:`imurehab.ble.stream` and :func:`imurehab.ble.sync`)."""
        return dict.fromkeys(self.addresses, self.family)

    @property
    def sensors(self) -> Sequence[Any]:
        """The virtual sensors, one per address (each family's scenario makes them)."""
        raise NotImplementedError

    def placed(self) -> dict[str, str]:
        """Address → segment of every sensor."""
        return dict(zip(self.addresses, self.placements.values(), strict=True))

    def fault_plan(self) -> FaultPlan:
        """The air's share of the faults (see :func:`fault_plan`)."""
        return fault_plan(self.faults, on_air=self.air_faults)

    async def add_to(self, air: VirtualAir, plan: FaultPlan | None = None) -> None:
        """Put the sensors on ``air`` with their faults (the first air also fixes their clocks).

        Parameters
        ----------
        air : VirtualAir
            An open air.
        plan : FaultPlan, optional
            A fault plan to use instead of the scenario's fault texts.
        """
        plan = plan or self.fault_plan()
        for sensor in self.sensors:
            await air.add(sensor, plan)
        if self.origin_monotonic is None:
            self.origin_monotonic = asyncio.get_running_loop().time() - air.time
        self._on_air(air)

    def _on_air(self, air: VirtualAir) -> None:
        """Called once the sensors are on ``air`` (their clocks read air time)."""
        del air

    @contextlib.asynccontextmanager
    async def start(
        self, plan: FaultPlan | None = None, *, airtime: Airtime | None = None
    ) -> AsyncIterator[VirtualAir]:
        """Open a virtual air with the sensors on it (``async with scenario.start() as air:``).

        Parameters
        ----------
        plan : FaultPlan, optional
            A fault plan to use instead of the scenario's fault texts (e.g. ``link_drop_after``).
        airtime : Airtime, optional
            Give the air a radio that takes time (see :class:`~imurehab.virtual.Airtime`).

        Yields
        ------
        VirtualAir
            The air (current in the context, so the bleak backend classes find it).
        """
        if not self.sensors:  # built (and simulated) before the air opens, so it opens on them at once
            raise SimulationError("a scenario without sensors")
        async with VirtualAir(seed=self.seed, airtime=airtime) as air:
            await self.add_to(air, plan)
            yield air

    def true_sample_times_s(self, address: str) -> npt.NDArray[np.float64]:
        """True instant of each sample of the session the sensor logged, first to last, in air time [s].

        Add :attr:`origin_monotonic` for event-loop time (``time.monotonic()``).

        Parameters
        ----------
        address : str
            The sensor's address.
        """
        raise NotImplementedError

    def _position(self, address: str) -> int:
        try:
            return self.addresses.index(address.upper())
        except ValueError:
            raise SimulationError(f"no sensor {address} in this scenario") from None


class MixedScenario(shake_overlay.ShakeInsideLogs):
    """Several families' virtual scenarios on one virtual air: one body, one session.

    Parameters
    ----------
    scenarios : sequence of FamilyScenario
        One scenario per family (or several of one family), with distinct addresses and segments.
    seed : int
        Seed of the shared air (its losses).
    shake : SensorShake or ShakeSeries, optional
        Sensors shaken together (once, or at both ends) in their logs: see
        :mod:`~imurehab.virtual.shake_overlay` (default none).

    Raises
    ------
    imurehab.errors.DataValidationError
        No scenario, or two sensors with one address or on one segment.
    """

    def __init__(
        self,
        scenarios: Sequence[FamilyScenario],
        seed: int = 0,
        *,
        shake: SensorShake | ShakeSeries | None = None,
    ) -> None:
        if not scenarios:
            raise DataValidationError("a mixed scenario needs at least one family scenario")
        self.scenarios, self.seed = list(scenarios), seed
        self.addresses = [a for s in self.scenarios for a in s.addresses]
        segments = [seg for s in self.scenarios for seg in s.placements.values()]
        for what, values in (("address", self.addresses), ("segment", segments)):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise DataValidationError(
                    f"two sensors of the mixed scenario share the {what} {repeated}; "
                    "give each family scenario its own first_placement"
                )
        self.origin_monotonic: float | None = None
        self.shake = shake
        for s in self.scenarios if shake is not None else ():
            shake_overlay.apply_shake(s, shake)

    @property
    def families(self) -> dict[str, str]:
        """Address → family, every sensor."""
        return {a: f for s in self.scenarios for a, f in s.families.items()}

    def scenario(self, address: str) -> FamilyScenario:
        """The family scenario of the sensor at ``address``.

        Parameters
        ----------
        address : str
            Its address (any case).
        """
        for s in self.scenarios:
            if address.upper() in s.addresses:
                return s
        raise SimulationError(f"no sensor {address} in this scenario")

    def sensor(self, address: str) -> Any:
        """The virtual sensor at ``address``.

        Parameters
        ----------
        address : str
            Its address (any case).
        """
        s = self.scenario(address)
        return s.sensors[s.addresses.index(address.upper())]

    def placed(self) -> dict[str, str]:
        """Address → segment of every sensor, every family."""
        return {a: segment for s in self.scenarios for a, segment in s.placed().items()}

    def true_sample_times_s(self, address: str) -> npt.NDArray[np.float64]:
        """True instant of each logged sample of the sensor at ``address``, in air time [s].

        Parameters
        ----------
        address : str
            Its address.
        """
        return self.scenario(address).true_sample_times_s(address)

    @contextlib.asynccontextmanager
    async def start(self, *, airtime: Airtime | None = None) -> AsyncIterator[VirtualAir]:
        """Open one virtual air with every family's sensors on it, each with its own faults.

        Parameters
        ----------
        airtime : Airtime, optional
            Give the air a radio that takes time (see :class:`~imurehab.virtual.Airtime`).

        Yields
        ------
        VirtualAir
            The air (current in the context, so the bleak backend classes find it).
        """
        if not all(s.sensors for s in self.scenarios):  # built (and simulated) before the air opens
            raise SimulationError("a scenario without sensors")
        async with VirtualAir(seed=self.seed, airtime=airtime) as air:
            for s in self.scenarios:
                await s.add_to(air)
            if self.origin_monotonic is None:
                self.origin_monotonic = asyncio.get_running_loop().time() - air.time
            yield air


def nearest_rate(rate_hz: float, offered: Sequence[Any]) -> Any:
    """The offered rate nearest ``rate_hz``.

    Parameters
    ----------
    rate_hz : float
        Rate asked for [Hz].
    offered : sequence
        Rates offered [Hz].
    """
    return min(offered, key=lambda r: abs(r - rate_hz))


def parse_family_specs(texts: Sequence[str], n_sensors: int) -> list[tuple[str, int]]:
    """(family, sensors) of ``FAMILY`` or ``FAMILY:N`` texts (``--virtual-family``).

    Parameters
    ----------
    texts : sequence of str
        One text per family, each family once: ``osp``, ``polar-pmd:1``, ...
    n_sensors : int
        Sensors of a family given without ``:N``.

    Raises
    ------
    imurehab.errors.DataValidationError
        An unknown family, a family given twice, a bad N, or more sensors than body segments.
    """
    from imurehab.virtual.scenario import PLACEMENTS

    specs: list[tuple[str, int]] = []
    for text in texts:
        family, _, count = text.strip().partition(":")
        if family not in SCENARIO_FAMILIES:
            raise DataValidationError(f"unknown family {family!r}: one of {', '.join(SCENARIO_FAMILIES)}")
        n = int(count) if count.isdigit() else 0 if count else n_sensors
        if not 1 <= n <= len(PLACEMENTS) or family in dict(specs):
            raise DataValidationError(f"{text!r}: give each family once, with N in 1..{len(PLACEMENTS)}")
        specs.append((family, n))
    if sum(n for _, n in specs) > len(PLACEMENTS):
        raise DataValidationError(f"more virtual sensors than the {len(PLACEMENTS)} body segments")
    return specs


def virtual_scenario(
    specs: Sequence[tuple[str, int]],
    *,
    minutes: float = 1.0,
    rate_hz: float = 200.0,
    movement: str = "walking",
    faults: Sequence[str] = (),
    seed: int = 0,
    log: bool = False,
    state_file: Path | None = None,
    shake: bool = False,
) -> FamilyScenario | MixedScenario:
    """One family's virtual scenario, or a :class:`MixedScenario` of several on distinct segments of one body.

    Parameters
    ----------
    specs : sequence of (str, int)
        (family, sensors), e.g. from :func:`parse_family_specs`; segments are given in this order.
    minutes : float
        Length of the simulated movement [min].
    rate_hz : float
        Rate asked for [Hz]: OSP samples at it; the others simulate at it and log or record at their
        rate nearest it (a DOT at its nearest streaming rate).
    movement : str
        The simulated movement, one for all families.
    faults : sequence of str
        Fault texts for every family (a family refuses a fault it cannot suffer, naming itself).
    seed : int
        Seed of every scenario and of the shared air.
    log : bool
        Give every non-OSP sensor a session of ``minutes`` logged before the air opens (OSP sensors
        always hold one): a Polar offline recording, a Movesense Logbook entry, a DOT flash recording.
    state_file : Path, optional
        The OSP scenario's state file (see :class:`~imurehab.virtual.VirtualScenario`).
    shake : bool
        Shake the sensors together in their logs, at both ends when they are long enough (implies
        ``log``; a :class:`MixedScenario` even of one family; see :meth:`MixedScenario.shake_inside_logs`).

    Raises
    ------
    imurehab.errors.DataValidationError
        A parameter or fault a family refuses (the message names the family).
    """
    from imurehab.protocols import load_profile
    from imurehab.protocols.movesense import RATES_HZ
    from imurehab.virtual.dot_scenario import DotScenario
    from imurehab.virtual.movesense_scenario import MovesenseScenario
    from imurehab.virtual.polar_scenario import PolarScenario
    from imurehab.virtual.scenario import VirtualScenario

    log_s = minutes * 60.0 if log or shake else 0.0
    scenarios: list[FamilyScenario] = []
    first = 0
    for family, n in specs:
        kw: dict[str, Any] = dict(n_sensors=n, minutes=minutes, rate_hz=rate_hz, movement=movement, seed=seed)
        kw.update(faults=tuple(faults), first_placement=first)
        try:
            if family == "osp":
                if state_file is not None:
                    state_file.parent.mkdir(parents=True, exist_ok=True)
                scenarios.append(VirtualScenario(state_file=state_file, **kw))
            elif family == "polar-pmd":
                scenarios.append(PolarScenario(log_seconds=log_s, **kw))
            elif family == "movesense-gsp":
                path = f"/Meas/IMU6/{nearest_rate(rate_hz, RATES_HZ)}"
                scenarios.append(MovesenseScenario(log_seconds=log_s, log_path=path, **kw))
            else:
                kw["rate_hz"] = nearest_rate(rate_hz, load_profile("movella-dot")["rates"]["streaming_hz"])
                scenarios.append(DotScenario(log_seconds=log_s, **kw))
        except DataValidationError as err:
            raise DataValidationError(f"{family}: {err}") from None
        first += n
    if shake:
        try:  # at both ends of the logs when they are long enough, else once
            shakes = shake_overlay.shake_inside_logs(scenarios, seed=seed, count=2)
        except SimulationError:
            shakes = shake_overlay.shake_inside_logs(scenarios, seed=seed)
        return MixedScenario(scenarios, seed=seed, shake=shakes)
    return scenarios[0] if len(scenarios) == 1 else MixedScenario(scenarios, seed=seed)
