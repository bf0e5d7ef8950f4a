"""A point every sensor of a run waits at, so that clocks are measured while the radio is quiet.

Examples
--------
>>> import asyncio
>>> async def demo():
...     gate = Rendezvous(2)
...     gate.arrive("a")
...     waiting = asyncio.ensure_future(gate.wait())
...     await asyncio.sleep(0)
...     before = waiting.done()
...     gate.arrive("b")
...     await waiting
...     return before, waiting.done()
>>> asyncio.run(demo())
(False, True)
"""

from __future__ import annotations

import asyncio

__all__ = ["Rendezvous"]


class Rendezvous:
    """A point every sensor of a run waits at until all have reached it (a failed sensor counts as there).

    A sync measures clocks at two such points — before any download starts and after all have ended —
    so every clock round trip is timed under the same light load: a drift fitted between a busy and an
    idle moment would carry the difference of their delay asymmetries.

    Parameters
    ----------
    parties : int
        How many sensors take part.
    """

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self._arrived: set[int] = set()
        self._open = asyncio.Event()
        if parties <= 0:
            self._open.set()

    def arrive(self, party: object) -> None:
        """Mark ``party`` as there (idempotent); the last one opens the point for all.

        Parameters
        ----------
        party : object
            The sensor's downloader.
        """
        self._arrived.add(id(party))
        if len(self._arrived) >= self.parties:
            self._open.set()

    async def wait(self) -> None:
        """Return once every party has arrived."""
        await self._open.wait()
