"""Oracle bookkeeping shared by the bilevel methods: one random stream per oracle, counts by kind,
the lower-level SGD and Neumann loops (Numba on NumPy inputs with a quadratic lower level), the
trace and the status.

A method never imports a problem: it calls the protocol of
:class:`optlab.problems.bilevel.BilevelProblem` (``grad_F``, ``grad_yG``, ``hvp_yy``, ``jvp_xy``,
``f``/``grad`` as measurements, ``y_star``/``z_star`` when present) and reads the optional
``lower_quadratic`` description to take the Numba path.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from optlab.backend import as_float_array, as_positive_float, namespace, numba_applies
from optlab.result import Monitor, Result

__all__ = ["KINDS", "Oracles", "check_problem", "check_x0"]

KINDS = ("grad_f", "grad_g", "hvp", "jvp")
TRACE_FIELDS = ("calls", "calls_grad_f", "calls_grad_g", "calls_hvp", "calls_jvp", "avg_grad_norm", "y_err",
                "z_err", "z_err_ystar")


def check_problem(problem: Any) -> None:
    """``TypeError`` unless ``problem`` provides the bilevel oracle protocol."""
    missing = [m for m in ("grad_F", "grad_yG", "hvp_yy", "jvp_xy", "f", "grad") if not callable(getattr(problem, m,
                                                                                                         None))]
    if missing or not hasattr(problem, "dx") or not hasattr(problem, "dy"):
        raise TypeError(f"problem must provide the bilevel oracles (dx, dy, grad_F, grad_yG, hvp_yy, jvp_xy, f, grad); "
                        f"missing: {', '.join(missing) or 'dx/dy'}")


def check_x0(problem: Any, x0: Any, y0: Any) -> tuple[Any, Any]:
    x0 = as_float_array(x0, "x0", ndim=1, size=problem.dx)
    if y0 is None:
        y0 = namespace(x0).zeros(problem.dy, dtype=x0.dtype, device=x0.device)
    else:
        y0 = as_float_array(y0, "y0", ndim=1, size=problem.dy)
        if namespace(y0) is not namespace(x0):
            raise TypeError("x0 and y0 must come from the same array library")
        y0 = namespace(x0).asarray(y0, dtype=x0.dtype, device=x0.device)
    return x0, y0


def positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or int(value) != value or value < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} integer, got {value!r}")
    return int(value)


def step(value: Any, name: str) -> float:
    return as_positive_float(value, name)


def momentum(value: Any, name: str) -> float:
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return v


class Oracles:
    """The method's view of a bilevel problem: counted oracle calls on per-kind random streams.

    Parameters
    ----------
    problem : BilevelProblem
        The oracle provider.
    seed : int or numpy.random.SeedSequence
        Seeds four independent streams (``SeedSequence(seed).spawn(4)``), one per oracle kind
        (``grad_f``, ``grad_g``, ``hvp``, ``jvp``), so adding HVP calls never shifts the gradient noise.
    like : array
        An iterate: its namespace decides the path (Numba for NumPy float arrays with a
        ``lower_quadratic`` problem, generic otherwise).
    use_numba : bool or None
        Force (True/False) or auto-select (None) the Numba inner loops.
    """

    def __init__(self, problem: Any, seed: Any, like: Any, use_numba: bool | None = None) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.problem = problem
        self.rng = {k: np.random.default_rng(s) for k, s in zip(KINDS, ss.spawn(len(KINDS)), strict=True)}
        self.counts = dict.fromkeys(KINDS, 0)
        self.xp = namespace(like)
        quad = getattr(problem, "lower_quadratic", None)
        can = quad is not None and numba_applies(like)
        if use_numba and not can:
            raise ValueError("use_numba=True needs NumPy float inputs and a problem with a quadratic lower level "
                             "(problem.lower_quadratic)")
        self.numba = can if use_numba is None else bool(use_numba)
        if self.numba:
            from optlab.bilevel import _kernels  # compiled on first use, cached on disk

            self._k = _kernels
            dt = like.dtype
            self._A = np.ascontiguousarray(quad["A"], dtype=dt)
            self._B = np.ascontiguousarray(quad["B"], dtype=dt)
            self._sg, self._sh = float(quad["sigma_g"]), float(quad["sigma_H"])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    # -- single calls ---------------------------------------------------------------------
    def grad_F(self, x: Any, y: Any) -> tuple[Any, Any]:
        self.counts["grad_f"] += 1
        return self.problem.grad_F(x, y, self.rng["grad_f"])

    def grad_yG(self, x: Any, y: Any) -> Any:
        self.counts["grad_g"] += 1
        return self.problem.grad_yG(x, y, self.rng["grad_g"])

    def hvp(self, x: Any, y: Any, v: Any) -> Any:
        self.counts["hvp"] += 1
        return self.problem.hvp_yy(x, y, v, self.rng["hvp"])

    def jvp(self, x: Any, y: Any, v: Any) -> Any:
        self.counts["jvp"] += 1
        return self.problem.jvp_xy(x, y, v, self.rng["jvp"])

    # -- inner loops ----------------------------------------------------------------------
    def lower_sgd(self, x: Any, y: Any, steps: int, gamma: float, *, average: bool = False) -> Any:
        """``steps`` SGD steps on ``g(x, .)`` from ``y`` with step ``gamma``; the last iterate, or the
        average of the iterates when ``average``. Warns when the noiseless residual grew (a step
        above ``2 / l_g1`` diverges)."""
        if steps == 0:
            return y
        self.counts["grad_g"] += steps
        if self.numba:
            noise = self.rng["grad_g"].standard_normal((steps, self.problem.dy)) if self._sg > 0 else \
                np.zeros((steps, self.problem.dy))
            b = self._B @ x
            y_last, y_avg, r0, r1 = self._k.lower_sgd_quadratic(self._A, b, y, gamma, self._sg,
                                                               noise.astype(y.dtype, copy=False), average)
            grew = not math.isfinite(r1) or r1 > 1e6 * max(r0, 1.0)  # blow-up, not noise near y*
            out = y_avg if average else y_last
        else:
            rng, prob = self.rng["grad_g"], self.problem
            avg = None
            for k in range(steps):
                y = y - gamma * prob.grad_yG(x, y, rng)
                if average:
                    avg = y if avg is None else avg + (y - avg) / (k + 1)
            out = avg if average else y
            grew = False
        if grew and steps >= 2:
            warnings.warn(f"the lower-level residual grew during {steps} SGD steps at gamma={gamma:g}; "
                          f"gamma > 2/l_g1 diverges", RuntimeWarning, stacklevel=3)
        return out

    def neumann(self, x: Any, y: Any, v: Any, q: int, c: float) -> Any:
        """StocBiO's estimator of ``[Hess_yy g]^{-1} v``: ``(1/c) sum_{j=0..q} prod (I - H_j / c) v``
        (``q`` HVP calls; the ``j = 0`` term ``v / c`` included)."""
        self.counts["hvp"] += q
        if self.numba:
            dy = self.problem.dy
            noise = self.rng["hvp"].standard_normal((q, dy + 1)) if self._sh > 0 else np.zeros((q, dy + 1))
            return self._k.neumann_quadratic(self._A, v, c, self._sh, noise.astype(v.dtype, copy=False))
        rng, prob = self.rng["hvp"], self.problem
        p = v
        for _ in range(q):
            v = v - prob.hvp_yy(x, y, v, rng) / c
            p = p + v
        return p / c


def make_monitor(problem: Any, max_iter: int, record_every: int, callback: Any, avg_gtol: float | None) -> Monitor:
    done = None if avg_gtol is None else (lambda tr: tr["avg_grad_norm"][-1] <= avg_gtol)
    return Monitor(problem, max_iter=max_iter, record_every=record_every, callback=callback, extra=TRACE_FIELDS,
                   done=done)


class Tracker:
    """Measurements at the iterates (never oracle calls): ``||grad Phi(x_t)||``, its running mean
    over every iterate ``x_0..x_t`` when ``every_iter`` (else over the recorded ones), and the
    lower-level and auxiliary errors ``||y - y*(x)||``, ``||z - z*(x, y)||`` where the problem has them.

    ``z_err_ystar = ||z - z*(x, y*(x))||`` compares ``z`` with the auxiliary of the exact
    hypergradient (the one E3 bounds); it is measured only where both references are closed forms
    (a problem with ``lower_quadratic``), NaN elsewhere (on P3 it would cost a second CG solve
    per record)."""

    def __init__(self, problem: Any, every_iter: bool) -> None:
        self.problem = problem
        self.every_iter = every_iter
        self.sum = 0.0
        self.n = 0
        self.has_y = callable(getattr(problem, "y_star", None))
        self.has_z = callable(getattr(problem, "z_star", None))
        self.closed_form = self.has_y and self.has_z and getattr(problem, "lower_quadratic", None) is not None
        self.last = math.nan

    def grad_norm(self, x: Any) -> float:
        with np.errstate(all="ignore"):
            g = float(namespace(x).linalg.vector_norm(self.problem.grad(x)))
        self.sum += g
        self.n += 1
        self.last = g
        return g

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else math.nan

    def record(self, mon: Monitor, k: int, x: Any, y: Any, z: Any, orc: Oracles) -> bool:
        with np.errstate(all="ignore"):
            if not self.every_iter:
                self.grad_norm(x)
            xp = namespace(x)
            y_err = z_err = z_err_ystar = math.nan
            try:
                fun = self.problem.f(x)
                if self.has_y:
                    ys = self.problem.y_star(x)
                    y_err = float(xp.linalg.vector_norm(y - ys))
                if self.has_z and z is not None:
                    z_err = float(xp.linalg.vector_norm(z - self.problem.z_star(x, y)))
                    if self.closed_form:
                        z_err_ystar = float(xp.linalg.vector_norm(z - self.problem.z_star(x, ys)))
            except (FloatingPointError, OverflowError, ValueError):
                fun = math.nan
            c = orc.counts
            mon.njev, mon.nhev = c["grad_f"] + c["grad_g"], c["hvp"] + c["jvp"]
            return mon.record(k, x, fun, grad_norm=self.last, calls=orc.total, calls_grad_f=c["grad_f"],
                              calls_grad_g=c["grad_g"], calls_hvp=c["hvp"], calls_jvp=c["jvp"],
                              avg_grad_norm=self.mean, y_err=y_err, z_err=z_err,
                              z_err_ystar=z_err_ystar)


def finish(mon: Monitor, orc: Oracles, x: Any, y: Any, z: Any, nit: int, **fields: Any) -> Result:
    """The Result: ``njev`` = stochastic gradient calls (grad F + grad_y G), ``nhev`` = HVP + JVP calls."""
    mon.nfev, mon.njev, mon.nhev = 0, orc.counts["grad_f"] + orc.counts["grad_g"], orc.counts["hvp"] + orc.counts["jvp"]
    res = mon.result(x, nit=nit, **fields)
    res["y"], res["z"] = y, z
    res["oracle_calls"] = dict(orc.counts, total=orc.total)
    res["numba"] = orc.numba
    return res


def finite(xp: Any, *arrays: Any) -> bool:
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays if a is not None)
