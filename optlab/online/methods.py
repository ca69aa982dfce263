"""Optimistic online mirror descent for the SEA model, its dynamic-regret ensemble, and the baselines.

Reference: S. Chen, Y.-J. Zhang, W.-W. Tu, P. Zhao, L. Zhang, "Optimistic Online Mirror Descent for
Bridging Stochastic and Adversarial Online Convex Optimization", ICML 2023 / JMLR 25(178) 2024
(arXiv:2302.04552). Baselines: online gradient descent (Zinkevich 2003); optimistic FTRL and its strongly
convex version (Sachs, Hadiji, van Erven, Guzman, arXiv:2202.07554, Thms 5 and 7).

A learner plays the ``T`` rounds of an online problem (:mod:`optlab.problems.online`: an object with ``stream``,
``domain``, ``dim``, ``T``, ``comparator`` and ``constants``; methods never import a problem family) and
returns a :class:`~optlab.result.Result` whose ``x`` is the last played point and whose ``trace`` holds, at
the recorded rounds (``iteration``): the cumulative loss (``fun`` and ``loss``), the realized regret
``sum f_t(x_t) - f_t(u*)`` (``regret``), the pseudo-regret ``sum F_t(x_t) - F_t(u*)`` (``pseudo_regret``),
the dynamic regret against ``argmin F_t`` (``dynamic_regret``), the learner's variation ``V`` (the sum its
step size reads), ``eta``, ``grad_norm`` and the problem's cumulative ``sigma2`` (``sigma^2_{1:t}``) and
``Sigma2`` (``Sigma^2_{1:t}``). ``gap``, ``dist`` and ``time`` are NaN (an online run has no ``f*``; the
fused loop does not read the clock). ``status`` is ``"converged"`` when all rounds were played with finite
losses (an online run has no stopping tolerance) and ``"diverged"`` otherwise.

Paths: NumPy float64 inputs run the fused Numba round loop (:mod:`optlab.online._kernels`); any other
namespace (``x0`` from CuPy or ``array_api_strict``) runs the generic array loop
(:mod:`optlab.online._generic`); ``path="generic"`` forces the latter on NumPy too. Both give the same
numbers to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import as_float_array, as_positive_float, namespace, numba_applies, to_numpy
from optlab.online import _generic
from optlab.online._generic import ADAPTIVE, FIELDS, FIXED, INV_SQRT_T, INV_T
from optlab.result import Result, Status, Trace, status_from_trace

__all__ = ["dynamic_omd", "ogd", "optimistic_ftl_sc", "optimistic_ftrl", "optimistic_omd", "record_rounds"]

_MESSAGES = {
    Status.CONVERGED: "completed: all T rounds were played with finite losses (an online run has no tolerance)",
    Status.DIVERGED: "diverged: a non-finite loss or gradient appeared; check the step size and the losses",
}


# -- validation ---------------------------------------------------------------------------------
def _check_problem(problem: Any, *, kinds: tuple[str, ...]) -> None:
    for attr in ("stream", "domain", "dim", "T", "comparator", "constants"):
        if not hasattr(problem, attr):
            raise TypeError(f"problem must be an online problem (optlab.problems.online); it has no {attr!r}")
    kind = problem.stream.get("kind")
    if kind not in kinds:
        raise ValueError(f"problem: this method takes {' or '.join(kinds)} losses, got {kind!r} ({problem!r})")
    if int(problem.T) < 1 or int(problem.dim) < 1:
        raise ValueError(f"problem: T and d must be at least 1, got T={problem.T}, d={problem.dim}")
    for key, arr in problem.stream.items():
        if isinstance(arr, np.ndarray) and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"problem: stream[{key!r}] has non-finite entries, so the gradients would be")


def _constant(problem: Any, name: str, caller: str) -> float:
    value = problem.constants.get(name)
    if value is None or not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{caller}: the schedule needs a positive {name}, but problem.constants[{name!r}] is "
                         f"{value!r}; pass it explicitly")
    return float(value)


def _start(problem: Any, x0: Any) -> Any:
    """The first prediction ``xhat_1``: the centre of ``X`` by default; ``ValueError`` if ``x0`` is outside ``X``."""
    d = int(problem.dim)
    if x0 is None:
        return np.zeros(d) if problem.domain == "ball" else np.full(d, 1.0 / d)
    x0 = as_float_array(x0, "x0", ndim=1, size=d)
    xp = namespace(x0)
    if problem.domain == "ball":
        n = float(xp.linalg.vector_norm(x0))
        if n > problem.radius * (1 + 1e-12):
            raise ValueError(f"x0 is outside X: ||x0|| = {n:.6g} > R = {problem.radius:g}")
    else:
        if bool(xp.any(x0 <= 0)) or abs(float(xp.sum(x0)) - 1.0) > 1e-9:
            raise ValueError("x0 is outside X: the entropic learner needs a point of the simplex with positive "
                             "entries summing to 1")
    return x0


def record_rounds(T: int, *, n_records: int = 100, record_every: int | None = None) -> np.ndarray:
    """The rounds a trace records: every ``record_every`` rounds, or about ``n_records`` log-spaced rounds;
    always ending at ``T``."""
    T = int(T)
    if record_every is not None:
        if int(record_every) != record_every or record_every < 1:
            raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
        r = np.arange(int(record_every), T + 1, int(record_every), dtype=np.int64)
    else:
        if int(n_records) != n_records or n_records < 1:
            raise ValueError(f"n_records must be a positive integer, got {n_records!r}")
        r = np.unique(np.round(np.geomspace(1, T, int(n_records))).astype(np.int64))
    return np.unique(np.append(r, T)).astype(np.int64)


def _use_numba(path: str, x0: Any) -> bool:
    if path not in ("auto", "numba", "generic"):
        raise ValueError(f"path must be 'auto', 'numba' or 'generic', got {path!r}")
    ok = numba_applies(x0) and x0.dtype == np.float64
    if path == "numba" and not ok:
        raise ValueError("path='numba' needs x0 as a NumPy float64 array")
    return ok and path != "generic"


def _parse_step(step: Any, names: tuple[str, ...]) -> str | float:
    if isinstance(step, str):
        if step not in names:
            raise ValueError(f"step must be one of {names} or a positive number, got {step!r}")
        return step
    return as_positive_float(step, "step")


def _result(problem: Any, x: Any, out: np.ndarray, rec: np.ndarray, like: Any, **fields: Any) -> Result:
    xp = namespace(like)
    x = xp.asarray(x, dtype=like.dtype, device=like.device) if isinstance(x, np.ndarray) else x
    n = len(rec)
    nan = np.full(n, np.nan)
    cols = {name: out[:, i].copy() for i, name in enumerate(FIELDS)}
    trace = Trace(iteration=rec.astype(np.float64), fun=cols["loss"].copy(), gap=nan.copy(), dist=nan.copy(),
                  nfev=np.zeros(n), njev=rec.astype(np.float64), nhev=np.zeros(n), time=nan.copy(),
                  **cols, sigma2=problem.sigma2_cum[rec - 1], Sigma2=problem.Sigma2_cum[rec - 1])
    finite = bool(np.all(np.isfinite(out[:, [0, 1, 2, 4, 6]])))
    status = status_from_trace(trace, gtol=None, ftol=None, done=lambda tr: True) if finite else Status.DIVERGED
    return Result(x=x, fun=float(cols["loss"][-1]), nit=int(problem.T), nfev=0, njev=int(problem.T), nhev=0,
                  status=status, success=status is Status.CONVERGED, message=_MESSAGES[status], trace=trace,
                  **fields)


def _stream_args(problem: Any) -> tuple:
    st = problem.stream
    return (st["means"], st["mean_idx"], st["mean_sign"], st["noise_bits"], float(st["noise_scale"]),
            st["curvature"], float(st["kappa"]), st["fstar"])


# -- optimistic OMD -----------------------------------------------------------------------------
def optimistic_omd(problem: Any, x0: Any = None, *, step: str | float = "adaptive", optimism: bool = True,
                   delta: float | None = None, lam: float | None = None, average: bool = False, n_records: int = 100,
                   record_every: int | None = None, path: str = "auto") -> Result:
    """Optimistic online mirror descent (Chen et al. 2023, Algorithm: optimistic OMD with ``M_t = g_{t-1}``).

    ``x_t = argmin_X <M_t, x> + B(x, xhat_t)``, ``xhat_{t+1} = argmin_X <g_t, x> + B(x, xhat_t)``, ``M_1 = 0``.
    The regularizer follows the domain: Euclidean ``||x||^2/(2 eta_t)`` on a ball
    (``x_t = Pi(xhat_t - eta_t M_t)``), negative entropy ``(1/eta_t) sum x log x`` on the simplex
    (``x_t ~ xhat_t exp(-eta_t M_t)``, gradients measured in l_inf, ``D^2`` replaced by ``log d``).

    Reference
    ---------
    Chen, Zhang, Tu, Zhao, Zhang, ICML 2023 / JMLR 2024, arXiv:2302.04552 (spec
    ``optimistic_omd.md`` section 2).

    Parameters
    ----------
    problem : OnlineProblem
        A ``"linquad"`` problem on a ball or a ``"portfolio"`` problem on the simplex.
    x0 : array, optional
        ``xhat_1`` (default: the centre of ``X``); its namespace picks the path (see the module doc).
    step : {"adaptive", "strongly_convex"} or float
        ``"adaptive"`` (convex case): ``eta_t = D / sqrt(delta + 4 G^2 + V_{t-1})`` with
        ``V_{t-1} = sum_{s<t} ||g_s - M_s||^2`` (``sqrt(log d)`` and l_inf norms on the simplex);
        ``"strongly_convex"``: ``eta_t = 2 / (lam t)`` (ball only); a float: that fixed step.
    optimism : bool
        ``False`` sets every hint ``M_t = 0``: plain (adaptive) online gradient descent, the ablation that
        shows what the hint buys.
    delta : float, optional
        ``delta`` of the adaptive step; default ``(L D)^2``, or 1 when that is 0 (``kappa = 0``; the spec's
        corrections), and 1 on the simplex [our choice].
    lam : float, optional
        Strong convexity for ``step="strongly_convex"`` (default ``problem.constants["lam"]``).
    average : bool
        Also return ``x_mean = (1/T) sum_t x_t``, the online-to-batch point (ball only; the fused loop then
        sums ``x_t`` in one more pass a round).
    n_records, record_every : int
        Recorded rounds (see :func:`record_rounds`).
    path : {"auto", "numba", "generic"}
        Which round loop runs.

    Returns
    -------
    Result
        ``x`` (last played point), ``trace`` (see the module doc), ``step``, ``optimism``.
    """
    _check_problem(problem, kinds=("linquad", "portfolio"))
    step = _parse_step(step, ("adaptive", "strongly_convex"))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    simplex = problem.domain == "simplex"
    if step == "adaptive":
        if simplex:
            G = _constant(problem, "G_inf", "optimistic_omd")
            A = math.sqrt(math.log(problem.dim)) if problem.dim > 1 else 1.0
            dlt = 1.0 if delta is None else as_positive_float(delta, "delta")
        else:
            D, G = _constant(problem, "D", "optimistic_omd"), _constant(problem, "G", "optimistic_omd")
            A = D
            LD2 = (float(problem.constants.get("L", 0.0)) * D) ** 2
            dlt = (LD2 if LD2 > 0 else 1.0) if delta is None else as_positive_float(delta, "delta")
        code, B = ADAPTIVE, dlt + 4.0 * G * G
    elif step == "strongly_convex":
        if simplex:
            raise ValueError("step='strongly_convex' is for the Euclidean (ball) learner")
        lam = _constant(problem, "lam", "optimistic_omd") if lam is None else as_positive_float(lam, "lam")
        code, A, B = INV_T, 2.0 / lam, 0.0
    else:
        code, A, B = FIXED, float(step), 0.0
    return _run_omd(problem, x0, rec, code, A, B, bool(optimism), path, bool(average), step=step,
                    optimism=bool(optimism))


def _run_omd(problem: Any, x0: Any, rec: np.ndarray, code: int, A: float, B: float, hint: bool, path: str,
             average: bool = False, **fields: Any) -> Result:
    st = problem.stream
    if average and problem.domain != "ball":
        raise ValueError("average=True is implemented for the Euclidean (ball) learner only")
    xsum = None
    if _use_numba(path, x0):
        from optlab.online import _kernels

        if problem.domain == "ball":
            xsum = np.zeros(problem.dim if average else 0)
            x, out = _kernels.omd_ball(*_stream_args(problem), int(problem.T), float(problem.radius),
                                       np.ascontiguousarray(x0), problem.comparator, rec, code, A, B, hint, xsum)
        else:
            x, out = _kernels.omd_simplex(st["returns"], st["ret_idx"], st["law"], st["law_idx"], int(problem.T),
                                          np.ascontiguousarray(x0), problem.comparator, rec, code, A, B, hint)
    elif problem.domain == "ball":
        x, out, xsum = _generic.omd_ball_generic(st, int(problem.T), float(problem.radius), x0, problem.comparator,
                                                 rec, code, A, B, hint, average)
    else:
        x, out = _generic.omd_simplex_generic(st, int(problem.T), x0, problem.comparator, rec, code, A, B, hint)
    if average:
        fields["x_mean"] = namespace(x0).asarray(xsum / problem.T, dtype=x0.dtype, device=x0.device)
    return _result(problem, x, out, rec, x0, **fields)


def ogd(problem: Any, x0: Any = None, *, step: str | float = "convex", lam: float | None = None,
        average: bool = False, n_records: int = 100, record_every: int | None = None, path: str = "auto") -> Result:
    """Online (projected) gradient descent: ``x_{t+1} = Pi_X(x_t - eta_t g_t)``.

    Reference
    ---------
    M. Zinkevich, "Online convex programming and generalized infinitesimal gradient ascent", ICML 2003;
    spec ``optimistic_omd.md`` section 5. It is optimistic OMD with ``M_t = 0`` and an oblivious schedule.

    Parameters
    ----------
    problem : OnlineProblem
        ``"linquad"`` on a ball (or ``"portfolio"``: exponentiated gradient with the same schedules).
    x0 : array, optional
        ``x_1`` (default: the centre).
    step : {"convex", "strongly_convex"} or float
        ``"convex"``: ``eta_t = D / (G sqrt t)`` (``sqrt(log d)/(G_inf sqrt t)`` on the simplex);
        ``"strongly_convex"``: ``eta_t = 1/(lam t)``; a float: that fixed step (non-adaptive).
    lam : float, optional
        Strong convexity (default ``problem.constants["lam"]``).
    average : bool
        Also return ``x_mean``, as in :func:`optimistic_omd`.
    n_records, record_every, path
        As in :func:`optimistic_omd`.

    Returns
    -------
    Result
        As in :func:`optimistic_omd`.
    """
    _check_problem(problem, kinds=("linquad", "portfolio"))
    step = _parse_step(step, ("convex", "strongly_convex"))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    if step == "convex":
        if problem.domain == "simplex":
            A = math.sqrt(math.log(problem.dim)) / _constant(problem, "G_inf", "ogd")
        else:
            A = _constant(problem, "D", "ogd") / _constant(problem, "G", "ogd")
        code = INV_SQRT_T
    elif step == "strongly_convex":
        if problem.domain == "simplex":
            raise ValueError("step='strongly_convex' is for the Euclidean (ball) learner")
        lam = _constant(problem, "lam", "ogd") if lam is None else as_positive_float(lam, "lam")
        code, A = INV_T, 1.0 / lam
    else:
        code, A = FIXED, float(step)
    return _run_omd(problem, x0, rec, code, A, 0.0, False, path, bool(average), step=step, optimism=False)


# -- optimistic FTRL baselines --------------------------------------------------------------------
def _run_ftrl(problem: Any, x0: Any, rec: np.ndarray, mode: int, D: float, nu_: float, mu_: float, path: str,
              **fields: Any) -> Result:
    if _use_numba(path, x0):
        from optlab.online import _kernels

        x, out = _kernels.ftrl_ball(*_stream_args(problem), int(problem.T), float(problem.radius),
                                    np.ascontiguousarray(x0), problem.comparator, rec, mode, D, nu_, mu_)
    else:
        x, out = _generic.ftrl_ball_generic(problem.stream, int(problem.T), float(problem.radius), x0,
                                            problem.comparator, rec, mode, D, nu_, mu_)
    return _result(problem, x, out, rec, x0, **fields)


def optimistic_ftrl(problem: Any, x0: Any = None, *, nu: float | None = None, n_records: int = 100,
                    record_every: int | None = None, path: str = "auto") -> Result:
    """Optimistic FTRL with an adaptive quadratic regularizer on a ball.

    ``x_t = argmin_X <sum_{s<t} g_s + M_t, x> + ||x||^2/eta_t = Pi_X(-(eta_t/2)(S_{t-1} + M_t))``, ``M_t = g_{t-1}``,
    ``eta_t = D^2 / (nu + sum_{s<t} eta_s ||g_s - M_s||^2)``. The trace's ``V`` is that weighted sum.

    Reference
    ---------
    Sachs, Hadiji, van Erven, Guzman, "Between stochastic and adversarial online convex optimization:
    improved regret bounds via smoothness", NeurIPS 2022 (arXiv:2202.07554), Theorem 5.

    Parameters
    ----------
    problem : OnlineProblem
        ``"linquad"`` on a ball.
    x0 : array, optional
        Only its namespace and dtype are used (FTRL starts at the regularizer's minimizer, 0); must lie in X.
    nu : float, optional
        Default ``L D^2 + D G^2`` (the theorem's tuning); ``L = 0`` gives ``D G^2``.
    n_records, record_every, path
        As in :func:`optimistic_omd`.

    Returns
    -------
    Result
        As in :func:`optimistic_omd`, with ``nu``.
    """
    _check_problem(problem, kinds=("linquad",))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    D, G = _constant(problem, "D", "optimistic_ftrl"), _constant(problem, "G", "optimistic_ftrl")
    if nu is None:
        nu = float(problem.constants.get("L", 0.0)) * D * D + D * G * G
    nu = as_positive_float(nu, "nu")
    return _run_ftrl(problem, x0, rec, 0, D, nu, 1.0, path, nu=nu)


def optimistic_ftl_sc(problem: Any, x0: Any = None, *, mu: float | None = None, n_records: int = 100,
                      record_every: int | None = None, path: str = "auto") -> Result:
    """Optimistic FTL on the strongly convex surrogates ``<g_s, x - x_s> + (mu/2)||x - x_s||^2``, ``M_t = g_{t-1}``.

    Closed form on a ball: ``x_t = Pi_X(mean_{s<t}(x_s - g_s/mu) - M_t/((t-1) mu))``, ``x_1 = x0``.

    Reference
    ---------
    Sachs, Hadiji, van Erven, Guzman 2022 (arXiv:2202.07554), Theorem 7; closed form derived in the spec.

    Parameters
    ----------
    problem : OnlineProblem
        ``"linquad"`` on a ball.
    x0 : array, optional
        ``x_1`` (default: the centre).
    mu : float, optional
        Strong convexity of the surrogates (default ``problem.constants["lam"]``).
    n_records, record_every, path
        As in :func:`optimistic_omd`.

    Returns
    -------
    Result
        As in :func:`optimistic_omd`, with ``mu``.
    """
    _check_problem(problem, kinds=("linquad",))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    mu = _constant(problem, "lam", "optimistic_ftl_sc") if mu is None else as_positive_float(mu, "mu")
    return _run_ftrl(problem, x0, rec, 1, 1.0, 1.0, mu, path, mu=mu)


# -- dynamic regret ---------------------------------------------------------------------------------
def dynamic_omd(problem: Any, x0: Any = None, *, etas: Any = None, optimism: bool = True,
                meta_scale: float | None = None, n_records: int = 100, record_every: int | None = None,
                path: str = "auto") -> Result:
    """Dynamic-regret optimistic OMD: an ensemble of fixed-step optimistic OMD learners under optimistic Hedge.

    Bases: optimistic OMD (Euclidean, ball) with fixed ``eta_i``; all receive the gradient ``g_t`` at the
    played point ``x_t = sum_i p_{t,i} x_{t,i}``. Meta: optimistic Hedge on ``l_{t,i} = <g_t, x_{t,i}>`` with hints
    ``m_{t,i} = <M_t, x_{t,i}>`` and rate ``sqrt(log N)/sqrt(meta_scale^2 + sum_{s<t} ||l_s - m_s||_inf^2)`` [our
    choice: the paper's meta-algorithm was not seen]. The trace's ``eta`` holds the meta rate.

    Reference
    ---------
    Chen et al. 2023 (arXiv:2302.04552): dynamic regret of optimistic OMD (formula not seen); spec section 2,
    "Dynamic regret": ``eta_i = eta_min 2^(i-1)``, ``eta_min = D/sqrt(4 G^2 T)``, ``eta_max = 1/(4L)``.

    Parameters
    ----------
    problem : OnlineProblem
        ``"linquad"`` on a ball (``constants["L"] > 0`` unless ``etas`` is given).
    x0 : array, optional
        Start of every base (default: the centre).
    etas : array_like, optional
        The base steps; one value gives the single fixed-step learner (e.g. the oracle-tuned
        ``eta* = sqrt((D^2 + 2 D P_T)/V_T)``). Default: the geometric grid above.
    optimism : bool
        ``False``: hints ``M_t = 0`` for the bases and the meta-learner.
    meta_scale : float, optional
        Default ``G D``.
    n_records, record_every, path
        As in :func:`optimistic_omd`.

    Returns
    -------
    Result
        As in :func:`optimistic_omd`, with ``etas`` and the final meta weights ``weights``.
    """
    _check_problem(problem, kinds=("linquad",))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    D, G = _constant(problem, "D", "dynamic_omd"), _constant(problem, "G", "dynamic_omd")
    if etas is None:
        L = _constant(problem, "L", "dynamic_omd (default etas need L; or pass etas)")
        eta_min, eta_max = D / math.sqrt(4 * G * G * problem.T), 1.0 / (4 * L)
        N = max(1, math.ceil(math.log2(max(eta_max / eta_min, 1.0))) + 1)
        etas = eta_min * 2.0 ** np.arange(N)
    etas = np.atleast_1d(np.asarray(to_numpy(etas), dtype=np.float64))
    if etas.ndim != 1 or etas.size == 0 or not np.all(np.isfinite(etas) & (etas > 0)):
        raise ValueError(f"etas must be a non-empty 1-D array of positive steps, got {etas!r}")
    meta_scale = G * D if meta_scale is None else as_positive_float(meta_scale, "meta_scale")
    if _use_numba(path, x0):
        from optlab.online import _kernels

        x, out, p = _kernels.ensemble(*_stream_args(problem), int(problem.T), float(problem.radius),
                                      np.ascontiguousarray(x0), problem.comparator, rec, etas, meta_scale,
                                      bool(optimism))
    else:
        x, out, p = _generic.ensemble_generic(problem.stream, int(problem.T), float(problem.radius), x0,
                                              problem.comparator, rec, etas, meta_scale, bool(optimism))
    return _result(problem, x, out, rec, x0, etas=etas, weights=to_numpy(p), optimism=bool(optimism))
