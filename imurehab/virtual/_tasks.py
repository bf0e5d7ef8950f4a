"""Asyncio helpers of the virtual air: racing an operation against a lost link, owning background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

_CONNECTION_TIMEOUT = 0x08


class LinkLost(Exception):
    """The link went down before an operation finished.

    Parameters
    ----------
    reason : int
        HCI reason code of the disconnection.
    """

    def __init__(self, reason: int) -> None:
        super().__init__(f"link lost (HCI reason 0x{reason:02X})")
        self.reason = reason


def consume_outcome(task: asyncio.Future[Any]) -> None:
    """Read a finished task's outcome so asyncio never logs "exception was never retrieved".

    An operation abandoned because its link went down may still fail later; nobody awaits it.

    Parameters
    ----------
    task : asyncio.Future
        A finished task or future.
    """
    if not task.cancelled():
        task.exception()


async def until_lost(operation: Awaitable[_T], lost: asyncio.Future[int]) -> _T:
    """Await ``operation`` unless the link is lost first.

    Bumble cancels a GATT request in flight when its connection drops, but a request still queued
    behind it would be sent on the dead connection and wait out the 30 s GATT timeout. Racing every
    operation against the link's loss turns both cases into one prompt :class:`LinkLost`.

    Cancelling the caller does not cancel the operation: an ATT request cannot be taken back once
    sent, and abandoning it would let its late response answer the next request. It completes in the
    background (or fails when the link drops), holding the bearer as a real stack would.

    Parameters
    ----------
    operation : awaitable
        The operation (a coroutine or future).
    lost : asyncio.Future of int
        Resolved with the HCI reason when the link goes down.

    Returns
    -------
    object
        The operation's result.

    Raises
    ------
    LinkLost
        If the link went down first (the operation is cancelled), or the operation was cancelled by
        Bumble because of the disconnection.
    """
    if lost.done():
        if asyncio.iscoroutine(operation):
            operation.close()
        raise LinkLost(lost.result())
    task = asyncio.ensure_future(operation)
    task.add_done_callback(consume_outcome)
    await asyncio.wait((task, lost), return_when=asyncio.FIRST_COMPLETED)
    if task.done() and not task.cancelled():
        return task.result()
    if not task.done():
        task.cancel()
    # Cancelled by Bumble (its answer to a disconnection) or abandoned because the link went down.
    await asyncio.wait((lost,), timeout=1.0)
    raise LinkLost(lost.result() if lost.done() else _CONNECTION_TIMEOUT)


class BackgroundTasks:
    """Tasks started by the air or a peripheral, kept referenced and ended together at shutdown.

    A task spawned with ``cancellable=False`` (a sequence of HCI commands) is waited for instead of
    cancelled: Bumble's host cannot take a command cancelled in flight (the late response would land on
    a cancelled future).
    """

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[Any], bool] = {}

    def spawn(
        self, coroutine: Coroutine[Any, Any, _T], name: str, *, cancellable: bool = True
    ) -> asyncio.Task[_T]:
        """Start ``coroutine`` as a tracked task; its failure is logged, never lost.

        Parameters
        ----------
        coroutine : coroutine
            What to run.
        name : str
            Task name, for logs.
        cancellable : bool
            Whether shutdown may cancel it (else shutdown waits for it).

        Returns
        -------
        asyncio.Task
            The task.
        """
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks[task] = cancellable
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("virtual air task %s failed", task.get_name(), exc_info=error)

    async def close(self, settle_timeout: float = 5.0) -> None:
        """Wait for the non-cancellable tasks (up to ``settle_timeout`` s), then cancel the others.

        Parameters
        ----------
        settle_timeout : float
            Longest wait for non-cancellable tasks [s]; past it they are cancelled too.
        """
        if settling := [task for task, cancellable in self._tasks.items() if not cancellable]:
            await asyncio.wait(settling, timeout=settle_timeout)
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
