"""Compute or update a dataset's ``load`` table, doing only what changed since the last update.

For every session of the ``sessions`` table: if its samples, its session row, the epoch length, the
metric definitions and the station labelling are those its stored load was computed from (see
:mod:`imurehab.training.provenance`), it is skipped; otherwise its load epochs are computed from its
``samples`` (only ``time`` and ``acc_x..z`` are decoded, one sensor at a time, by
:class:`~imurehab.training._samples.SessionSamples`, so memory stays bounded by one sensor of one
session per worker whatever the dataset's size) and written as
``load/subject=<athlete>/session=<id>/part-0.parquet`` with what it was computed from in the file's
footer (atomic: a reader sees the old part or the new one). Workers are threads by default: decoding
Parquet and the compiled metrics release Python's lock, so two threads use two cores while sharing one
copy of the libraries in memory. The load of a session that is no longer in the dataset is removed
(``prune=True``, the default) or reported as orphaned: load is derived data, and a coach's comparison
must not count a deleted session.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.errors import DatasetNotFoundError, ImurehabError
from imurehab.store import columns as cols
from imurehab.store import list_sessions, read_recording, write_table
from imurehab.store.layout import find_parts
from imurehab.store.schema import polars_schema
from imurehab.training._samples import SessionSamples, reuse_buffers, session_row, start_reusing_buffers
from imurehab.training.provenance import (
    SOURCE_KEY,
    LoadSource,
    changed_reason,
    current_source,
    read_stored_source,
    remove_legacy_source,
    remove_load_partition,
)
from imurehab.training.stations import hyrox_segmenter, is_hyrox_session, label_stations

__all__ = [
    "DEFAULT_EPOCH_S",
    "EpochFunction",
    "LoadMetrics",
    "LoadUpdateReport",
    "SessionLoadOutcome",
    "compute_session_load",
    "default_metrics",
    "update_load",
]

DEFAULT_EPOCH_S: Final[float] = 60.0
"""Default epoch length of the ``load`` table [s]."""

Status = Literal["computed", "skipped", "failed", "removed", "orphaned"]

# Environment that keeps each worker process on one thread (polars, BLAS, OpenMP, numba): the workers
# are the parallelism, and more threads than cores only adds contention on a shared machine.
_ONE_THREAD_ENV: Final[dict[str, str]] = {
    "POLARS_MAX_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


class EpochFunction(Protocol):
    """Load epochs of one sensor: ``(acc_mps2, time, *, rate_hz, epoch_s, sensor) -> DataFrame``.

    ``acc_mps2`` is (n, 3) specific force [m/s²]; ``time`` int64 µs since the Unix epoch (UTC); the
    result has the ``load`` table's columns. :func:`imurehab.analysis.load.load_epochs` is one.
    """

    def __call__(
        self,
        acc_mps2: npt.NDArray[np.float64],
        time: npt.NDArray[np.int64],
        *,
        rate_hz: float,
        epoch_s: float,
        sensor: str,
    ) -> pl.DataFrame:
        """Compute the epochs (see the class docstring for the parameters)."""
        ...


@dataclass(frozen=True)
class LoadMetrics:
    """The function computing a sensor's load epochs, and the version of its definitions.

    Attributes
    ----------
    compute : EpochFunction
        A module-level function (worker processes import it by name).
    version : str
        Changes whenever a metric's definition changes; stored with every load partition, so an update
        recomputes what older definitions produced.
    """

    compute: EpochFunction
    version: str


def default_metrics() -> LoadMetrics:
    """The library's load metrics: :func:`imurehab.analysis.load.load_epochs` and its version.

    Raises
    ------
    ImurehabError
        If :mod:`imurehab.analysis.load` is not available in this installation.
    """
    try:
        module = importlib.import_module("imurehab.analysis.load")
    except ModuleNotFoundError as err:
        raise ImurehabError("the load metrics (imurehab.analysis.load) are not installed") from err
    version = next(
        (
            str(v)
            for name in ("LOAD_METRICS_VERSION", "METRICS_VERSION")
            if (v := getattr(module, name, None))
        ),
        None,
    )
    if version is None:
        from imurehab._version import __version__

        version = f"software-{__version__}"
    return LoadMetrics(compute=module.load_epochs, version=version)


@dataclass(frozen=True)
class SessionLoadOutcome:
    """What an update did with one session.

    Attributes
    ----------
    subject, session : str
        The session (the subject is the athlete's pseudonymous id).
    status : {"computed", "skipped", "failed", "removed", "orphaned"}
        ``removed``/``orphaned``: a load partition whose session is no longer in the dataset, removed
        (``prune=True``) or left in place and reported.
    reason : str
        Why: ``"new"``, ``"samples changed"``, ``"metrics version changed"``, ``"unchanged"``, ...
    epochs : int
        Load rows written (computed sessions), else 0.
    sensor_hours : float
        Hours of samples read, summed over sensors [h] (computed sessions), else 0.
    error : str or None
        The one-line error of a failed session.
    """

    subject: str
    session: str
    status: Status
    reason: str
    epochs: int = 0
    sensor_hours: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The outcome as a JSON-ready dict."""
        return {
            "subject": self.subject,
            "session": self.session,
            "status": self.status,
            "reason": self.reason,
            "epochs": self.epochs,
            "sensor_hours": self.sensor_hours,
            "error": self.error,
        }


@dataclass(frozen=True)
class LoadUpdateReport:
    """The result of :func:`update_load`: one outcome per session (and per orphaned load partition).

    Attributes
    ----------
    root : Path
        Dataset folder.
    epoch_s : float
        Epoch length [s].
    metrics_version : str
        Version of the metric definitions used.
    outcomes : tuple of SessionLoadOutcome
        Sorted by subject and session.
    """

    root: Path
    epoch_s: float
    metrics_version: str
    outcomes: tuple[SessionLoadOutcome, ...] = field(default_factory=tuple)

    def count(self, status: Status) -> int:
        """How many outcomes have this status.

        Parameters
        ----------
        status : str
            One of the :class:`SessionLoadOutcome` statuses.
        """
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[SessionLoadOutcome]:
        """The sessions that failed."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def sensor_hours(self) -> float:
        """Hours of samples read in this update, summed over sensors [h]."""
        return sum(o.sensor_hours for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict: counts per status and every outcome."""
        statuses: tuple[Status, ...] = ("computed", "skipped", "failed", "removed", "orphaned")
        return {
            "dataset": str(self.root),
            "epoch_s": self.epoch_s,
            "metrics_version": self.metrics_version,
            **{s: self.count(s) for s in statuses},
            "sensor_hours": self.sensor_hours,
            "sessions": [o.to_dict() for o in self.outcomes],
        }


def _sensor_rates(row: dict[str, Any]) -> dict[str, float | None]:
    return {s[cols.SENSOR]: s.get(cols.RATE_HZ) for s in row[cols.SENSORS] or ()}


def _rate_from_times(time_us: npt.NDArray[np.int64]) -> float:
    if time_us.size < 2:
        return float("nan")
    return 1e6 / float(np.median(np.diff(time_us)))


def compute_session_load(
    root: str | os.PathLike[str],
    *,
    subject: str,
    session: str,
    epoch_s: float = DEFAULT_EPOCH_S,
    metrics: LoadMetrics | None = None,
    label_hyrox: bool = True,
) -> tuple[pl.DataFrame, float]:
    """The load epochs of one session's sensors, read from the dataset (nothing is written).

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.
    epoch_s : float
        Epoch length [s].
    metrics : LoadMetrics, optional
        Default :func:`default_metrics`.
    label_hyrox : bool, default True
        For a HYROX session (:func:`~imurehab.training.stations.is_hyrox_session`), label each epoch's
        ``station`` from the race segmentation, when :mod:`imurehab.analysis.hyrox` is available (a
        race it cannot segment keeps null stations).

    Returns
    -------
    (polars.DataFrame, float)
        The ``load`` rows (every sensor, sorted by sensor and epoch start) and the hours of samples read,
        summed over sensors [h].

    Raises
    ------
    DatasetNotFoundError
        If the dataset, its tables, the session or its samples do not exist.
    """
    metrics = metrics or default_metrics()
    row = session_row(find_parts(Path(root), cols.SESSIONS, subject, session))
    if row is None:
        raise DatasetNotFoundError(f"no session {session!r} of subject {subject!r}", path=Path(root))
    if not find_parts(Path(root), cols.SAMPLES, subject, session):
        raise DatasetNotFoundError(
            f"session {session!r} of subject {subject!r} has no samples",
            path=Path(root) / cols.SAMPLES,
        )
    frames = []
    hours = 0.0
    with SessionSamples(find_parts(Path(root), cols.SAMPLES, subject, session)) as samples:
        for sensor, rate in sorted(_sensor_rates(row).items()):
            time_us, acc = samples.read(sensor)
            if time_us.size == 0:
                continue
            rate_hz = float(rate) if rate else _rate_from_times(time_us)
            frames.append(metrics.compute(acc, time_us, rate_hz=rate_hz, epoch_s=epoch_s, sensor=sensor))
            hours += time_us.size / rate_hz / 3600.0
            del time_us, acc
    load = (
        pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(schema=polars_schema(cols.LOAD))
    )
    if label_hyrox and load.height and is_hyrox_session(row[cols.EXERCISE]):
        segmenter = hyrox_segmenter()
        if segmenter is not None:
            rec = read_recording(root, subject=subject, session=session)
            try:
                phases = segmenter[0](rec).phases
            except ImurehabError:
                # Not segmentable (too short, sensors it cannot use): the load stands, unlabelled.
                phases = None
            if phases is not None:
                load = label_stations(load, phases, origin_us=rec.session.start_us)
    return load, hours


@dataclass(frozen=True)
class _Task:
    root: Path
    subject: str
    session: str
    reason: str
    epoch_s: float
    metrics: LoadMetrics
    source: LoadSource


def _run(task: _Task) -> SessionLoadOutcome:
    """Compute, write and record one session's load (in the caller's process or a worker)."""
    try:
        load, hours = compute_session_load(
            task.root,
            subject=task.subject,
            session=task.session,
            epoch_s=task.epoch_s,
            metrics=task.metrics,
            label_hyrox=task.source.stations_version is not None,
        )
        write_table(
            load,
            task.root,
            cols.LOAD,
            subject=task.subject,
            session=task.session,
            overwrite=True,
            metadata={SOURCE_KEY: task.source.to_dict()},
        )
        remove_legacy_source(task.root, subject=task.subject, session=task.session)
    except (ImurehabError, OSError) as err:
        return SessionLoadOutcome(task.subject, task.session, "failed", task.reason, error=str(err))
    return SessionLoadOutcome(
        task.subject, task.session, "computed", task.reason, epochs=load.height, sensor_hours=hours
    )


@contextlib.contextmanager
def _one_thread_children() -> Iterator[None]:
    """Worker processes started inside this block run polars, BLAS and numba on one thread each."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD_ENV}
    os.environ.update(_ONE_THREAD_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _orphans(root: Path, known: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """(subject, session) of load partitions whose session is not in ``known``."""
    if not (root / cols.LOAD).is_dir():
        return []
    found = {
        (p.parent.parent.name.partition("=")[2], p.parent.name.partition("=")[2])
        for p in find_parts(root, cols.LOAD)
    }
    return sorted(found - known)


def update_load(
    root: str | os.PathLike[str],
    *,
    epoch_s: float = DEFAULT_EPOCH_S,
    workers: int = 1,
    metrics: LoadMetrics | None = None,
    prune: bool = True,
    on_outcome: Callable[[SessionLoadOutcome, int, int], None] | None = None,
    parallel: Literal["threads", "processes"] = "threads",
) -> LoadUpdateReport:
    """Compute the ``load`` table of a dataset, or bring it up to date, doing only what changed.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder (with ``sessions`` and ``samples`` tables).
    epoch_s : float, default 60
        Epoch length [s]; changing it recomputes every session.
    workers : int, default 1
        Sessions computed at the same time (each on one thread). 1 computes them one by one in the
        calling thread.
    metrics : LoadMetrics, optional
        The epoch function and its version (default :func:`default_metrics`). With ``workers > 1`` and
        ``parallel="processes"`` its function must be importable by name (a module-level function).
    prune : bool, default True
        Remove the load of sessions no longer in the dataset (else report them as ``orphaned``).
    on_outcome : callable, optional
        Called after each session as ``on_outcome(outcome, done, total)`` (for progress bars).
    parallel : {"threads", "processes"}, default "threads"
        How ``workers > 1`` run: threads of this process (the default; reading, decompressing and the
        compiled metrics release Python's lock, and the process's memory is shared) or spawned worker
        processes (for an epoch function that holds the lock; each process imports its own copy of the
        libraries, ~150-250 MB).

    Returns
    -------
    LoadUpdateReport
        One outcome per session: ``computed`` (with the reason), ``skipped`` (unchanged), ``failed``
        (with the error; the session's previous load, if any, is left as it was), and ``removed`` or
        ``orphaned`` load partitions.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a dataset with a ``sessions`` table.
    ValueError
        If ``epoch_s`` is not positive, ``workers`` < 1 or ``parallel`` is neither of its values.
    """
    if not epoch_s > 0:
        raise ValueError(f"epoch_s must be positive, got {epoch_s}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if parallel not in ("threads", "processes"):
        raise ValueError(f"parallel must be 'threads' or 'processes', got {parallel!r}")
    root = Path(root)
    metrics = metrics or default_metrics()
    sessions = list_sessions(root)
    segmenter = hyrox_segmenter()
    outcomes: list[SessionLoadOutcome] = []
    tasks: list[_Task] = []
    for subject, session, exercise in sessions.select(cols.SUBJECT, cols.SESSION, cols.EXERCISE).iter_rows():
        stations = segmenter[1] if segmenter is not None and is_hyrox_session(exercise) else None
        try:
            source = current_source(
                root,
                subject=subject,
                session=session,
                epoch_s=epoch_s,
                metrics_version=metrics.version,
                stations_version=stations,
            )
        except DatasetNotFoundError as err:
            outcomes.append(SessionLoadOutcome(subject, session, "failed", "no samples", error=str(err)))
            continue
        reason = changed_reason(read_stored_source(root, subject=subject, session=session), source)
        if reason is None:
            outcomes.append(SessionLoadOutcome(subject, session, "skipped", "unchanged"))
        else:
            tasks.append(_Task(root, subject, session, reason, epoch_s, metrics, source))
    known = set(sessions.select(cols.SUBJECT, cols.SESSION).iter_rows())
    for subject, session in _orphans(root, known):
        if prune:
            remove_load_partition(root, subject=subject, session=session)
        status: Status = "removed" if prune else "orphaned"
        outcomes.append(SessionLoadOutcome(subject, session, status, "session no longer in the dataset"))
    total = len(outcomes) + len(tasks)
    if on_outcome is not None:
        for i, o in enumerate(outcomes, start=1):
            on_outcome(o, i, total)

    def done(o: SessionLoadOutcome) -> None:
        outcomes.append(o)
        if on_outcome is not None:
            on_outcome(o, len(outcomes), total)

    if workers == 1 or len(tasks) <= 1:
        with reuse_buffers():
            for task in tasks:
                done(_run(task))
    else:
        pool: Executor
        if parallel == "threads":
            pool = ThreadPoolExecutor(
                workers, thread_name_prefix="imurehab-load", initializer=start_reusing_buffers
            )
        else:
            pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_reusing_buffers
            )
        one_thread = _one_thread_children() if parallel == "processes" else contextlib.nullcontext()
        with one_thread, pool:
            for future in as_completed([pool.submit(_run, t) for t in tasks]):
                done(future.result())
    outcomes.sort(key=lambda o: (o.subject, o.session))
    return LoadUpdateReport(root, float(epoch_s), metrics.version, tuple(outcomes))
