"""Sinkhorn's algorithm for entropic optimal transport, in the log domain and the scaling domain.

Reference: R. Sinkhorn (1967); M. Cuturi, "Sinkhorn Distances", NeurIPS 2013; the log-domain
form as in Tang et al., "Accelerating Sinkhorn Algorithm with Sparse Newton Iterations",
ICLR 2024 (arXiv:2401.12253), Section 2: Sinkhorn is exact block ascent on the dual

    f(x, y) = -(1/eta) sum_ij exp(eta (x_i + y_j - C_ij) - 1) + <a, x> + <b, y>,   eta = 1/reg.

One iteration is one sweep (both half-steps). The call mirrors POT's
``ot.sinkhorn(a, b, M, reg)`` so users can switch; the plan is the same (POT's
``Omega = sum P log P``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import numba_applies
from optlab.ot._common import OTInputs, expand_plan, expand_potentials, plan_from_potentials, prepare
from optlab.result import Monitor, Result

__all__ = ["sinkhorn"]

_TINY_COL = 1e-250
_CUT = -700.0


class _DualGap:
    """Lets :class:`~optlab.result.Monitor` record ``gap = f* - f(z)`` of the maximized dual.

    The current ``f`` is set before each record, so the gap costs no second evaluation.
    """

    x_star = None

    def __init__(self, f_star: float | None) -> None:
        self.f_star = None if f_star is None else float(f_star)
        self.current = math.nan

    def gap(self, z: Any) -> float:
        return self.f_star - self.current


# --------------------------------------------------------------------------------------
# one sweep, generic (array API) and Numba; both return the new potentials and the
# marginal L1 error and sum P of the iterate they started from
# --------------------------------------------------------------------------------------


def _log_sweep_generic(inp: OTInputs, x: Any, y: Any, logr: Any, logc: Any) -> tuple[Any, Any, float, float]:
    """The algorithm of :func:`optlab.ot._kernels.log_sweep` with array-API calls."""
    xp, C, r, c, eta = inp.xp, inp.C, inp.a, inp.b, inp.eta
    W = eta * y[None, :] - eta * C
    mx = xp.max(W, axis=1)
    V = W - mx[:, None]
    E = xp.where(V > _CUT, xp.exp(V), xp.zeros_like(V))
    s = xp.sum(E, axis=1)
    scale_old = xp.exp(eta * x - 1.0 + mx)
    p1 = scale_old * s
    x_new = (logr + 1.0 - mx - xp.log(s)) / eta
    acc = xp.sum(E * (r / s)[:, None], axis=0)
    acc_old = xp.sum(E * scale_old[:, None], axis=0)
    err = float(xp.sum(xp.abs(p1 - r)) + xp.sum(xp.abs(acc_old - c)))
    ok = acc > _TINY_COL
    y_new = y + (logc - xp.log(xp.where(ok, acc, xp.ones_like(acc)))) / eta
    if not bool(xp.all(ok)):  # columns whose mass underflowed: exact two-pass column LSE
        Wc = eta * x_new[:, None] - eta * C
        mc = xp.max(Wc, axis=0)
        lse = mc + xp.log(xp.sum(xp.exp(Wc - mc[None, :]), axis=0))
        y_new = xp.where(ok, y_new, (logc + 1.0 - lse) / eta)
    return x_new, y_new, err, float(xp.sum(p1))


def _kernel_sweep_generic(K: Any, u: Any, v: Any, a: Any, b: Any, xp: Any) -> tuple[Any, Any, float, float]:
    s = K @ v
    p1 = u * s
    u_new = a / s
    t = u_new @ K
    t_old = u @ K
    err = float(xp.sum(xp.abs(p1 - a)) + xp.sum(xp.abs(v * t_old - b)))
    return u_new, b / t, err, float(xp.sum(p1))


def _gibbs_kernel(inp: OTInputs) -> Any:
    xp = inp.xp
    K = xp.exp(-inp.eta * inp.C)
    rows, cols = xp.sum(K, axis=1), xp.sum(K, axis=0)
    if not (bool(xp.all(rows > 0)) and bool(xp.all(cols > 0)) and bool(xp.all(xp.isfinite(rows)))):
        raise ValueError("reg is too small for method='kernel': exp(-C/reg) underflows or overflows "
                         f"(max C/reg = {float(xp.max(inp.C)) * inp.eta:.4g}); use method='log'")
    return K


# --------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------


def sinkhorn(a: Any, b: Any, C: Any, reg: float, *, method: str = "log", tol: float = 1e-9,
             max_iter: int = 1000, record_every: int = 1, f_star: float | None = None,
             callback: Callable[[Result], Any] | None = None) -> Result:
    """Entropic optimal transport by Sinkhorn's algorithm (log domain or scaling domain).

    Solves ``min_P <C, P> + reg sum P log P`` over couplings of ``a`` and ``b``, as POT's
    ``ot.sinkhorn(a, b, C, reg)`` does (the same plan), by Sinkhorn's alternating
    normalizations starting from zero potentials. Paper: Sinkhorn (1967), Cuturi (2013);
    the dual and the log-domain form as in Tang et al., ICLR 2024, Section 2.

    Parameters
    ----------
    a, b : array of shape (n,), (m,), or None
        Nonnegative marginals with equal total mass (``None``: uniform). Zero-mass points
        are dropped, solved without, and re-inserted as zero rows/columns of the plan
        (their potentials are ``-inf``).
    C : array of shape (n, m)
        Finite cost matrix (NumPy, CuPy or any array-API array; float32 or float64).
    reg : float
        Entropic regularization ``reg = 1/eta > 0``.
    method : {"log", "kernel"}
        ``"log"`` (default): potentials, max-shifted log-sum-exp, safe for any ``reg``.
        ``"kernel"``: scalings ``u, v`` with the Gibbs kernel ``K = exp(-C/reg)`` (one
        read of ``K`` per iteration, the fastest when ``max C / reg`` is below ~700;
        ``ValueError`` when ``K`` underflows).
    tol : float
        Stop when the marginal error ``||P 1 - a||_1 + ||P^T 1 - b||_1 <= tol``.
    max_iter : int
        Iteration (sweep) budget.
    record_every : int
        Record the trace (and test ``tol``) every this many sweeps.
    f_star : float, optional
        Known optimal dual value, to record ``gap = f* - f``.
    callback : callable, optional
        ``callback(intermediate_result)`` at recorded iterations; ``StopIteration`` stops.

    Returns
    -------
    Result
        ``plan`` (n, m), ``potentials = (x, y)`` with ``P_ij = exp((x_i + y_j - C_ij)/reg - 1)``,
        ``x`` (the concatenated potentials), ``fun`` (dual value ``f(x, y)``, the entropic
        OT value at convergence), ``cost = <C, P>``, ``marginal_error``, ``nit``,
        ``status``, ``message`` and ``trace`` with ``grad_norm`` (the marginal L1 error
        ``= ||grad f||_1``), ``fun``, ``gap`` (with ``f_star``), ``time`` and ``fallback``
        (columns recomputed after underflow, log domain).

    Notes
    -----
    NumPy float32/float64 inputs run the fused Numba kernels of :mod:`optlab.ot._kernels`
    (float64 arithmetic inside); other arrays (CuPy, ``array_api_strict``) run the same
    algorithm with their own namespace. The value recorded at iteration ``k`` is that of
    the iterate after ``k`` sweeps; the run returns the last recorded iterate.
    """
    if method not in ("log", "kernel"):
        raise ValueError(f"method must be 'log' or 'kernel', got {method!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    inp = prepare(a, b, C, reg)
    ref = _DualGap(f_star)
    mon = Monitor(ref if f_star is not None else None, max_iter=max_iter, record_every=record_every, gtol=tol,
                  callback=callback, extra=("fallback",))
    use_numba = numba_applies(inp.C)
    if method == "log":
        x, y, k = _run_log(inp, mon, ref, use_numba)
    else:
        x, y, k = _run_kernel(inp, mon, ref, use_numba)
    return _finish(inp, mon, x, y, k)


def _record(mon: Monitor, ref: _DualGap, k: int, inp: OTInputs, x: Any, y: Any, err: float, mass: float,
            fallback: float = 0.0) -> bool:
    xp = inp.xp
    fval = -mass / inp.eta + float(xp.sum(inp.a * x)) + float(xp.sum(inp.b * y))
    ref.current = fval
    if k == 0 and not (math.isfinite(fval) and math.isfinite(err)):
        return False  # zero potentials can be far from balanced (negative costs): not a divergence
    return mon.record(k, xp.concat([x, y]), fval, grad_norm=err, fallback=fallback)


def _run_log(inp: OTInputs, mon: Monitor, ref: _DualGap, use_numba: bool) -> tuple[Any, Any, int]:
    xp = inp.xp
    n, m = inp.C.shape
    if use_numba:
        from optlab.ot import _kernels

        C = np.ascontiguousarray(inp.C)
        r, c = np.asarray(inp.a, dtype=np.float64), np.asarray(inp.b, dtype=np.float64)
        logr, logc = np.log(r), np.log(c)
        work = np.empty((4, m))
        x, y = np.zeros(n), np.zeros(m)
        inp_f64 = OTInputs(r, c, C, inp.eta, None, None, n, m, np)
    else:
        r, c = inp.a, inp.b
        logr, logc = xp.log(r), xp.log(c)
        x = xp.zeros(n, dtype=inp.C.dtype, device=inp.C.device)
        y = xp.zeros(m, dtype=inp.C.dtype, device=inp.C.device)
    k = 0
    while True:
        if use_numba:
            xn, yn = x.copy(), y.copy()
            err, mass, nfb = _kernels.log_sweep(C, inp.eta, xn, yn, r, logr, c, logc, work, k == 0)
            mon.count(nfev=1, njev=1)
            stop = mon.due(k) and _record(mon, ref, k, inp_f64, x, y, err, mass, nfb)
        else:
            xn, yn, err, mass = _log_sweep_generic(inp, x, y, logr, logc)
            mon.count(nfev=1, njev=1)
            stop = mon.due(k) and _record(mon, ref, k, inp, x, y, err, mass)
        if stop:
            return x, y, k
        x, y = xn, yn
        k += 1


def _run_kernel(inp: OTInputs, mon: Monitor, ref: _DualGap, use_numba: bool) -> tuple[Any, Any, int]:
    xp, eta = inp.xp, inp.eta
    n, m = inp.C.shape
    K = _gibbs_kernel(inp)
    half = math.exp(-0.5)  # u = v = e^{-1/2} is the zero-potential start of the log domain
    if use_numba:
        from optlab.ot import _kernels

        K = np.ascontiguousarray(K)
        r, c = np.asarray(inp.a, dtype=np.float64), np.asarray(inp.b, dtype=np.float64)
        u, v = np.full(n, half), np.full(m, half)
        work = np.empty((2, m))
        inp64 = OTInputs(r, c, inp.C, eta, None, None, n, m, np)
    else:
        r, c = inp.a, inp.b
        u = xp.full(n, half, dtype=inp.C.dtype, device=inp.C.device)
        v = xp.full(m, half, dtype=inp.C.dtype, device=inp.C.device)
        inp64 = inp
    k = 0
    while True:
        if use_numba:
            un, vn = u.copy(), v.copy()
            err, mass = _kernels.kernel_sweep(K, un, vn, r, c, work, k == 0)
        else:
            un, vn, err, mass = _kernel_sweep_generic(K, u, v, r, c, xp)
        mon.count(nfev=1, njev=1)
        if mon.due(k):
            xp_ = np if use_numba else xp
            x, y = (xp_.log(u) + 0.5) / eta, (xp_.log(v) + 0.5) / eta
            if _record(mon, ref, k, inp64, x, y, err, mass):
                return x, y, k
        if not (math.isfinite(err) and math.isfinite(mass)):  # scalings over/underflowed
            x, y = (xp.log(un) + 0.5) / eta, (xp.log(vn) + 0.5) / eta
            _record(mon, ref, k, inp64, x, y, err, mass)
            return x, y, k
        u, v = un, vn
        k += 1


def _finish(inp: OTInputs, mon: Monitor, x: Any, y: Any, k: int, **fields: Any) -> Result:
    """Plan, potentials in the caller's namespace and dtype, the full index set, and the Result.

    On the NumPy path the potentials are float64 and the plan is formed in float64 (with
    the vectorized exp), then cast to the dtype of ``C``.
    """
    xp, dtype = inp.xp, inp.C.dtype
    if isinstance(inp.C, np.ndarray):
        from optlab.kernels.expm import vexp

        x64, y64 = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        P = vexp(inp.eta * ((x64[:, None] + y64[None, :]) - inp.C.astype(np.float64)) - 1.0).astype(dtype)
        x, y = x64.astype(dtype), y64.astype(dtype)
    else:
        x, y = xp.astype(x, dtype), xp.astype(y, dtype)
        P = plan_from_potentials(inp.C, x, y, inp.eta)
    cost = float(xp.sum(inp.C * P))
    marg = float(xp.sum(xp.abs(xp.sum(P, axis=1) - inp.a)) + xp.sum(xp.abs(xp.sum(P, axis=0) - inp.b)))
    xf = expand_potentials(x, inp.rows, inp.n_full)
    yf = expand_potentials(y, inp.cols, inp.m_full)
    return mon.result(xp.concat([xf, yf]), nit=k, plan=expand_plan(P, inp), potentials=(xf, yf),
                      cost=cost, marginal_error=marg, **fields)
