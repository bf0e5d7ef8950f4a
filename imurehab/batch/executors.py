"""Where a batch's sessions run: this process, a local process pool, or a Dask cluster.

Every executor is a :class:`concurrent.futures.Executor`, so :func:`~imurehab.batch.run_batch` takes any
(a ``dask-jobqueue`` cluster's ``Client(cluster).get_executor(pure=False)`` too). :func:`open_executor`
builds the ones the command line names:

- ``local``: a :class:`~concurrent.futures.ProcessPoolExecutor` of spawned processes (not forked:
  polars and numba keep threads a fork would copy half-alive), each on one thread for polars, BLAS,
  OpenMP and numba (:data:`ONE_THREAD_ENV`): the workers are the parallelism. With one worker the
  sessions run in this process instead, with no start-up cost.
- ``dask-local``: a Dask ``LocalCluster`` of worker processes, one thread each, same environment.
- ``dask://HOST:PORT`` (or ``tcp://``, ``tls://``): a running Dask scheduler. Its workers' environment is
  theirs to set (start them with ``--nthreads 1`` and :data:`ONE_THREAD_ENV`); they must see the
  dataset at the same path and run the same imurehab.

Dask is optional (``pip install 'imurehab[dask]'``); it is imported only when asked for.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Final, Literal

from imurehab.errors import ImurehabError

__all__ = [
    "EXECUTORS",
    "ONE_THREAD_ENV",
    "default_workers",
    "executor_kind",
    "one_thread_environment",
    "open_executor",
]

ONE_THREAD_ENV: Final[dict[str, str]] = {
    "POLARS_MAX_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
"""Environment keeping a worker process on one thread (read by the libraries when they are imported)."""

EXECUTORS: Final[tuple[str, ...]] = ("local", "dask-local", "dask://HOST:PORT")
"""The executor names :func:`open_executor` knows."""

_DASK_SCHEMES: Final[tuple[str, ...]] = ("dask://", "tcp://", "tls://")


def default_workers(sessions: int) -> int:
    """Workers for a batch: one per core, no more than there are sessions, at least one.

    Parameters
    ----------
    sessions : int
        Sessions to process.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, sessions))


@contextlib.contextmanager
def one_thread_environment() -> Iterator[None]:
    """Processes started inside this block see :data:`ONE_THREAD_ENV` (this process's is restored after).

    Yields
    ------
    None
    """
    saved = {k: os.environ.get(k) for k in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImurehabError(
            "the Dask executors need Dask: pip install 'imurehab[dask]' (or 'dask[distributed]')"
        ) from None
    return distributed


@contextlib.contextmanager
def _dask_executor(spec: str, workers: int) -> Iterator[Executor]:
    distributed = _dask()
    with contextlib.ExitStack() as stack:
        if spec == "dask-local":
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    env=ONE_THREAD_ENV,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            address = "tcp://" + spec.removeprefix("dask://") if spec.startswith("dask://") else spec
            try:
                client = stack.enter_context(distributed.Client(address))
            except OSError as err:
                raise ImurehabError(f"cannot reach the Dask scheduler at {address}: {err}") from None
        # pure=False: a session is processed every time it is submitted, never served from the cache.
        yield client.get_executor(pure=False)


def executor_kind(spec: str) -> Literal["local", "dask-local", "dask"]:
    """Which kind of executor ``spec`` names.

    Parameters
    ----------
    spec : str
        ``"local"``, ``"dask-local"`` or a Dask scheduler's address (``dask://HOST:PORT``, ``tcp://``,
        ``tls://``).

    Raises
    ------
    ValueError
        If ``spec`` names no executor.
    """
    if spec in ("local", "dask-local"):
        return spec  # type: ignore[return-value]
    if spec.startswith(_DASK_SCHEMES) and len(spec.split("://", 1)[1]) > 0:
        return "dask"
    raise ValueError(f"unknown executor {spec!r}; one of: {', '.join(EXECUTORS)}")


@contextlib.contextmanager
def open_executor(spec: str = "local", *, workers: int = 1) -> Iterator[Executor | None]:
    """The executor named by ``spec``, shut down when the block ends.

    Parameters
    ----------
    spec : str
        ``"local"``, ``"dask-local"`` or ``"dask://HOST:PORT"`` (see the module's description).
    workers : int
        Worker processes (``local``, ``dask-local``); ignored for a running Dask scheduler.

    Yields
    ------
    concurrent.futures.Executor or None
        None for ``local`` with one worker: run in this process.

    Raises
    ------
    ValueError
        If ``spec`` names no executor or ``workers`` < 1.
    ImurehabError
        If Dask is asked for and not installed, or its scheduler cannot be reached.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    kind = executor_kind(spec)
    if kind != "local":
        with _dask_executor(spec, workers) as executor:
            yield executor
    elif workers == 1:
        yield None
    else:
        spawn = multiprocessing.get_context("spawn")
        with one_thread_environment(), ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            yield pool
