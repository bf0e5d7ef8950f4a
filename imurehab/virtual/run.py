"""Syncing a virtual scenario in one call: open its air, sync every sensor, close the air.

For notebooks, tests and benchmarks that need a synced dataset of virtual sensors without writing the
event-loop plumbing (the command line's ``imurehab sync --virtual`` does the same with progress bars).

Examples
--------
>>> import tempfile
>>> from imurehab.virtual import VirtualScenario
>>> report = sync_scenario(VirtualScenario(n_sensors=1, minutes=0.2, seed=1), tempfile.mkdtemp())
>>> report.complete, report.sensors[0].samples
(True, 2400)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from imurehab.ble.connection import RetryPolicy
from imurehab.ble.report import SyncReport

__all__ = ["sync_scenario"]


def sync_scenario(
    scenario: Any,
    out: str | Path,
    *,
    policy: RetryPolicy | None = None,
    subject: str | None = None,
    session: str | None = None,
    timeout_s: float = 180.0,
) -> SyncReport:
    """Sync every sensor of a virtual scenario into a dataset over the virtual BLE backend.

    Parameters
    ----------
    scenario : FamilyScenario or MixedScenario
        The virtual sensors (:mod:`imurehab.virtual.mixed`); their air is opened for the sync and closed.
    out : str or Path
        Dataset folder.
    policy : RetryPolicy, optional
        Timeouts and retries (default: :class:`~imurehab.ble.RetryPolicy`'s).
    subject, session : str, optional
        The study session written (defaults as :func:`imurehab.ble.sync`'s).
    timeout_s : float
        Give up after this long [s] (``TimeoutError``).

    Returns
    -------
    SyncReport
        As :func:`imurehab.ble.sync` returns it.
    """
    from imurehab.ble import sync
    from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner

    async def run() -> SyncReport:
        async with scenario.start():
            return await sync(
                scenario.addresses,
                out,
                client_backend=VirtualBleakClient,
                scanner_backend=VirtualBleakScanner,
                families=scenario.families,
                policy=policy,
                subject=subject,
                session=session,
            )

    async def bounded() -> SyncReport:
        return await asyncio.wait_for(run(), timeout_s)

    return asyncio.run(bounded())
