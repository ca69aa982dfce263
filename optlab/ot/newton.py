"""Newton methods on the entropic OT dual: SNS, Sinkhorn-Newton, and a dense-Newton reference.

All three maximize the concave dual ``f(x, y)`` of :mod:`optlab.ot._common` whose Hessian is
``-eta [[diag(P 1), P], [P^T, diag(P^T 1)]]`` and share one driver (:func:`_drive`): an
optional Sinkhorn warm-up, then Newton steps ``z <- z + alpha dz`` with ``dz`` from

- ``"sparse"`` (:func:`sns`, Tang et al., ICLR 2024, Algorithm 1): Jacobi-PCG on the
  sparsified Hessian: the diagonal blocks exact, only the ``k_P`` largest entries of ``P``
  kept off the diagonal (``k_P = ceil((lambda (n+m)^2 - (n+m)) / 2)``, ties included), so
  ``-M`` is symmetric, diagonally dominant and PSD;
- ``"matfree"`` (:func:`sinkhorn_newton`, Brauer, Clason, Lorenz, Wirth 2017): PCG on the
  exact Hessian through products with the dense ``P``, warm-started, a capped iteration
  count, full steps;
- ``"dense"`` (:func:`dense_newton`): the exact Hessian with the gauge ``y_m = 0``, a dense
  solve; the reference for small problems.

Line search (SNS and the reference; the spec's Section 9 rules): Armijo with ``c1 = 1e-4``,
``alpha = 1, 1/2, ...`` at most ``max_halvings`` halvings, then one Sinkhorn sweep instead
(recorded as ``stage = 2``). When ``c1 <g, dz>`` is below the rounding level of ``f``
the Armijo test cannot tell trial steps apart: then ``alpha = 1`` is accepted only if the
marginal error decreases, otherwise the run stops (``stop = "float_floor"``). CG direction:
its kernel component along ``(1, -1)`` is removed; potentials are re-centred
(``mean x = mean y``) after the warm-up and after every Newton step. Counting: a Sinkhorn
sweep is one iteration, a Newton step is one iteration; CG iterations and line-search trials
are in the trace (``cg_iter``, ``ls_trials``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import numba_applies
from optlab.ot._common import OTInputs, prepare
from optlab.ot.sinkhorn import _DualGap, _finish, _log_sweep_generic
from optlab.result import Monitor, Result, Status

__all__ = ["dense_newton", "sinkhorn_newton", "sns"]

_EPS = float(np.finfo(np.float64).eps)
_EXTRA = ("stage", "alpha", "cg_iter", "cg_res", "ls_trials", "nnz")
_TINY = 5e-324
_MAX_NATS = 30.0
# [our choice] CG cap 10 (n + m), not the spec's n + m: at n = 200, eta = 1200 the Jacobi-PCG residual after
# n + m iterations is still 0.35-0.57 of ||g|| and SNS stalls near gap 1e-11; with the larger cap it reaches
# 1e-13 in 32-35 iterations. A CG iteration is O(nnz + n + m) = O(n), so the cap keeps a step O(n^2).
_CG_CAP_FACTOR = 10


# --------------------------------------------------------------------------------------
# operations, Numba (NumPy float64 potentials) and generic (the caller's namespace)
# --------------------------------------------------------------------------------------


class _NumbaOps:
    """Plan passes, sweeps and direction solves with the kernels of :mod:`optlab.ot._kernels`."""

    def __init__(self, inp: OTInputs) -> None:
        from optlab.ot import _kernels

        self.k = _kernels
        self.xp = np
        self.C = np.ascontiguousarray(inp.C)
        self.eta = inp.eta
        self.r = np.asarray(inp.a, dtype=np.float64)
        self.c = np.asarray(inp.b, dtype=np.float64)
        self.logr, self.logc = np.log(self.r), np.log(self.c)
        self.n, self.m = self.C.shape
        self.work = np.empty((4, self.m))
        self.buffer: np.ndarray | None = None
        self._sample: np.ndarray | None = None

    def zeros(self, size: int) -> np.ndarray:
        return np.zeros(size)

    def sweep(self, x, y, first=False):
        xn, yn = x.copy(), y.copy()
        err, mass, _ = self.k.log_sweep(self.C, self.eta, xn, yn, self.r, self.logr, self.c, self.logc, self.work,
                                        first)
        return xn, yn, err, mass

    def plan(self, x, y):
        """Plan into the one n x m buffer: the current plan is not needed once the direction is
        solved, so a line-search trial may overwrite it (the accepted trial's plan is the next one)."""
        if self.buffer is None:
            self.buffer = np.empty((self.n, self.m))
        rows, cols = np.empty(self.n), np.empty(self.m)
        mass = self.k.plan_pass(self.C, self.eta, x, y, self.buffer, rows, cols)
        return self.buffer, rows, cols, mass

    def threshold(self, P: np.ndarray, kP: int):
        """Triplets of the ``kP`` largest positive entries of ``P`` (ties included)."""
        N = P.size
        flat = P.reshape(-1)
        if self._sample is None:  # fixed random positions: a deterministic threshold estimate
            s = min(N, 16384)
            self._sample = np.sort(np.random.default_rng(0).choice(N, size=s, replace=False))
        sample = flat[self._sample]
        s = sample.size

        def value_at(rank: int) -> float:  # the rank-th largest sampled value (0-based)
            return float(np.partition(sample, s - 1 - rank)[s - 1 - rank])

        idx = min(s - 1, math.ceil(2.0 * kP * s / N) + 8)
        t0 = max(value_at(idx), _TINY)
        cap = 4 * kP + 1024
        while True:
            ci, cj, cv = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
            cnt = self.k.collect_above(P, t0, cap, ci, cj, cv)
            if cnt > cap:  # threshold too low: make room (one more pass)
                cap = cnt
                continue
            if cnt < kP and t0 > _TINY:  # too high: lower it
                idx = min(s - 1, 4 * idx + 16)
                t0 = _TINY if idx == s - 1 else max(value_at(idx), _TINY)
                continue
            break
        ci, cj, cv = ci[:cnt], cj[:cnt], cv[:cnt]
        rho = cv.min() if cnt <= kP else np.partition(cv, cnt - kP)[cnt - kP]
        return ci, cj, cv, cv >= rho

    def solve_sparse(self, P, rows, cols, g, kP, rtol, maxiter):
        n, m = self.n, self.m
        if kP > 0:
            ci, cj, cv, keep = self.threshold(P, kP)
        else:
            ci = cj = np.empty(0, np.int64)
            cv = np.empty(0)
            keep = np.empty(0, np.bool_)
        csr = self.k.csr_from_triplets(ci, cj, cv, keep, n, m)
        dz, it, rel = self.k.pcg(*csr, rows, cols, self.eta, g, rtol, maxiter)
        return dz, it, rel, int(csr[1].size)

    def matvec_dense(self, P, rows, cols):
        n, eta = self.n, self.eta
        return lambda v: eta * np.concatenate([rows * v[:n] + P @ v[n:], v[:n] @ P + cols * v[n:]])


class _GenericOps:
    """The same operations with array-API calls (CuPy, ``array_api_strict``)."""

    def __init__(self, inp: OTInputs) -> None:
        self.inp = inp
        self.xp = inp.xp
        self.C, self.eta, self.r, self.c = inp.C, inp.eta, inp.a, inp.b
        self.logr, self.logc = self.xp.log(self.r), self.xp.log(self.c)
        self.n, self.m = inp.C.shape

    def zeros(self, size: int):
        return self.xp.zeros(size, dtype=self.C.dtype, device=self.C.device)

    def sweep(self, x, y, first=False):
        return _log_sweep_generic(self.inp, x, y, self.logr, self.logc)

    def plan(self, x, y):
        xp = self.xp
        V = self.eta * x[:, None] - 1.0 + self.eta * y[None, :] - self.eta * self.C
        P = xp.where(V > -700.0, xp.exp(V), xp.zeros_like(V))
        rows, cols = xp.sum(P, axis=1), xp.sum(P, axis=0)
        return P, rows, cols, float(xp.sum(rows))

    def solve_sparse(self, P, rows, cols, g, kP, rtol, maxiter):
        xp = self.xp
        if kP > 0:
            flat = xp.sort(xp.reshape(P, (-1,)), descending=True)
            npos = int(xp.sum(xp.astype(flat > 0, xp.int64)))
            rho = float(flat[min(kP, max(npos, 1)) - 1])
            rho = max(rho, _TINY)
            S = xp.where(P >= rho, P, xp.zeros_like(P))
        else:
            S = xp.zeros_like(P)
        nnz = int(xp.sum(xp.astype(S > 0, xp.int64)))
        S_op = _sparse_if_cupy(S, xp)
        n, eta = self.n, self.eta

        def matvec(v):
            return eta * xp.concat([rows * v[:n] + S_op @ v[n:], S_op.T @ v[:n] + cols * v[n:]])

        dz, it, rel = _pcg(matvec, eta * xp.concat([rows, cols]), g, rtol=rtol, atol=0.0, maxiter=maxiter)
        return dz, it, rel, nnz

    def matvec_dense(self, P, rows, cols):
        xp, n, eta = self.xp, self.n, self.eta
        return lambda v: eta * xp.concat([rows * v[:n] + P @ v[n:], v[:n] @ P + cols * v[n:]])


def _sparse_if_cupy(S: Any, xp: Any) -> Any:
    """On CuPy, the sparsified matrix as a ``cupyx`` CSR (O(nnz) products); elsewhere dense."""
    if getattr(xp, "__name__", "").startswith("cupy"):
        import cupyx.scipy.sparse as csp

        return csp.csr_matrix(S)
    return S


def _pcg(matvec: Callable[[Any], Any], diag: Any, g: Any, *, rtol: float, atol: float, maxiter: int,
         z0: Any = None) -> tuple[Any, int, float]:
    """Jacobi-PCG for ``A z = g`` (``A`` PSD via ``matvec``), generic; stops at
    ``||res||_2 <= max(rtol ||g||_2, atol)``. Returns ``(z, iterations, ||res|| / ||g||)``."""
    from optlab.backend import namespace

    xp = namespace(g)
    dinv = xp.where(diag > 0, 1.0 / xp.where(diag > 0, diag, xp.ones_like(diag)), xp.ones_like(diag))
    z = xp.zeros_like(g) if z0 is None else z0
    res = g - matvec(z) if z0 is not None else g
    gnorm = float(xp.linalg.vector_norm(g))
    target = max(rtol * gnorm, atol)
    pre = res * dinv
    p = pre
    rz = float(xp.sum(res * pre))
    rnorm = float(xp.linalg.vector_norm(res))
    it = 0
    while it < maxiter and rnorm > target:
        q = matvec(p)
        pq = float(xp.sum(p * q))
        if not pq > 0.0:
            break
        alpha = rz / pq
        z = z + alpha * p
        res = res - alpha * q
        pre = res * dinv
        rz_new = float(xp.sum(res * pre))
        p = pre + (rz_new / rz) * p
        rz = rz_new
        rnorm = float(xp.linalg.vector_norm(res))
        it += 1
    return z, it, (rnorm / gnorm if gnorm > 0 else 0.0)


# --------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------


def _check_int(value: Any, name: str, low: int = 0) -> int:
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _drive(inp: OTInputs, *, direction: str, n_sinkhorn: int, density: float, tol: float, max_iter: int,
           line_search: bool, cg_rtol: float, cg_maxiter: int | None, c1: float, max_halvings: int,
           f_star: float | None, callback: Callable[[Result], Any] | None) -> Result:
    ops = _NumbaOps(inp) if numba_applies(inp.C) else _GenericOps(inp)
    xp = ops.xp
    n, m = ops.n, ops.m
    ref = _DualGap(f_star)
    mon = Monitor(ref if f_star is not None else None, max_iter=max_iter, gtol=tol, callback=callback, extra=_EXTRA)
    nan = math.nan

    def fvalue(x, y, mass):
        return -mass / ops.eta + float(xp.sum(ops.r * x)) + float(xp.sum(ops.c * y))

    def record(k, x, y, f, err, **info):
        ref.current = f
        if k == 0 and not (math.isfinite(f) and math.isfinite(err)):
            return False
        vals = {name: info.get(name, nan) for name in _EXTRA}
        return mon.record(k, xp.concat([x, y]), f, grad_norm=err, **vals)

    def recentre(x, y):
        t = (float(xp.mean(y)) - float(xp.mean(x))) / 2.0
        return x + t, y - t

    x, y = ops.zeros(n), ops.zeros(m)
    k, stop_reason = 0, None
    # -- Sinkhorn warm-up --------------------------------------------------------------
    while k < n_sinkhorn:
        xn, yn, err, mass = ops.sweep(x, y, first=k == 0)
        mon.count(nfev=1, njev=1)
        if record(k, x, y, fvalue(x, y, mass), err, stage=0.0):
            why = "callback" if mon.reason is Status.CALLBACK else ("tol" if err <= tol else "max_iter")
            return _result(inp, mon, x, y, k, why)
        x, y = xn, yn
        k += 1
    x, y = recentre(x, y)
    # -- Newton stage ------------------------------------------------------------------
    if density >= 1.0:
        kP = n * m
    else:
        kP = max(0, math.ceil((density * (n + m) ** 2 - (n + m)) / 2.0))
    cg_cap = _CG_CAP_FACTOR * (n + m) if cg_maxiter is None else cg_maxiter
    P, rows, cols, mass = ops.plan(x, y)
    mon.count(nfev=1, njev=1)
    f = fvalue(x, y, mass)
    info: dict[str, float] = {"stage": 0.0 if n_sinkhorn else 1.0}
    dz_prev = None
    while True:
        g = xp.concat([ops.r - rows, ops.c - cols])
        err = float(xp.sum(xp.abs(g)))
        if record(k, x, y, f, err, **info):
            break
        # direction; the right-hand side without its (1, -1) component (sum a - sum b and rounding put one
        # there, and the Hessian's kernel cannot absorb it: CG would stall near the optimum)
        tilt = (float(xp.sum(g[:n])) - float(xp.sum(g[n:]))) / (n + m)
        g_solve = xp.concat([g[:n] - tilt, g[n:] + tilt])
        if direction == "sparse":
            dz, cg_it, cg_res, nnz = ops.solve_sparse(P, rows, cols, g_solve, kP, cg_rtol, cg_cap)
        elif direction == "matfree":
            cap = max(round((n + m) / 24), 10) if cg_maxiter is None else cg_maxiter
            dz, cg_it, cg_res = _pcg(ops.matvec_dense(P, rows, cols), ops.eta * xp.concat([rows, cols]), g_solve,
                                     rtol=0.0, atol=tol, maxiter=cap, z0=dz_prev)
            nnz = n * m
        else:
            dz, cg_it, cg_res, nnz = _dense_direction(P, rows, cols, g_solve, ops.eta, xp), 0, 0.0, n * m
        mon.count(nhev=max(cg_it, 1))
        shift = (float(xp.sum(dz[:n])) - float(xp.sum(dz[n:]))) / (n + m)  # remove the (1, -1) component
        dz = xp.concat([dz[:n] - shift, dz[n:] + shift])
        dz_prev = dz
        slope = float(xp.sum(g * dz))
        noise = 64.0 * _EPS * (abs(float(xp.sum(ops.r * x))) + abs(float(xp.sum(ops.c * y))) + mass / ops.eta)
        accepted, trials, alpha = False, 0, 1.0
        ascent = math.isfinite(slope) and slope > 0.0
        # [our choice] a trial never moves an exponent eta (x_i + y_j) by more than _MAX_NATS: when P splits
        # into blocks (underflow) the exact Newton direction is enormous along the near-kernel directions
        step_inf = ops.eta * float(xp.max(xp.abs(dz))) if line_search else 0.0
        alpha0 = min(1.0, _MAX_NATS / step_inf) if step_inf > 0 and math.isfinite(step_inf) else 1.0
        at_floor = line_search and ascent and alpha0 == 1.0 and not (c1 * slope > noise)
        n_trials = (max_halvings + 1 if not at_floor else 1) if line_search else 1
        for h in range(n_trials if (ascent or not line_search) else 0):
            alpha = alpha0 * 0.5**h
            xt, yt = x + alpha * dz[:n], y + alpha * dz[n:]
            Pt, rt, ct, mt = ops.plan(xt, yt)
            mon.count(nfev=1, njev=1)
            trials += 1
            ft = fvalue(xt, yt, mt)
            if not line_search:
                accepted = True
            elif at_floor:
                gt = float(xp.sum(xp.abs(ops.r - rt)) + xp.sum(xp.abs(ops.c - ct)))
                accepted = math.isfinite(gt) and gt < err
            else:
                accepted = math.isfinite(ft) and ft >= f + c1 * alpha * slope
            if accepted:
                break
        k += 1
        if accepted:
            x, y = recentre(xt, yt)
            P, rows, cols, mass, f = Pt, rt, ct, mt, fvalue(*recentre(xt, yt), mt)
            info = {"stage": 1.0, "alpha": alpha, "cg_iter": float(cg_it), "cg_res": cg_res,
                    "ls_trials": float(trials), "nnz": float(nnz)}
            continue
        if at_floor:  # Armijo cannot tell, and the full step does not reduce the error: the float floor
            k -= 1
            stop_reason = "float_floor"
            break
        # line search exhausted: one Sinkhorn sweep instead
        x, y, _, _ = ops.sweep(x, y, first=True)
        x, y = recentre(x, y)
        mon.count(nfev=1, njev=1)
        P, rows, cols, mass = ops.plan(x, y)
        f = fvalue(x, y, mass)
        info = {"stage": 2.0, "alpha": 0.0, "cg_iter": float(cg_it), "cg_res": cg_res,
                "ls_trials": float(trials), "nnz": float(nnz)}
    if stop_reason is None:
        last = mon.trace()
        if mon.reason is Status.CALLBACK:
            stop_reason = "callback"
        elif last.n_records and not math.isfinite(last["fun"][-1]):
            stop_reason = "diverged"
        else:
            stop_reason = "tol" if last.n_records and last["grad_norm"][-1] <= tol else "max_iter"
    return _result(inp, mon, x, y, k, stop_reason)


def _dense_direction(P: Any, rows: Any, cols: Any, g: Any, eta: float, xp: Any) -> Any:
    """Newton direction from the exact Hessian with the gauge ``dy_m = 0`` (dense solve).

    The system is scaled symmetrically to a unit diagonal first (``D^-1/2 H D^-1/2``):
    at large ``eta`` the row and column masses of ``P`` span many orders of magnitude and
    the unscaled LU solve loses the direction.
    """
    n, m = P.shape
    H = xp.concat([xp.concat([_diag(rows, xp), P], axis=1), xp.concat([P.T, _diag(cols, xp)], axis=1)], axis=0)
    N = n + m - 1
    d = xp.concat([rows, cols])[:N]
    s = 1.0 / xp.sqrt(d)
    Hs = H[:N, :N] * s[:, None] * s[None, :]
    # entries below 1e-100 (of a unit diagonal) change nothing but would drive LU into subnormals (100x slower)
    Hs = xp.where(xp.abs(Hs) < 1e-100, xp.zeros_like(Hs), Hs)
    rhs = g[:N] * s / eta
    try:
        w = xp.linalg.solve(Hs, rhs)
    except Exception:  # P split into blocks (underflow): more than one kernel direction; least squares
        w = xp.linalg.pinv(Hs) @ rhs
    return xp.concat([w * s, xp.zeros(1, dtype=g.dtype, device=g.device)])


def _diag(v: Any, xp: Any) -> Any:
    k = v.shape[0]
    return xp.eye(k, dtype=v.dtype, device=v.device) * v[None, :]


def _result(inp: OTInputs, mon: Monitor, x: Any, y: Any, k: int, stop: str) -> Result:
    reason = Status.CONVERGED if stop == "float_floor" else None
    res = _finish(inp, mon, x, y, k, stop=stop)
    if reason is not None:
        res.status, res.success = reason, True
        res.message = ("converged to the float floor: the Armijo test could no longer tell steps apart and "
                       f"the full step did not reduce the marginal error ({res.trace.grad_norm[-1]:.3g})")
    return res


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------


def _common_checks(tol: float, c1: float, max_halvings: int, cg_rtol: float) -> None:
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    if not 0 < c1 < 1:
        raise ValueError(f"c1 must be in (0, 1), got {c1!r}")
    _check_int(max_halvings, "max_halvings")
    if not (isinstance(cg_rtol, (int, float)) and cg_rtol > 0):
        raise ValueError(f"cg_rtol must be positive, got {cg_rtol!r}")


def sns(a: Any, b: Any, C: Any, reg: float, *, n_sinkhorn: int = 20, density: float | None = None,
        tol: float = 1e-11, max_iter: int | None = None, cg_rtol: float = 1e-10, cg_maxiter: int | None = None,
        c1: float = 1e-4, max_halvings: int = 50, f_star: float | None = None,
        callback: Callable[[Result], Any] | None = None) -> Result:
    """Sinkhorn-Newton-Sparse: Sinkhorn warm-up, then Newton steps on a sparsified Hessian.

    Tang, Shavlovsky, Rahmanian, Tardini, Thekumparampil, Xiao, Ying, "Accelerating Sinkhorn
    Algorithm with Sparse Newton Iterations", ICLR 2024 (arXiv:2401.12253), Algorithm 1, with
    the rules of the spec's Section 9 (one sparsification rule; stop at the float floor).

    Parameters
    ----------
    a, b, C, reg
        As in :func:`optlab.ot.sinkhorn` (``eta = 1/reg``).
    n_sinkhorn : int
        ``N1``, log-domain Sinkhorn sweeps before the Newton stage (paper: 20; 700 for L1 costs).
    density : float, optional
        ``lambda``, the fraction of the ``(n+m)^2`` Hessian entries kept: the diagonal
        blocks exactly, plus the ``k_P = ceil((lambda (n+m)^2 - (n+m)) / 2)`` largest
        entries of ``P`` (and their transposes), ties included. Default ``4/(n+m)``
        (``2/n`` for square problems, the paper's value: about ``3n`` entries of ``P``);
        ``density >= 1`` keeps all of ``P`` (Newton with the exact Hessian).
    tol : float
        Stop when the marginal L1 error ``||grad f||_1 <= tol`` (default 1e-11).
    max_iter : int, optional
        Budget of iterations (sweeps plus Newton steps); default ``n_sinkhorn + 100``.
    cg_rtol, cg_maxiter : float, int
        Jacobi-PCG relative tolerance (1e-10) and cap (default ``10 (n + m)``); an unconverged
        CG hands its last iterate to the line search (``cg_res`` in the trace).
    c1, max_halvings : float, int
        Armijo constant and number of halvings before falling back to a Sinkhorn sweep.
    f_star : float, optional
        Known optimal dual value (from a separate reference run) to record the gap.
    callback : callable, optional
        As in :func:`optlab.ot.sinkhorn`.

    Returns
    -------
    Result
        As :func:`optlab.ot.sinkhorn`, plus ``stop`` (``"tol"``, ``"float_floor"``,
        ``"max_iter"``, ``"callback"`` or ``"diverged"``) and the trace fields ``stage``
        (0 Sinkhorn, 1 Newton, 2 Sinkhorn fallback), ``alpha``, ``cg_iter``, ``cg_res``,
        ``ls_trials``, ``nnz`` (entries of ``P`` kept).

    Notes
    -----
    The default ``density`` suits plans close to a permutation (random assignment: gap
    1e-13 in about 30 iterations at ``reg = 1/1200``). Plans whose rows spread over several
    entries need more: smooth costs (upsampled images, squared-L2: ``density = 20/(n+m)``),
    degenerate ones (L1 costs: the paper's ``15/n`` with ``n_sinkhorn = 700``), 1-D problems
    (``density = 1``). Too sparse a Hessian shows as a linear rate with ``alpha = 1`` steps.
    """
    inp = prepare(a, b, C, reg)
    n, m = inp.C.shape
    n_sinkhorn = _check_int(n_sinkhorn, "n_sinkhorn")
    if density is None:
        density = 4.0 / (n + m)
    if not (isinstance(density, (int, float)) and density > 0):
        raise ValueError(f"density must be positive, got {density!r}")
    max_iter = n_sinkhorn + 100 if max_iter is None else _check_int(max_iter, "max_iter")
    _common_checks(tol, c1, max_halvings, cg_rtol)
    return _drive(inp, direction="sparse", n_sinkhorn=n_sinkhorn, density=float(density), tol=tol,
                  max_iter=max_iter, line_search=True, cg_rtol=cg_rtol, cg_maxiter=cg_maxiter, c1=c1,
                  max_halvings=max_halvings, f_star=f_star, callback=callback)


def sinkhorn_newton(a: Any, b: Any, C: Any, reg: float, *, tol: float = 1e-11, max_iter: int = 100,
                    cg_maxiter: int | None = None, f_star: float | None = None,
                    callback: Callable[[Result], Any] | None = None) -> Result:
    """Sinkhorn-Newton: full Newton steps on the dual with a matrix-free Hessian and CG.

    Brauer, Clason, Lorenz, Wirth, "A Sinkhorn-Newton method for entropic optimal
    transport" (2017, arXiv:1710.06635): from zero potentials, no warm-up, no line search;
    each step solves the Newton system by Jacobi-PCG with products by the dense ``P``
    (``O(nm)`` per CG iteration), to the absolute residual ``tol``, at most
    ``max(round((n+m)/24), 10)`` iterations (``cg_maxiter``), warm-started from the last
    direction. Full steps can overshoot at small ``reg``: the status then says ``diverged``.
    Returns a Result as :func:`sns`.
    """
    inp = prepare(a, b, C, reg)
    _common_checks(tol, 0.5, 0, 1.0)
    return _drive(inp, direction="matfree", n_sinkhorn=0, density=1.0, tol=tol,
                  max_iter=_check_int(max_iter, "max_iter"), line_search=False, cg_rtol=1.0, cg_maxiter=cg_maxiter,
                  c1=1e-4, max_halvings=0, f_star=f_star, callback=callback)


def dense_newton(a: Any, b: Any, C: Any, reg: float, *, n_sinkhorn: int = 20, tol: float = 1e-14,
                 max_iter: int = 300, c1: float = 1e-4, max_halvings: int = 50,
                 callback: Callable[[Result], Any] | None = None) -> Result:
    """Newton with the exact dense Hessian and an Armijo line search: the reference solver.

    The Hessian ``eta [[diag(P 1), P], [P^T, diag(P^T 1)]]`` with the gauge ``y_m = 0``
    (which removes its kernel) is solved densely, ``O((n+m)^3)`` per step, so this is
    for small problems (``n + m`` up to about two thousand). After a short log-domain
    Sinkhorn warm-up it reaches the float floor in a few steps; its dual value is the
    reference ``f*`` of the claims (spec Section 5, "entropic reference"). Same line
    search and float-floor stop as :func:`sns`; returns a Result as :func:`sns`.
    """
    inp = prepare(a, b, C, reg)
    _common_checks(tol, c1, max_halvings, 1.0)
    n_sinkhorn = _check_int(n_sinkhorn, "n_sinkhorn")
    return _drive(inp, direction="dense", n_sinkhorn=n_sinkhorn, density=1.0, tol=tol,
                  max_iter=n_sinkhorn + _check_int(max_iter, "max_iter"), line_search=True, cg_rtol=1.0,
                  cg_maxiter=None, c1=c1, max_halvings=max_halvings, f_star=None, callback=callback)
