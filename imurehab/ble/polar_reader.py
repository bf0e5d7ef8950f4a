"""From Polar PMD journals to ``samples`` rows: the reader :func:`~imurehab.ble.dataset.write_study` calls.

Registered in :data:`imurehab.ble.dataset.FAMILY_READERS` (``"polar-pmd"``): :func:`polar_folders` finds a
study session's Polar journals (live streams and offline recordings), :func:`polar_sensor` makes one
sensor's rows from them (:mod:`imurehab.ble.polar_dataset` replays the frames and places them in UTC).
"""

from __future__ import annotations

import math
from pathlib import Path

from imurehab.ble.dataset import SensorSummary
from imurehab.ble.files import safe_name
from imurehab.ble.layout import JournalRoot
from imurehab.ble.polar_dataset import FAMILY as POLAR_FAMILY
from imurehab.ble.polar_dataset import polar_rows, replay_journals
from imurehab.types import SensorInfo, SensorSamples

__all__ = ["polar_folders", "polar_sensor"]


def polar_folders(root: JournalRoot, study: tuple[str, str]) -> dict[str, list[Path]]:
    """The Polar PMD stream journals of a study session, by serial.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.
    """
    return root.stream_folders(study, POLAR_FAMILY)


def polar_sensor(root: JournalRoot, serial: str, folders: list[Path]) -> tuple[SensorSamples, SensorSummary]:
    """One Polar sensor's journals (live streams, offline recordings) as ``samples`` rows.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal (unused: a Polar clock is fitted from the journals themselves).
    serial : str
        The sensor's serial.
    folders : list of Path
        Its journals of the study session.

    Raises
    ------
    ImurehabError
        When the journals cannot make rows (no ACC or GYRO samples, mixed kinds).
    """
    del root
    replay = replay_journals(folders)
    rows = polar_rows(replay, serial)
    boots = sorted(rows.clocks)
    summary = SensorSummary(
        safe_name(serial),
        gaps=rows.gaps,
        lost_samples=rows.lost_samples,
        boots=boots,
        clocks=rows.clocks,
        clock_uncertainty_us=rows.clock_uncertainty_us,
        rejected_frames=replay.rejected_frames,
    )
    info = SensorInfo(
        sensor_id=summary.sensor_id,
        family=POLAR_FAMILY,
        rate_hz=rows.rate_hz,
        acc_range_mps2=rows.acc_range_mps2,
        gyr_range_rads=rows.gyr_range_rads,
        mag_range_ut=rows.mag_range_ut,
        device_clock_hz=1e6,
        serial=serial,
        clocks=tuple(rows.clocks[b] for b in boots),
        clock_uncertainty_us=None if math.isnan(rows.clock_uncertainty_us) else rows.clock_uncertainty_us,
    )
    samples = SensorSamples(
        info=info,
        time_us=rows.time_us,
        acc=rows.acc,
        gyr=rows.gyr,
        mag=rows.mag,
        sample_index=rows.sample_index,
        device_time=rows.device_time_us,
        flags=rows.flags,
    )
    summary.samples = len(samples)
    return samples, summary
