"""Results and traces: scipy's field names, per-iteration arrays, status from the trace.

Every method returns a :class:`Result` (a dict with attribute access, like
``scipy.optimize.OptimizeResult``) whose fields are always present::

    x, fun, nit, nfev, njev, nhev, status, success, message, trace

``trace`` is a :class:`Trace`: equal-length NumPy arrays recorded every
``record_every`` iterations (and at the last one) into preallocated buffers. The
status is computed from the recorded values (:func:`status_from_trace`), never from a
sentinel set inside the loop.

Methods share the bookkeeping through :class:`Monitor`, which counts oracle calls,
records, calls the callback and decides when to stop.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from optlab.backend import namespace

__all__ = ["Monitor", "Result", "Status", "Trace", "status_from_trace"]


class Status(str, enum.Enum):
    """Why a run ended. Compares equal to its string value (``Status.CONVERGED == "converged"``)."""

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    DIVERGED = "diverged"
    SEARCH_FAILED = "search_failed"
    NOT_SEPARABLE = "not_separable"
    CALLBACK = "callback"

    def __str__(self) -> str:
        return self.value


_MESSAGES = {
    Status.CONVERGED: "converged: the stopping tolerance was met",
    Status.MAX_ITER: "max_iter reached before the tolerance was met; raise max_iter or loosen the tolerance",
    Status.DIVERGED: "diverged: a non-finite value appeared; the step size is likely too large",
    Status.SEARCH_FAILED: "the line search exhausted its trials without accepting a step",
    Status.NOT_SEPARABLE: "max_iter reached and the data are not linearly separable (LP check), "
                          "which this method's guarantee requires",
    Status.CALLBACK: "stopped by the callback (StopIteration)",
}


class Result(dict):
    """Outcome of a method, in the manner of ``scipy.optimize.OptimizeResult``.

    Attributes
    ----------
    x : array
        Final iterate, in the namespace and dtype of ``x0``.
    fun : float
        Objective at ``x``.
    nit : int
        Iterations performed.
    nfev, njev, nhev : int
        Function, gradient and Hessian (or Hessian-vector product) evaluations.
    status : Status
        Why the run ended (``"converged"``, ``"max_iter"``, ``"diverged"``, ...).
    success : bool
        ``status == "converged"``.
    message : str
        What happened, in words a person can act on.
    trace : Trace
        Per-iteration arrays.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    __setattr__ = dict.__setitem__  # type: ignore[assignment]
    __delattr__ = dict.__delitem__  # type: ignore[assignment]

    def __repr__(self) -> str:
        keys = ("status", "success", "fun", "nit", "nfev", "njev", "nhev", "message")
        lines = [f"{k:>8}: {self[k]!r}" for k in keys if k in self]
        if "trace" in self:
            lines.append(f"   trace: {self['trace']!r}")
        return "\n".join(lines)

    def __dir__(self) -> list[str]:
        return list(self.keys())


class Trace(dict):
    """Per-iteration record: a dict of equal-length 1-D NumPy arrays with attribute access.

    Always holds ``iteration``, ``fun``, ``gap`` (NaN where f* is unknown),
    ``grad_norm``, ``dist`` (distance to ``x*``, NaN where unknown), ``nfev``, ``njev``,
    ``nhev`` and ``time`` (seconds since the start); methods add their own fields
    (``gamma``, ``step``, ...).
    """

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    @property
    def n_records(self) -> int:
        """Number of recorded iterations (every array has this length)."""
        return len(self["iteration"]) if "iteration" in self else 0

    @property
    def fields(self) -> list[str]:
        """Names of the recorded arrays."""
        return list(self.keys())

    def __repr__(self) -> str:
        return f"Trace({self.n_records} records: {', '.join(self.keys())})"


_BASE_FIELDS = ("iteration", "fun", "gap", "grad_norm", "dist", "nfev", "njev", "nhev", "time")


def status_from_trace(trace: Trace, *, gtol: float | None, ftol: float | None,
                      reason: Status | None = None, done: Callable[[Trace], bool] | None = None) -> Status:
    """Decide the status from the last recorded values.

    Non-finite last values mean ``diverged``; a last gradient norm ``<= gtol``, a last
    gap ``<= ftol``, or ``done(trace)`` (a method's own success test on its recorded
    fields, e.g. every margin positive) means ``converged``; otherwise ``reason`` (the
    method's own account: a failed search, a callback stop) or ``max_iter``.
    """
    if trace.n_records == 0:
        return reason or Status.MAX_ITER
    last_f = trace["fun"][-1]
    last_g = trace["grad_norm"][-1]
    grad_recorded = not np.isnan(trace["grad_norm"]).all()
    if not math.isfinite(last_f) or (grad_recorded and not math.isfinite(last_g)):
        return Status.DIVERGED
    if gtol is not None and last_g <= gtol:
        return Status.CONVERGED
    if ftol is not None and trace["gap"][-1] <= ftol:
        return Status.CONVERGED
    if done is not None and done(trace):
        return Status.CONVERGED
    return reason or Status.MAX_ITER


class Monitor:
    """Bookkeeping shared by every iterative method: counts, trace, callback, stopping.

    A method creates one Monitor, adds its oracle calls with :meth:`count`, asks
    :meth:`due` whether iteration ``k`` is recorded, calls :meth:`record` there (which
    returns True when the run must stop), and ends with :meth:`result`.

    Recording converts a few scalars to host floats; this is the only synchronization
    with a GPU, so ``record_every`` also sets how often a CuPy run synchronizes.

    Parameters
    ----------
    problem : Problem or None
        Used for ``gap`` (when ``f_star`` is known) and ``x_star`` (distance).
    max_iter : int
        Iteration budget; iteration ``max_iter`` is always recorded.
    record_every : int
        Record every this many iterations.
    gtol, ftol : float or None
        Stop when the gradient norm ``<= gtol`` or the gap ``<= ftol``.
    callback : callable or None
        Called as ``callback(intermediate_result)`` at every recorded iteration with a
        :class:`Result` holding ``x``, ``fun``, ``nit`` and the counts; raising
        ``StopIteration`` ends the run cleanly with status ``"callback"``.
    extra : iterable of str
        Names of method-specific trace fields.
    done : callable or None
        ``done(trace) -> bool``: the method's own success test on the recorded fields,
        used by :func:`status_from_trace`.
    """

    def __init__(self, problem: Any, *, max_iter: int, record_every: int = 1,
                 gtol: float | None = None, ftol: float | None = None,
                 callback: Callable[[Result], Any] | None = None, extra: Iterable[str] = (),
                 done: Callable[[Trace], bool] | None = None) -> None:
        if int(max_iter) != max_iter or max_iter < 0:
            raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
        if int(record_every) != record_every or record_every < 1:
            raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
        for name, tol in (("gtol", gtol), ("ftol", ftol)):
            if tol is not None and not (tol >= 0):
                raise ValueError(f"{name} must be non-negative, got {tol!r}")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        self.problem = problem
        self.max_iter = int(max_iter)
        self.record_every = int(record_every)
        self.gtol, self.ftol = gtol, ftol
        self.callback = callback
        self.done = done
        self.nfev = self.njev = self.nhev = 0
        self.reason: Status | None = None
        capacity = self.max_iter // self.record_every + 2
        self._fields = _BASE_FIELDS + tuple(extra)
        self._buf = {name: np.full(capacity, np.nan) for name in self._fields}
        self._n = 0
        self._has_gap = problem is not None and getattr(problem, "f_star", None) is not None
        self._has_dist = problem is not None and getattr(problem, "x_star", None) is not None
        self._t0 = time.perf_counter()
        self._last_fun = math.nan
        self._x_star = None

    def count(self, nfev: int = 0, njev: int = 0, nhev: int = 0) -> None:
        """Add oracle calls."""
        self.nfev += nfev
        self.njev += njev
        self.nhev += nhev

    def due(self, k: int) -> bool:
        """Whether iteration ``k`` is recorded."""
        return k % self.record_every == 0 or k >= self.max_iter

    def record(self, k: int, x: Any, fun: Any, grad: Any = None, *, grad_norm: float | None = None,
               **extra: float) -> bool:
        """Record iteration ``k`` at point ``x``; return True when the run must stop.

        ``fun`` is f(x); ``grad`` the gradient at ``x`` (or None), or its norm directly
        as ``grad_norm``. Evaluations made here for the gap and distance are
        measurements and are not counted as oracle calls.
        """
        i = self._n
        buf = self._buf
        fval = float(fun)
        buf["iteration"][i] = k
        buf["fun"][i] = fval
        if grad is not None:
            xp = namespace(grad)
            buf["grad_norm"][i] = float(xp.linalg.vector_norm(grad))
        elif grad_norm is not None:
            buf["grad_norm"][i] = float(grad_norm)
        if self._has_gap:
            buf["gap"][i] = float(self.problem.gap(x)) if math.isfinite(fval) else fval
        if self._has_dist:
            if self._x_star is None:  # converted once, in the namespace and on the device of x
                self._x_star = namespace(x).asarray(self.problem.x_star, dtype=x.dtype, device=x.device)
            buf["dist"][i] = float(namespace(x).linalg.vector_norm(x - self._x_star))
        buf["nfev"][i] = self.nfev
        buf["njev"][i] = self.njev
        buf["nhev"][i] = self.nhev
        buf["time"][i] = time.perf_counter() - self._t0
        for name, value in extra.items():
            buf[name][i] = float(value)
        self._n += 1
        self._last_fun = fval
        has_grad = grad is not None or grad_norm is not None
        if not math.isfinite(fval) or (has_grad and not math.isfinite(buf["grad_norm"][i])):
            return True
        if self.gtol is not None and buf["grad_norm"][i] <= self.gtol:
            return True
        if self.ftol is not None and buf["gap"][i] <= self.ftol:
            return True
        if self.callback is not None:
            try:
                self.callback(Result(x=x, fun=fval, nit=k, nfev=self.nfev, njev=self.njev, nhev=self.nhev))
            except StopIteration:
                self.reason = Status.CALLBACK
                return True
        return k >= self.max_iter

    def trace(self) -> Trace:
        """The recorded arrays, trimmed to the number of records."""
        n = self._n
        return Trace({name: self._buf[name][:n].copy() for name in self._fields})

    def result(self, x: Any, *, nit: int, reason: Status | None = None, **fields: Any) -> Result:
        """Build the :class:`Result`; the status comes from the trace."""
        trace = self.trace()
        status = status_from_trace(trace, gtol=self.gtol, ftol=self.ftol, reason=reason or self.reason,
                                   done=self.done)
        return Result(
            x=x, fun=self._last_fun, nit=int(nit), nfev=self.nfev, njev=self.njev, nhev=self.nhev,
            status=status, success=status is Status.CONVERGED, message=_MESSAGES[status],
            trace=trace, **fields,
        )

