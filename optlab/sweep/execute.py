"""Running one cell in a worker: thread caps, the computation, and a record of what happened.

:func:`run_cell` is what a joblib or Dask worker calls. It never raises for an error of the
cell itself: a failed cell returns a record with ``status="failed"`` and the traceback, so
the sweep goes on. The record holds only arrays and JSON-able metadata: the parent process
writes it to the store (one writer, so no two processes race on a file, and a Dask worker
needs no access to the client's disk).
"""

from __future__ import annotations

import inspect
import os
import socket
import time
import traceback
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import numpy as np

from optlab.sweep.grid import Cell

__all__ = ["cap_threads", "run_cell"]


@contextmanager
def cap_threads(n: int | None, *, blas: bool = True):
    """Limit Numba's parallel threads and (with ``blas``) BLAS/OpenMP to ``n`` in this block.

    Numba's limit (:func:`numba.set_num_threads`) is per calling thread, so it holds for
    thread workers too. The BLAS limit (threadpoolctl) is per process: thread workers must
    not each set and restore it (they would undo one another), so the thread backend sets it
    once around the whole sweep and calls this with ``blas=False``. ``None`` changes nothing.
    """
    if n is None:
        yield
        return
    import numba
    from threadpoolctl import threadpool_limits

    prev = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    try:
        if blas:
            with threadpool_limits(limits=int(n)):
                yield
        else:
            yield
    finally:
        numba.set_num_threads(prev)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _run_claim(cell: Cell) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from optlab.claims import get

    s = get(cell.name).run(cell.seed, quick=cell.quick, control=cell.control)
    from optlab.sweep.codec import encode

    cols = {"k": s.k, "y": s.y}
    if s.bound is not None:
        cols["bound"] = s.bound
    lossy: list[str] = []
    info = encode(s.info, lossy)
    return cols, {"info": info, "info_lossy": sorted(set(lossy)), "series_seed": int(s.seed),
                  "has_bound": s.bound is not None}


def _run_method(cell: Cell) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import optlab.problems as problems
    from optlab.methods import load
    from optlab.sweep.codec import encode

    factory = getattr(problems, cell.problem, None)
    if factory is None or not callable(factory):
        raise KeyError(f"unknown problem family {cell.problem!r} in optlab.problems")
    params = dict(cell.params)
    if "seed" in inspect.signature(factory).parameters:
        params.setdefault("seed", cell.seed)
    prob = factory(**params)
    res = load(cell.name)(prob, prob.x_init(), **dict(cell.options))
    cols: dict[str, np.ndarray] = {}
    skipped = []
    for name in res.trace.fields:
        try:
            cols[name] = np.asarray(res.trace[name], dtype=np.float64)
        except (TypeError, ValueError):
            skipped.append(name)
    if "iteration" in cols:
        cols["k"] = cols["iteration"]
    y = cols.get("gap", cols.get("fun"))
    if "k" in cols and y is not None:
        cols["y"] = y
    fun = float(res.fun) if np.ndim(res.fun) == 0 else None
    summary = {"fun": fun, "nit": int(res.nit), "nfev": int(res.nfev), "status": str(res.status),
               "success": bool(res.success), "message": str(res.message)}
    return cols, {"info": encode({"problem": getattr(prob, "name", cell.problem), **summary}),
                  "skipped_trace_fields": skipped}


def run_cell(cell: Cell, key: str, *, threads: int | None = None, blas: bool = True,
             code: str | None = None) -> dict[str, Any]:
    """Run ``cell`` and return its record ``{"columns": {...}, "meta": {...}}``; never raises for the cell.

    Parameters
    ----------
    cell : Cell
        What to run.
    key : str
        The cell's key (computed by the parent, which owns the store).
    threads : int, optional
        Cap on Numba and BLAS threads while the cell runs (see :func:`cap_threads`).
    blas : bool
        Whether to apply the cap to BLAS here (``False`` under the thread backend).
    code : str, optional
        The code hash behind ``key``, recorded in the metadata.

    Returns
    -------
    dict
        ``columns``: float64 arrays of equal length, one entry per recorded iteration (``k``,
        ``y`` and ``bound`` for a claim; the trace fields, plus ``k`` and ``y``, for a method);
        ``meta``: status (``"ok"``/``"failed"``), the traceback of a failure, wall time, start
        and end times, host, pid, thread cap, versions and the cell's info.
    """
    from optlab.sweep.codehash import versions

    meta: dict[str, Any] = {"key": key, "cell": cell.spec(), "label": cell.label, "started": _now(),
                            "host": socket.gethostname(), "pid": os.getpid(), "threads": threads, "code": code,
                            "versions": versions()}
    t0 = time.perf_counter()
    try:
        with cap_threads(threads, blas=blas):
            cols, extra = (_run_claim if cell.kind == "claim" else _run_method)(cell)
        lengths = {n: np.shape(a) for n, a in cols.items()}
        if len(set(lengths.values())) > 1 or any(len(s) != 1 for s in lengths.values()):
            raise ValueError(f"recorded columns must be 1-d of one length, got {lengths}")
        meta.update(extra, status="ok", error=None)
    except Exception as e:  # a failed cell is recorded, and the sweep goes on
        cols = {}
        meta.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    meta["seconds"] = time.perf_counter() - t0
    meta["finished"] = _now()
    columns = {n: np.ascontiguousarray(a, dtype=np.float64) for n, a in cols.items()}
    return {"columns": columns, "meta": meta}
