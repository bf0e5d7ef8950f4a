"""Start and stop a Movesense sensor's DataLogger on its own: one short connection each.

What a session start does to a Movesense sensor (``firmware_protocols/movesense-gsp/spec.md``):
connect, HELLO (the serial), PUT_UTCTIME with the host's clock (the sensor stamps its Logbook entries
with its UTC clock; a sensor that refuses the time still logs), then PUT_DATALOGGER_CONFIG with the
request's path and PUT_DATALOGGER_STATE = 3 (logging), unless it is logging already, and disconnect. A
stop sets the state to 2 (ready): the sensor closes the entry, which
:func:`~imurehab.ble.movesense_sync.sync_movesense` then downloads. The DataLogger logs without a
connection, so nothing else needs the link in between. The same commands start the log of a live stream
with ``log=True`` (:class:`~imurehab.ble.movesense.MovesenseDriver`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bleak.backends.client import BaseBleakClient

from imurehab.ble.clock import host_time_us
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.movesense import MovesenseRequest
from imurehab.ble.movesense_client import GspClient

__all__ = ["start_datalogger", "stop_datalogger"]

_T = TypeVar("_T")


async def _connected(
    address: str,
    client_backend: type[BaseBleakClient] | None,
    policy: RetryPolicy | None,
    act: Callable[[GspClient], Awaitable[_T]],
) -> tuple[str, _T]:
    """Connect (retrying), HELLO, run ``act``, disconnect; the serial and what ``act`` returned."""
    policy = policy or RetryPolicy()
    gsp = GspClient(Link(address, backend=client_backend, policy=policy), policy)
    try:
        await gsp.open()
        serial = await gsp.hello()
        return serial, await act(gsp)
    finally:
        await gsp.close()


async def start_datalogger(
    address: str,
    request: MovesenseRequest | None = None,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
) -> str:
    """Set the sensor's UTC clock and start its DataLogger on ``request``'s path, then disconnect.

    A DataLogger logging already is left as it is (its entry goes on, with the paths it had).

    Parameters
    ----------
    address : str
        The sensor.
    request : MovesenseRequest, optional
        What to log (default IMU6 at 104 Hz: ``/Meas/IMU6/104``).
    client_backend : type, optional
        bleak client backend class (None: the platform's).
    policy : RetryPolicy, optional
        Retry limits and timeouts.

    Returns
    -------
    str
        The serial the sensor reported.

    Raises
    ------
    BleError
        ``device`` when the sensor refuses the config or the state, ``unsupported``, ``timeout``,
        ``disconnected``, ``protocol``.
    """
    path = (request or MovesenseRequest()).path

    async def start(gsp: GspClient) -> bool:
        await gsp.command("PUT_UTCTIME", utc_us=host_time_us())  # refused: the entry times stay its own
        return await gsp.start_logging([path])

    serial, _ = await _connected(address, client_backend, policy, start)
    return serial


async def stop_datalogger(
    address: str,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
) -> str:
    """Stop the sensor's DataLogger (its Logbook entry closes, ready for a sync), then disconnect.

    A DataLogger that was not logging is fine.

    Parameters
    ----------
    address : str
        The sensor.
    client_backend : type, optional
        bleak client backend class (None: the platform's).
    policy : RetryPolicy, optional
        Retry limits and timeouts.

    Returns
    -------
    str
        The serial the sensor reported.

    Raises
    ------
    BleError
        ``device`` when the sensor refuses, and link errors as for :func:`start_datalogger`.
    """
    serial, _ = await _connected(address, client_backend, policy, GspClient.stop_logging)
    return serial
