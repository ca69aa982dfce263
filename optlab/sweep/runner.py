"""Running a grid: skip what the store has, compute the rest serially, with joblib, or on Dask.

The parent process owns the store: it looks every cell up (a cached cell is verified, a
corrupt one quarantined and recomputed), sends the missing ones to the workers, and writes
each record the moment it comes back, so a killed sweep loses only the cells in flight.
Failed cells are stored with their traceback; with the same code they would fail again,
so a re-run does not retry them unless asked (``retry_failed=True``); a change of code
changes their key and they run anew.

Parallelism:

- ``jobs=1``: in this process.
- ``jobs>1``: joblib, ``backend="processes"`` (loky; the default, since most of a claim's
  time is Python code that holds the GIL) or ``"threads"`` (for cells whose time is in
  Numba kernels compiled with ``nogil=True`` or in BLAS). Each cell's Numba and BLAS threads
  are capped at ``cpu_count // jobs`` (or ``threads``) so workers do not oversubscribe cores;
  loky workers also start with the usual ``*_NUM_THREADS`` variables set to that cap.
- ``scheduler="tcp://host:port"`` (or a ``distributed.Client``): dask.distributed, one task
  per cell, nothing else changes. A Dask worker's threads are its cores, so each cell's
  threads are capped at 1 unless ``threads`` says otherwise.

An error inside a cell is caught in the worker and stored. On Dask a lost worker's task is
stored as failed too. Under joblib a worker process that dies outright (segfault, out of
memory) stops the sweep with joblib's error; the finished cells are stored and a re-run goes
on from there. The thread cap is not part of a cell's key: BLAS may round differently with
more threads, and such last-bit differences are not treated as different computations.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optlab.sweep.execute import run_cell
from optlab.sweep.grid import Cell
from optlab.sweep.store import Store

__all__ = ["SweepSummary", "run_sweep"]

BACKENDS = ("processes", "threads")


@dataclass
class SweepSummary:
    """What a sweep did.

    Attributes
    ----------
    total : int
        Distinct cells in the grid.
    done, cached, failed, corrupt : int
        Cells computed now; found in the store (verified); failed (now, or stored as failed
        and not retried); stored files that failed their check and were recomputed.
    seconds : float
        Wall time of the sweep.
    keys : dict
        ``label -> key`` of every cell, in grid order.
    failures : dict
        ``label -> error line`` of the failed cells.
    """

    total: int = 0
    done: int = 0
    cached: int = 0
    failed: int = 0
    corrupt: int = 0
    seconds: float = 0.0
    keys: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the terminal."""
        return (f"{self.total} cells: {self.done} computed, {self.cached} cached, {self.failed} failed"
                + (f", {self.corrupt} corrupt files recomputed" if self.corrupt else "")
                + f" in {self.seconds:.1f} s")


def _default_threads(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def _crash_record(cell: Cell, key: str, code: str, exc: BaseException) -> dict[str, Any]:
    """A failed record for a cell whose worker died or whose task could not run."""
    from optlab.sweep.codehash import versions

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"columns": {}, "meta": {"key": key, "cell": cell.spec(), "label": cell.label, "code": code,
                                    "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                                    "traceback": tb, "seconds": float("nan"), "versions": versions()}}


def _serial(todo: list[tuple[Cell, str, str]], threads: int | None) -> Iterator[dict[str, Any]]:
    for cell, key, code in todo:
        yield run_cell(cell, key, threads=threads, code=code)


def _joblib(todo: list[tuple[Cell, str, str]], jobs: int, backend: str, threads: int) -> Iterator[dict[str, Any]]:
    from joblib import Parallel, delayed, parallel_config

    if backend == "threads":
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):  # once, process-wide (see cap_threads)
            yield from Parallel(n_jobs=jobs, backend="threading", return_as="generator_unordered")(
                delayed(run_cell)(c, k, threads=threads, blas=False, code=h) for c, k, h in todo)
        return
    with parallel_config(backend="loky", inner_max_num_threads=threads):
        yield from Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(run_cell)(c, k, threads=threads, code=h) for c, k, h in todo)


def _dask(todo: list[tuple[Cell, str, str]], scheduler: Any, threads: int) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        run = uuid.uuid4().hex[:8]  # task names unique per run: a retry never gets an old task's result
        futures = {client.submit(run_cell, c, k, threads=threads, code=h, pure=False, key=f"optlab-{k[:16]}-{run}"):
                   (c, k, h) for c, k, h in todo}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as e:  # the worker died or the task could not be sent
                yield _crash_record(*futures[fut], e)
    finally:
        if own:
            client.close()


def run_sweep(cells: Iterable[Cell], out: str | Path | Store, *, jobs: int = 1, backend: str = "processes",
              scheduler: Any = None, threads: int | None = None, retry_failed: bool = False,
              progress: bool = True, format: str | None = None, fsync: bool = True) -> SweepSummary:
    """Run every cell not yet in the store at ``out`` and store each result as it finishes.

    Parameters
    ----------
    cells : iterable of Cell
        The grid (see :func:`optlab.sweep.claim_cells`, :func:`optlab.sweep.method_cells`).
    out : str, Path or Store
        The store directory.
    jobs : int
        Local workers (joblib); 1 runs in this process.
    backend : {"processes", "threads"}
        joblib backend when ``jobs > 1``.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``"tcp://host:port"``) or client: run there instead.
    threads : int, optional
        Numba/BLAS threads per cell (default ``cpu_count // jobs``, or 1 on Dask).
    retry_failed : bool
        Recompute cells stored as failed.
    progress : bool
        Show the progress bar (done / cached / failed).
    format : {"parquet", "npz"}, optional
        Format of new files (default: Parquet when pyarrow is installed).
    fsync : bool
        Flush each stored cell to disk (see :class:`~optlab.sweep.store.Store`).

    Returns
    -------
    SweepSummary
    """
    from tqdm.auto import tqdm

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    t0 = time.perf_counter()
    store = out if isinstance(out, Store) else Store(out, format=format, fsync=fsync)
    store.clean_temporaries()
    summary = SweepSummary()
    todo: list[tuple[Cell, str, str]] = []
    seen: set[str] = set()
    for cell in cells:
        code = cell.code()
        key = cell.key()
        if key in seen:
            continue
        seen.add(key)
        summary.keys[cell.label] = key
        record, corrupt = store.lookup(cell, key)
        summary.corrupt += corrupt
        if record is not None and (record.ok or not retry_failed):
            summary.cached += record.ok
            if not record.ok:
                summary.failed += 1
                summary.failures[cell.label] = record.meta.get("error") or "failed"
            continue
        todo.append((cell, key, code))
    summary.total = len(seen)
    bar = tqdm(total=summary.total, initial=summary.total - len(todo), desc="sweep", unit="cell",
               disable=not progress or None, file=sys.stderr, dynamic_ncols=True)

    def post() -> None:
        bar.set_postfix_str(f"done={summary.done} cached={summary.cached} failed={summary.failed}")

    post()
    if not todo:  # all cached: no workers, no connection to a scheduler
        results: Iterable[dict[str, Any]] = ()
    elif scheduler is not None:
        results = _dask(todo, scheduler, threads or 1)
    elif jobs > 1 and len(todo) > 1:
        results = _joblib(todo, jobs, backend, threads or _default_threads(jobs))
    else:
        results = _serial(todo, threads)  # no cap unless asked: one cell may use every core
    try:
        for rec in results:
            store.write(rec)
            meta = rec["meta"]
            if meta["status"] == "ok":
                summary.done += 1
            else:
                summary.failed += 1
                summary.failures[meta["label"]] = meta.get("error") or "failed"
            bar.update()
            post()
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - t0
    return summary

