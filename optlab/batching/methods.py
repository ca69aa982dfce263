"""AdaGrad and AdaGrad-Norm with adaptive batch sizes (AdAdaGrad, AdAdaGradNorm) and batch schedules.

Reference: T. T.-K. Lau, H. Liu, M. Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for
Adaptive Gradient Methods", arXiv:2402.11215 (2024); Statistical Learning and Data
Science (2026). Algorithm of the specification ``papers/adadagrad.md``, Section 3:

.. code-block:: text

    v <- v_init; b <- b0; used <- 0
    for k = 0, 1, ...:
        draw B_k (|B_k| = b), s_i = grad f(x_k; xi_i), g = mean s_i
        Norm:  v <- v + ||g||^2;  x <- x - alpha g / sqrt(v)
        Coord: v <- v + g * g;    x <- x - alpha g / (sqrt(v) + eps)
        if k % test_every == 0 and b < b_max:             (adaptive tests)
            b_hat <- Test(statistics of B_k at x_k, sub-batch <= m_test)
            b <- min(b_max, max(b, ceil(b_hat)))          (never decreases)
        used <- used + b

Batch rules (``batch=``): ``"constant"``; ``"stagewise"`` (double ``b`` every ``stage``
steps); ``"linear"`` (``b <- b + ramp`` every step); and the tests ``"norm"`` (Byrd et al.
2012), ``"ip"`` (Bollapragada et al. 2018), ``"ip+orth"`` (the augmented inner-product
test) and ``"coord_norm"`` (the coordinate-wise norm test of AdAdaGrad); all capped at
``b_max``. See :mod:`optlab.batching._stats` for the statistics.

The problem is duck-typed (no problem is imported here): ``dim``, exact ``f`` and
``grad`` (measured for the trace, not counted as oracle calls), ``sample_grads(x, b, rng)``
and optionally ``sample_moments(x, b, rng)`` with ``fast = True`` (the exact batch-mean and
variance law, so a batch of ``1e10`` costs ``O(d)``; a test that needs explicit samples
then draws an independent test sub-batch of ``min(b, m_test)`` samples [our choice: the
specification allows an independent test batch]), and optionally
``glm = ("logistic", A, y, common)`` with ``sample_indices``, for the fused Numba kernel
(:mod:`optlab.batching._kernels`) taken on NumPy inputs.

Trace (one record per recorded iteration ``k``, at ``x_k`` before its step):
``fun`` = F(x_k), ``grad_norm`` = ||grad F(x_k)|| (exact), ``batch_size`` = b_k (the batch
drawn at x_k), ``samples`` = samples used before x_k, ``stat_var`` = sum_j V_j,
``stat_gsq`` = ||g||^2, ``stat_ip`` = Var<s_i, g>, ``b_hat`` = the test's estimate (the
unclipped float; NaN for schedules), ``njev`` = samples drawn. The result adds ``k_cap``
(the first step whose batch was ``b_max``, -1 if never), ``samples`` and ``batch``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import as_float_array, as_positive_float, namespace, numba_applies
from optlab.batching._stats import TESTS, BatchStats, batch_size_estimate, batch_statistics
from optlab.result import Monitor, Result, Status

__all__ = ["BATCH_RULES", "adagrad", "adagrad_norm"]

#: Batch rules: three schedules and the adaptive tests.
BATCH_RULES = ("constant", "stagewise", "linear", *TESTS)

_EXTRA = ("batch_size", "samples", "stat_var", "stat_gsq", "stat_ip", "b_hat")


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if not math.isfinite(v) or v != int(v) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(v)


def _validate(problem: Any, x0: Any, batch: str, *, alpha: float, b0: Any, b_max: Any, eta: Any, theta: float,
              nu: float, tau: float, v_init: float, eps: float, m_test: Any, test_every: Any, stage: Any, ramp: Any,
              coordinatewise: bool) -> tuple[Any, dict[str, Any]]:
    if batch not in BATCH_RULES:
        raise ValueError(f"batch must be one of {BATCH_RULES}, got {batch!r}")
    if not hasattr(problem, "sample_grads"):
        raise TypeError("problem must provide sample_grads(x, b, rng) (a stochastic problem, "
                        "e.g. optlab.problems.cosine_quadratic)")
    x = as_float_array(x0, "x0", ndim=1, size=problem.dim)
    p: dict[str, Any] = {"alpha": as_positive_float(alpha, "alpha")}
    variance_test = batch in TESTS
    p["b0"] = _positive_int(b0, "b0", 2 if variance_test else 1)
    p["b_max"] = _positive_int(b_max, "b_max", 1)
    if p["b_max"] < p["b0"]:
        raise ValueError(f"b_max must be >= b0, got b_max={b_max!r} < b0={b0!r}")
    eta_arr = np.asarray(eta, dtype=np.float64)
    if eta_arr.ndim > 1 or (eta_arr.ndim == 1 and eta_arr.shape != (problem.dim,)):
        raise ValueError(f"eta must be a number or an array of length {problem.dim}")
    if not np.all(np.isfinite(eta_arr) & (eta_arr > 0)):
        raise ValueError(f"eta must be positive and finite, got {eta!r}")
    if eta_arr.ndim == 1 and batch != "coord_norm":
        raise ValueError("a per-coordinate eta is only meaningful for batch='coord_norm'")
    p["eta"] = float(eta_arr) if eta_arr.ndim == 0 else eta_arr
    p["theta"] = as_positive_float(theta, "theta")
    p["nu"] = as_positive_float(nu, "nu")
    p["tau"] = as_positive_float(tau, "tau")
    if variance_test and float(np.max(eta_arr)) >= 1 and batch in ("norm", "coord_norm"):
        warnings.warn(f"eta = {eta!r} >= 1 makes a weak test: the batch barely grows", stacklevel=3)
    for nm, v in (("v_init", v_init), ("eps", eps)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{nm} must be finite and >= 0, got {v!r}")
    if v_init == 0 and (not coordinatewise or eps == 0):
        raise ValueError("v_init must be > 0 (or eps > 0 for AdaGrad): a zero first gradient would give 0/0")
    p["v_init"], p["eps"] = float(v_init), float(eps)
    p["m_test"] = _positive_int(m_test, "m_test", 2 if variance_test else 1)
    p["test_every"] = _positive_int(test_every, "test_every")
    p["stage"] = _positive_int(stage, "stage")
    p["ramp"] = _positive_int(ramp if ramp is not None else p["b0"], "ramp")
    return x, p


def _drawer(problem: Any, x_like: Any, batch: str, fast: bool | None, m_test: int
            ) -> Callable[[Any, int, np.random.Generator], BatchStats]:
    """How a batch is drawn: fast moments, fused GLM kernel, or explicit per-sample gradients."""
    has_moments = bool(getattr(problem, "fast", False)) and hasattr(problem, "sample_moments")
    if fast and not has_moments:
        name = getattr(problem, "name", problem)
        raise ValueError(f"fast=True needs a problem with sample_moments; {name!r} has none")
    use_fast = has_moments if fast is None else bool(fast)
    if use_fast:
        if batch in ("ip", "ip+orth"):  # inner products need explicit samples: an independent test sub-batch
            def draw(x: Any, b: int, rng: np.random.Generator) -> BatchStats:
                g, _ = problem.sample_moments(x, b, rng)
                return batch_statistics(problem.sample_grads(x, min(b, m_test), rng), m_test, g=g)
            return draw

        def draw_fast(x: Any, b: int, rng: np.random.Generator) -> BatchStats:
            g, var = problem.sample_moments(x, b, rng)
            return BatchStats(g, var, math.nan, b)
        return draw_fast
    glm = getattr(problem, "glm", None)
    if glm is not None and numba_applies(x_like) and hasattr(problem, "sample_indices"):
        from optlab.batching._kernels import glm_stats  # compiled on first use, cached on disk

        loss, A, y, common = glm
        if loss != "logistic":
            raise ValueError(f"the fused kernel handles the logistic loss only, got glm loss {loss!r}")

        def draw_glm(x: Any, b: int, rng: np.random.Generator) -> BatchStats:
            return glm_stats(A, y, problem.sample_indices(b, rng), x, common(x), m_test)
        return draw_glm

    def draw_explicit(x: Any, b: int, rng: np.random.Generator) -> BatchStats:
        return batch_statistics(problem.sample_grads(x, b, rng), m_test)
    return draw_explicit


def _run(problem: Any, x0: Any, *, coordinatewise: bool, alpha: float, batch: str, b0: int, b_max: float,
         eta: Any, theta: float, nu: float, tau: float, v_init: float, eps: float, m_test: int, test_every: int,
         stage: int, ramp: int | None, max_iter: int, max_samples: float | None, seed: Any, fast: bool | None,
         record_every: int, gtol: float | None, callback: Callable[[Result], Any] | None) -> Result:
    x, p = _validate(problem, x0, batch, alpha=alpha, b0=b0, b_max=b_max, eta=eta, theta=theta, nu=nu, tau=tau,
                     v_init=v_init, eps=eps, m_test=m_test, test_every=test_every, stage=stage, ramp=ramp,
                     coordinatewise=coordinatewise)
    if max_samples is not None and not max_samples > 0:
        raise ValueError(f"max_samples must be positive, got {max_samples!r}")
    xp = namespace(x)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    draw = _drawer(problem, x, batch, fast, p["m_test"])
    mon = Monitor(problem, max_iter=max_iter, record_every=record_every, gtol=gtol, callback=callback, extra=_EXTRA)
    a, b, b_cap = p["alpha"], p["b0"], p["b_max"]
    v: Any = xp.full(x.shape, p["v_init"], dtype=x.dtype, device=x.device) if coordinatewise else p["v_init"]
    used, k, k_cap, warned = 0, 0, (0 if b >= b_cap else -1), False
    nan = math.nan
    while True:
        last = k >= mon.max_iter or (max_samples is not None and used >= max_samples)
        st = None if last else draw(x, b, rng)
        b_hat = nan
        if st is not None and batch in TESTS and b < b_cap and k % p["test_every"] == 0:
            b_hat = batch_size_estimate(batch, st, eta=p["eta"], theta=p["theta"], nu=p["nu"], tau=p["tau"])
        if mon.due(k) or last:
            gsq = nan if st is None else float(xp.sum(st.g * st.g))
            stop = mon.record(k, x, problem.f(x), problem.grad(x), batch_size=b if st is not None else nan,
                              samples=used, stat_var=nan if st is None else float(xp.sum(st.var)), stat_gsq=gsq,
                              stat_ip=nan if st is None else st.ip_var, b_hat=b_hat)
            if stop or last:
                break
        g = st.g
        if coordinatewise:
            v = v + g * g
            x = x - a * g / (xp.sqrt(v) + p["eps"])
        else:
            v = v + float(xp.sum(g * g))
            x = x - (a / math.sqrt(v)) * g
        used += b
        mon.count(njev=b)
        if batch in TESTS:
            if not math.isnan(b_hat):
                if math.isinf(b_hat) and not warned:
                    warnings.warn("||g||^2 < 1e-30: the batch test is noise-dominated; the batch jumps to b_max",
                                  RuntimeWarning, stacklevel=3)
                    warned = True
                b = max(b, math.ceil(min(b_hat, float(b_cap))))  # clip before ceil: no overflow
        elif batch == "stagewise":
            b = 2 * b if (k + 1) % p["stage"] == 0 else b
        elif batch == "linear":
            b = b + p["ramp"]
        b = min(b, b_cap)
        k += 1
        if k_cap < 0 and b >= b_cap:
            k_cap = k
    reason = Status.MAX_ITER if mon.reason is None else mon.reason
    return mon.result(x, nit=k, reason=reason, k_cap=k_cap, samples=used, batch=b, batch_rule=batch)


_PARAMS_DOC = """
    Parameters
    ----------
    problem : stochastic problem
        ``dim``, ``f``, ``grad`` and ``sample_grads`` (see the module docstring), e.g.
        :func:`optlab.problems.cosine_quadratic`.
    x0 : array, shape (d,)
        Starting point (NumPy, CuPy or any array-API array; its dtype is kept).
    alpha : float
        Step size ``> 0``.
    batch : str
        ``"constant"``, ``"stagewise"``, ``"linear"``, or a test: ``"norm"``, ``"ip"``,
        ``"ip+orth"``, ``"coord_norm"``.
    b0 : int
        Initial batch size (``>= 2`` for a test: the variance needs two samples).
    b_max : int or float
        Batch cap, ``>= b0`` (``n`` for a finite sum).
    eta : float or array
        Norm-test tolerance (per coordinate allowed for ``coord_norm``), ``> 0``; warns if ``>= 1``.
    theta, nu : float
        Inner-product and orthogonality tolerances, ``> 0``.
    tau : float
        Floor of the coordinate-wise test: ``g_j^2`` is floored at ``tau ||g||^2 / d``
        (see :func:`optlab.batching.batch_size_estimate`).
    v_init : float
        Accumulator initialization (``> 0``; AdaGrad also accepts 0 with ``eps > 0``).
    eps : float
        AdaGrad's denominator guard.
    m_test : int
        Largest test sub-batch for the statistics.
    test_every : int
        Test period in steps.
    stage : int
        Steps per stage of the ``"stagewise"`` schedule (the batch doubles after each).
    ramp : int or None
        Batch increment per step of the ``"linear"`` schedule (default ``b0``).
    max_iter : int
        Number of steps ``K``.
    max_samples : float or None
        Sample budget ``S``: stop once this many samples were used.
    seed : int or numpy.random.Generator
        Randomness of the batches (fixed seed: same run on every array library).
    fast : bool or None
        Use the problem's exact batch-moment sampler (``None``: when it has one).
    record_every : int
        Trace every this many steps (and the last).
    gtol : float or None
        Stop when ``||grad F(x_k)|| <= gtol`` (exact gradient, measured at recorded steps).
    callback : callable or None
        ``callback(intermediate_result)`` at recorded steps; ``StopIteration`` stops.

    Returns
    -------
    Result
        ``x``, ``fun``, ``nit``, ``njev`` (samples), ``status`` (``max_iter``, ``converged``,
        ``diverged``, ``callback``), ``trace`` (see the module docstring), ``k_cap``,
        ``samples``, ``batch``, ``batch_rule``.

    Raises
    ------
    ValueError
        For ``alpha <= 0``, ``eta``/``theta``/``nu <= 0``, ``b0 < 2`` with a test,
        ``b_max < b0``, an unknown ``batch``, a bad ``x0``.
"""


def adagrad_norm(problem: Any, x0: Any, *, alpha: float = 0.1, batch: str = "norm", b0: int = 2,
                 b_max: float = 1e12, eta: Any = 0.1, theta: float = 0.1, nu: float = 0.1, tau: float = 0.1,
                 v_init: float = 1e-2,
                 eps: float = 1e-10, m_test: int = 2000, test_every: int = 1, stage: int = 100,
                 ramp: int | None = None, max_iter: int = 1000, max_samples: float | None = None, seed: Any = 0,
                 fast: bool | None = None, record_every: int = 1, gtol: float | None = None,
                 callback: Callable[[Result], Any] | None = None) -> Result:
    """AdaGrad-Norm with a batch schedule or an adaptive batch test (AdAdaGradNorm with ``batch="norm"``).

    Reference: Lau, Liu, Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive
    Gradient Methods", arXiv:2402.11215 (2024), AdAdaGradNorm; AdaGrad-Norm of Ward, Wu,
    Bottou (arXiv:1806.01811). Global scalar step ``alpha / sqrt(v)``,
    ``v = v_init + sum_{i<=k} ||g_i||^2`` (the accumulator includes the current gradient).
    """
    return _run(problem, x0, coordinatewise=False, alpha=alpha, batch=batch, b0=b0, b_max=b_max, eta=eta,
                theta=theta, nu=nu, tau=tau, v_init=v_init, eps=eps, m_test=m_test, test_every=test_every, stage=stage,
                ramp=ramp, max_iter=max_iter, max_samples=max_samples, seed=seed, fast=fast,
                record_every=record_every, gtol=gtol, callback=callback)


def adagrad(problem: Any, x0: Any, *, alpha: float = 0.1, batch: str = "coord_norm", b0: int = 2,
            b_max: float = 1e12, eta: Any = 0.1, theta: float = 0.1, nu: float = 0.1, tau: float = 0.1,
                 v_init: float = 1e-2,
            eps: float = 1e-10, m_test: int = 2000, test_every: int = 1, stage: int = 100, ramp: int | None = None,
            max_iter: int = 1000, max_samples: float | None = None, seed: Any = 0, fast: bool | None = None,
            record_every: int = 1, gtol: float | None = None,
            callback: Callable[[Result], Any] | None = None) -> Result:
    """Coordinate-wise AdaGrad with a batch schedule or an adaptive batch test (AdAdaGrad with ``coord_norm``).

    Reference: Lau, Liu, Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive
    Gradient Methods", arXiv:2402.11215 (2024), AdAdaGrad with the coordinate-wise norm
    test; AdaGrad of Duchi, Hazan, Singer (2011). Step ``alpha g / (sqrt(v) + eps)`` with
    ``v = v_init + sum_{i<=k} g_i * g_i`` per coordinate.
    """
    return _run(problem, x0, coordinatewise=True, alpha=alpha, batch=batch, b0=b0, b_max=b_max, eta=eta,
                theta=theta, nu=nu, tau=tau, v_init=v_init, eps=eps, m_test=m_test, test_every=test_every, stage=stage,
                ramp=ramp, max_iter=max_iter, max_samples=max_samples, seed=seed, fast=fast,
                record_every=record_every, gtol=gtol, callback=callback)


adagrad_norm.__doc__ = (adagrad_norm.__doc__ or "") + _PARAMS_DOC
adagrad.__doc__ = (adagrad.__doc__ or "") + _PARAMS_DOC
