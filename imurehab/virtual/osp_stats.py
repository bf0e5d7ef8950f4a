"""Counters of a virtual OSP sensor's firmware: what it streamed, logged, sent, dropped and suffered."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OspDeviceStats"]


@dataclass
class OspDeviceStats:
    """What a virtual OSP sensor's firmware did (the air's own record is ``sensor.stats``).

    Attributes
    ----------
    reboots, commands : int
        Reboots gone through; commands received.
    frames_streamed : int
        Live DATA frames queued for the air (each got a ``seq``).
    stream_frames_dropped, stream_samples_dropped : int
        Live frames (and their samples) the device dropped because its TX queue was full.
    log_frames_written : int
        DATA frames appended to logs while on the air.
    chunks_sent, chunk_bytes_sent : int
        CHUNK notifications and the log bytes they carried.
    reads_started, reads_completed, reads_aborted, reads_cut : int
        READs accepted; ended by END OK; ended by ABORT; ended by a link drop or reboot (no END).
    commits : int
        Sessions erased by COMMIT.
    storage_full : int
        Logs closed because storage ran full.
    faults_fired : list of str
        Scenario faults fired, in order (``"link-drop@12"``).
    """

    reboots: int = 0
    commands: int = 0
    frames_streamed: int = 0
    stream_frames_dropped: int = 0
    stream_samples_dropped: int = 0
    log_frames_written: int = 0
    chunks_sent: int = 0
    chunk_bytes_sent: int = 0
    reads_started: int = 0
    reads_completed: int = 0
    reads_aborted: int = 0
    reads_cut: int = 0
    commits: int = 0
    storage_full: int = 0
    faults_fired: list[str] = field(default_factory=list)
