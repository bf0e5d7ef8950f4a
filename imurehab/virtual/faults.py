"""Faults a virtual peripheral suffers on the virtual air, and the record of what was injected.

A :class:`FaultPlan` is declared per peripheral when it is added to a :class:`~imurehab.virtual.VirtualAir`.
Every random choice comes from a generator seeded with the air's seed and the peripheral's address, so a
run with the same seed drops exactly the same notifications. Only notifications are ever lost: requests,
responses, indications and their confirmations always pass (a lost request would hang Bumble's GATT
client for 30 s; a real link layer retransmits them anyway).

Times are seconds of air time (:attr:`VirtualAir.time <imurehab.virtual.VirtualAir.time>`, counted from
entering the air). There is no airtime model: a fault fires when the event loop gets to it, so tests
should assert what happened (see :class:`LinkStats`), never when.

Examples
--------
>>> from imurehab.virtual import FaultPlan
>>> plan = FaultPlan(notification_loss=0.1, link_drop_after=(500,))
>>> plan.notification_loss, plan.link_drop_after
(0.1, (500,))
>>> FaultPlan(notification_loss=1.5)
Traceback (most recent call last):
...
imurehab.errors.SimulationError: notification_loss must be in [0, 1), got 1.5
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from imurehab.errors import SimulationError

__all__ = ["DroppedNotification", "FaultPlan", "LinkStats"]

#: Bumble's GATT request timeout [s]; a supervision timeout must stay well below it.
_BUMBLE_GATT_TIMEOUT_S = 30.0


def _check_times(name: str, times: tuple[float, ...]) -> None:
    for t in times:
        if not (math.isfinite(t) and t >= 0.0):
            raise SimulationError(f"{name} must hold finite times >= 0 s, got {t!r}")


@dataclass(frozen=True)
class FaultPlan:
    """The faults one virtual peripheral suffers, deterministic for the air's seed.

    Parameters
    ----------
    notification_loss : float
        Fraction in [0, 1) of the peripheral's notifications lost on the air. Each notification is
        dropped independently with this probability, drawn from the seeded generator.
    link_drop_at : tuple of float
        Air times [s] at which the link drops (both sides see a supervision timeout, HCI reason 0x08).
        A drop when nothing is connected does nothing.
    link_drop_after : tuple of int
        Drop the link right after the peripheral's n-th notification put on the air (counted from 1 over
        the whole run, lost ones included): a data-driven trigger independent of timing.
    silent_loss_at : tuple of float
        Air times [s] at which the link goes silent: the peripheral's notifications stop arriving
        (requests are still answered), and ``supervision_timeout`` later the link drops.
    reboot_at : tuple of float
        Air times [s] at which the peripheral reboots (see
        :meth:`VirtualPeripheral.reboot <imurehab.virtual.VirtualPeripheral.reboot>`).
    supervision_timeout : float
        Seconds between the start of a silent loss and the link drop it ends in; at most 10 s.
    reboot_downtime : float
        Seconds a rebooting peripheral stays off the air before it advertises again.
    """

    notification_loss: float = 0.0
    link_drop_at: tuple[float, ...] = ()
    link_drop_after: tuple[int, ...] = ()
    silent_loss_at: tuple[float, ...] = ()
    reboot_at: tuple[float, ...] = ()
    supervision_timeout: float = 2.0
    reboot_downtime: float = 0.5

    def __post_init__(self) -> None:
        if not (0.0 <= self.notification_loss < 1.0):
            raise SimulationError(f"notification_loss must be in [0, 1), got {self.notification_loss}")
        for name in ("link_drop_at", "silent_loss_at", "reboot_at"):
            _check_times(name, getattr(self, name))
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in self.link_drop_after):
            raise SimulationError(
                f"link_drop_after must hold notification counts >= 1, got {self.link_drop_after}"
            )
        if not (0.0 < self.supervision_timeout <= _BUMBLE_GATT_TIMEOUT_S / 3):
            limit = _BUMBLE_GATT_TIMEOUT_S / 3
            raise SimulationError(
                f"supervision_timeout must be in (0, {limit:g}] s, got {self.supervision_timeout}"
            )
        if not (math.isfinite(self.reboot_downtime) and self.reboot_downtime >= 0.0):
            raise SimulationError(
                f"reboot_downtime must be a finite number of seconds >= 0, got {self.reboot_downtime}"
            )


@dataclass(frozen=True)
class DroppedNotification:
    """One notification the air lost on purpose.

    Attributes
    ----------
    index : int
        Its place among all notifications the peripheral put on the air, counted from 0.
    handle : int
        ATT handle of the characteristic value it carried.
    value : bytes
        The exact bytes lost.
    """

    index: int
    handle: int
    value: bytes


@dataclass
class LinkStats:
    """What happened on the air for one peripheral: counts and the exact notifications lost.

    Attributes
    ----------
    notifications_sent : int
        Notifications the peripheral put on the air (delivered plus dropped).
    dropped : list of DroppedNotification
        Every notification lost (random loss and silent loss), in order.
    link_drops : int
        Links dropped by the air (planned, on demand, silent-loss timeouts and reboots).
    reboots : int
        Reboots the peripheral went through.
    connections : int
        Links a central opened to the peripheral (each connect and reconnect).
    """

    notifications_sent: int = 0
    dropped: list[DroppedNotification] = field(default_factory=list)
    link_drops: int = 0
    reboots: int = 0
    connections: int = 0

    @property
    def notifications_dropped(self) -> int:
        """Number of notifications lost."""
        return len(self.dropped)

    @property
    def notifications_delivered(self) -> int:
        """Number of notifications that reached the central."""
        return self.notifications_sent - len(self.dropped)


class LossModel:
    """Decides, notification by notification, which ones the air loses; records every decision.

    Parameters
    ----------
    plan : FaultPlan
        The peripheral's faults.
    seed : int
        The air's seed.
    address : str
        The peripheral's address, mixed into the seed so peripherals lose independently.
    """

    def __init__(self, plan: FaultPlan, seed: int, address: str) -> None:
        self.plan = plan
        self.stats = LinkStats()
        self.silent = False
        self._rng = random.Random(f"imurehab-virtual-air/{seed}/{address.upper()}")
        self._drop_after = frozenset(plan.link_drop_after)

    def on_notification(self, handle: int, value: bytes) -> tuple[bool, bool]:
        """Account for one notification put on the air.

        Parameters
        ----------
        handle : int
            ATT handle of the notified characteristic value.
        value : bytes
            The notification's value.

        Returns
        -------
        deliver : bool
            Whether the notification reaches the central.
        drop_link : bool
            Whether the link must drop right after it (a ``link_drop_after`` count was reached).
        """
        index = self.stats.notifications_sent
        self.stats.notifications_sent += 1
        # One draw per notification whatever the state, so the loss pattern depends on the seed only.
        lost = self._rng.random() < self.plan.notification_loss
        deliver = not (lost or self.silent)
        if not deliver:
            self.stats.dropped.append(DroppedNotification(index=index, handle=handle, value=bytes(value)))
        return deliver, self.stats.notifications_sent in self._drop_after
