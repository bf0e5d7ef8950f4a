"""Exact gap accounting of a live OSP stream, from frame sequence numbers and sample indices.

Examples
--------
>>> g = GapTracker()
>>> g.start_run(boot_id=1)
>>> for seq, index in ((0, 0), (1, 10), (3, 30), (4, 45)):  # frame 2 lost; 5 samples dropped by the device
...     _ = g.frame(seq, index, 10, 0x01 if seq == 4 else 0)
>>> [(gap.first_index, gap.count, gap.frames, gap.cause) for gap in g.gaps]
[(20, 10, 1, 'air'), (40, 5, 0, 'device')]
"""

from __future__ import annotations

from imurehab.ble.report import Gap
from imurehab.protocols.osp import FrameFlag

__all__ = ["GapTracker"]


class GapTracker:
    """Counts frames and samples of a live stream and finds its gaps, exactly.

    Within one stream run (START_STREAM to the link's end) the sequence number counts frames from 0
    and the sample index counts samples: a sequence jump of ``k + 1`` with an index jump of ``m`` is ``k``
    frames and ``m`` samples lost on the air; an index jump without a sequence jump was dropped by the
    device (flag GAP_BEFORE). Between runs of one boot, the index jump is what was not streamed while the
    link was down (``link``), after the frames lost at the new run's start (its first sequence number
    times the frame size).

    Attributes
    ----------
    gaps : list of Gap
        In order.
    frames, samples : int
        Received (duplicates excluded).
    last_flag : bool
        The last frame received carried LAST (the stream's end arrived).
    """

    def __init__(self) -> None:
        self.gaps: list[Gap] = []
        self.frames = 0
        self.samples = 0
        self.last_flag = False
        self._boot: int | None = None
        self._seq: int | None = None
        self._next_index: int | None = None
        self._n = 0

    def start_run(self, boot_id: int) -> None:
        """A new START_STREAM: sequence numbers restart; indices go on within a boot.

        Parameters
        ----------
        boot_id : int
            The device boot (a new one restarts the index too).
        """
        if boot_id != self._boot:
            self._next_index = None
        self._boot, self._seq, self.last_flag = boot_id, None, False

    def _gap(self, first: int, count: int, frames: int, cause: str) -> None:
        if count > 0 or frames > 0:
            self.gaps.append(Gap(self._boot or 0, first, count, frames, cause))

    def frame(self, seq: int, first_index: int, n_samples: int, flags: int) -> bool:
        """Account for one received frame.

        Parameters
        ----------
        seq : int
            Its sequence number.
        first_index : int
            Index of its first sample.
        n_samples : int
            Samples in it.
        flags : int
            Its DATA flags.

        Returns
        -------
        bool
            False for a duplicate or stale frame (ignore it), True otherwise.
        """
        if self._seq is None:
            lost_frames = seq
            air = lost_frames * n_samples
            if self._next_index is not None:
                missing = first_index - self._next_index
                if missing < 0:
                    return False
                air = min(missing, air)
                self._gap(self._next_index, missing - air, 0, "link")
            self._gap(first_index - air, air, lost_frames, "air")
        else:
            step = (seq - self._seq) % 2**32
            missing = first_index - (self._next_index or 0)
            if step == 0 or step > 2**31 or missing < 0:
                return False
            lost_frames = step - 1
            air = missing
            if lost_frames and flags & FrameFlag.GAP_BEFORE:
                air = min(missing, lost_frames * self._n)
            elif not lost_frames:
                air = 0
            start = first_index - missing
            self._gap(start, air, lost_frames, "air")
            self._gap(start + air, missing - air, 0, "device")
        self._seq, self._next_index, self._n = seq, first_index + n_samples, n_samples
        self.frames += 1
        self.samples += n_samples
        self.last_flag = bool(flags & FrameFlag.LAST)
        return True
