"""GNS (gradient-regularized Newton, adaptive gamma search) on LogSumExp: cost per iteration and time to tolerance.

A script, not a test: ``python benchmarks/bench_gns.py [--quick] [--repeats 5] [--unset-openblas]``.

For d = 500, 1000, 2000 (``--quick``: 200, 400) on ``lse_shifted(m=d, n=d)`` (x0 = ones,
x_star = 0), single-threaded (BLAS limited to one thread with threadpoolctl), it measures in one
process:

- the reference cost, the two dense operations an iteration cannot avoid: the LogSumExp
  Hessian's symmetric product ``X^T X`` with ``X = diag(sqrt(pi)) A`` (the scaling into a
  preallocated buffer plus the faster of NumPy's ``X.T @ X``, which runs as a BLAS syrk, and
  ``scipy.linalg.blas.dsyrk``) and one Cholesky factorization of a d x d SPD matrix
  (``scipy.linalg.cho_factor``, lower, in place); medians of ``--repeats``;
- GNS (``hessian="exact"``, ``gtol=1e-8``) with the identity metric and with the family's
  metric ``B = A0^T A0``: time per iteration (whole run / iterations), trials (Cholesky solves)
  per iteration, and ``ratio = per iteration / (Hessian product + trials per iteration x
  Cholesky)`` (target <= 1.2). Medians of ``--runs`` runs (one at the largest d);
- time to ``||grad|| <= 1e-8`` (Euclidean, identity metric) of GNS against
  ``scipy.optimize.minimize(method="trust-exact")`` (target: GNS >= 3x faster at d = 1000),
  and time to ``1e-6`` against Newton-CG and L-BFGS-B, with the smallest gradient norm each
  reached (whether they reach 1e-8 at all). The scipy methods get the same oracles
  (``value_and_grad`` with ``jac=True``, ``hess``); a callback stops them at the
  tolerance and its own time (one gradient) is not counted.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported as set and never changed here; on the
reference machine they are preset (Haswell, 512) and halve the BLAS speed. ``--unset-openblas``
runs everything once more in a subprocess with both variables removed, so one command
reports both settings.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
import scipy.linalg
import scipy.optimize
from threadpoolctl import threadpool_info, threadpool_limits

from optlab.newton import gns
from optlab.problems.newton_families import lse_shifted

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SIZES, QUICK_SIZES = (500, 1000, 2000), (200, 400)
TARGET_RATIO, TARGET_SPEEDUP, SPEEDUP_AT = 1.2, 3.0, 1000


def _median_time(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> float:
    """Median wall time of ``fn(setup())`` (the setup is not timed) after one warm-up call."""
    arg = setup() if setup else None
    fn(arg)
    times = []
    for _ in range(repeats):
        arg = setup() if setup else None
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def reference(prob: Any, repeats: int) -> dict[str, float]:
    """Times of the Hessian's symmetric product and of one Cholesky at ``x0``.

    The product is ``X = A * sqrt(pi)[:, None]`` (into a preallocated buffer) followed by the faster
    of NumPy's ``X.T @ X`` (BLAS syrk plus the mirror copy) and ``dsyrk`` (one triangle); ``syrk``
    alone is reported too. The Cholesky is LAPACK potrf (lower) on a Fortran-ordered copy, in place.
    """
    x = prob.x_init()
    A = prob.data(x)["A"]
    w = np.sqrt(prob.softmax(x))
    X = np.empty_like(A)
    np.multiply(A, w[:, None], out=X)
    Xf = X.T  # d x m, Fortran order: dsyrk(trans=0) gives Xf Xf^T = X^T X, no copy
    t_scale = _median_time(lambda _: np.multiply(A, w[:, None], out=X), repeats)
    t_np = _median_time(lambda _: X.T @ X, repeats)
    t_syrk = _median_time(lambda _: scipy.linalg.blas.dsyrk(1.0, Xf, lower=1), repeats)
    M = X.T @ X
    M.flat[:: M.shape[0] + 1] += 1.0  # SPD
    t_chol = _median_time(lambda a: scipy.linalg.cho_factor(a, lower=True, overwrite_a=True, check_finite=False),
                          repeats, setup=lambda: np.array(M, order="F"))
    d = prob.dim
    t_prod = min(t_np, t_syrk)
    return {"hess": t_scale + t_prod, "scale": t_scale, "hess_numpy": t_np, "hess_dsyrk": t_syrk, "chol": t_chol,
            "gflops_hess": prob.n * d * d / t_prod / 1e9, "gflops_chol": d**3 / 3 / t_chol / 1e9}


def run_gns(prob: Any, metric: Any, runs: int) -> dict[str, float]:
    """Median over ``runs`` GNS runs to ``||g||_* <= 1e-8``."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        res = gns(prob, prob.x_init(), hessian="exact", metric=metric, gtol=1e-8)
        total = time.perf_counter() - t
        solves = float(res.trace["solves"][-1])
        out.append({"time": total, "nit": res.nit, "solves": solves, "status": str(res.status),
                    "grad": float(res.trace["grad_norm"][-1]), "gnorm2": float(np.linalg.norm(prob.grad(res.x)))})
    best = sorted(out, key=lambda r: r["time"])[len(out) // 2]
    best["per_it"] = best["time"] / max(best["nit"], 1)
    best["trials"] = best["solves"] / max(best["nit"], 1)
    return best


class _Stop:
    """Callback for ``scipy.optimize.minimize``: records when ``||grad||`` first reaches each tolerance."""

    def __init__(self, prob: Any, tols: tuple[float, ...]) -> None:
        self.prob, self.tols = prob, tols
        self.hit: dict[float, float] = {}
        self.overhead = 0.0
        self.best = math.inf
        self.t0 = time.perf_counter()

    def __call__(self, intermediate_result: Any) -> None:
        t = time.perf_counter()
        gn = float(np.linalg.norm(self.prob.grad(intermediate_result.x)))
        self.best = min(self.best, gn)
        for tol in self.tols:
            if gn <= tol and tol not in self.hit:
                self.hit[tol] = t - self.t0 - self.overhead
        self.overhead += time.perf_counter() - t
        if min(self.tols) in self.hit:
            raise StopIteration


def run_scipy(prob: Any, method: str, tols: tuple[float, ...], max_time_iters: int) -> dict[str, Any]:
    """``scipy.optimize.minimize`` from ``x0``, stopped at ``min(tols)`` or when the method stops."""
    options: dict[str, Any] = {"maxiter": max_time_iters}
    kwargs: dict[str, Any] = {}
    if method == "trust-exact":
        options["gtol"] = 0.1 * min(tols)
        kwargs["hess"] = prob.hess
    elif method == "Newton-CG":
        options["xtol"] = 1e-16
        kwargs["hess"] = prob.hess
    else:  # L-BFGS-B
        options.update(gtol=0.0, ftol=0.0, maxfun=10 * max_time_iters)
    stop = _Stop(prob, tols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stop.t0 = time.perf_counter()
        res = scipy.optimize.minimize(prob.value_and_grad, prob.x_init(), jac=True, method=method,
                                      callback=stop, options=options, **kwargs)
        total = time.perf_counter() - stop.t0 - stop.overhead
    return {"hit": stop.hit, "best": min(stop.best, float(np.linalg.norm(prob.grad(res.x)))), "nit": res.nit,
            "time": total, "message": str(res.message)[:60]}


def _fmt_t(t: float | None) -> str:
    return "   never" if t is None else f"{t:8.3f}s"


def bench(sizes: tuple[int, ...], repeats: int, runs: int, metric_runs: bool, scipy_runs: bool) -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cpus")
    for var in _OPENBLAS_VARS:
        print(f"{var}={os.environ.get(var, '<unset>')}")
    for p in threadpool_info():
        print(f"threadpool: {p.get('user_api')} {p.get('internal_api')} {p.get('version')} "
              f"kernel={p.get('architecture')} threads={p.get('num_threads')} ({os.path.basename(p.get('filepath'))})")
    print(f"limited to 1 thread; reference medians of {repeats}; GNS medians of {runs} runs (1 at d >= 2000)\n")
    summary = []
    for d in sizes:
        prob = lse_shifted(d, d)
        ref = reference(prob, repeats)
        print(f"== d = m = n = {d}: Hessian product {ref['hess'] * 1e3:.2f} ms (scaling {ref['scale'] * 1e3:.2f} + "
              f"numpy X.T@X {ref['hess_numpy'] * 1e3:.2f} / dsyrk {ref['hess_dsyrk'] * 1e3:.2f}: "
              f"{ref['gflops_hess']:.1f} GFLOP/s), "
              f"Cholesky {ref['chol'] * 1e3:.2f} ms ({ref['gflops_chol']:.1f} GFLOP/s)")
        nrun = runs if d < 2000 else 1
        variants = [("identity", None)] + ([("B=A0^T A0", prob.metric)] if metric_runs else [])
        gns_id = None
        for label, metric in variants:
            r = run_gns(prob, metric, nrun)
            ideal = ref["hess"] + r["trials"] * ref["chol"]
            ratio = r["per_it"] / ideal
            print(f"  GNS exact, metric {label:10s}: {r['status']}, {r['nit']} it, {r['trials']:.2f} trials/it, "
                  f"{r['per_it'] * 1e3:.2f} ms/it = {r['per_it'] / ref['chol']:.2f} Cholesky; "
                  f"ratio {ratio:.3f} (target <= {TARGET_RATIO}) [{'met' if ratio <= TARGET_RATIO else 'MISSED'}]; "
                  f"total {r['time']:.3f}s, ||g|| {r['gnorm2']:.1e}")
            if metric is None:
                gns_id, ratio_id = r, ratio
        row = {"d": d, "ratio": ratio_id}
        if scipy_runs:
            t_gns = gns_id["time"]
            print(f"  time to ||grad|| <= 1e-8: GNS {t_gns:.3f}s")
            te = run_scipy(prob, "trust-exact", (1e-6, 1e-8), 1000)
            t_te = te["hit"].get(1e-8)
            sp = None if t_te is None else t_te / t_gns
            print(f"    trust-exact {_fmt_t(t_te)} ({te['nit']} it; best ||g|| {te['best']:.1e}) -> GNS "
                  + ("never compared" if sp is None else f"{sp:.2f}x faster") + (
                      f" (target >= {TARGET_SPEEDUP}x) [{'met' if sp and sp >= TARGET_SPEEDUP else 'MISSED'}]"
                      if d == SPEEDUP_AT else ""))
            row["speedup_trust_exact"] = sp
            t6 = _gns_time_to(prob, 1e-6)
            print(f"  time to ||grad|| <= 1e-6: GNS {t6:.3f}s")
            for method, iters in (("Newton-CG", 2000), ("L-BFGS-B", 20000)):
                s = run_scipy(prob, method, (1e-6, 1e-8), iters)
                t = s["hit"].get(1e-6)
                print(f"    {method:11s} {_fmt_t(t)} ({s['nit']} it; best ||g|| {s['best']:.1e}; reaches 1e-8: "
                      f"{'yes' if 1e-8 in s['hit'] else 'NO'}) -> GNS "
                      + ("n/a" if t is None else f"{t / t6:.2f}x faster") + f"  [{s['message']}]")
                row[method] = None if t is None else t / t6
        summary.append(row)
        print()
    print("summary: " + "; ".join(
        f"d={r['d']}: ratio {r['ratio']:.2f}"
        + (f", vs trust-exact {r['speedup_trust_exact']:.2f}x" if r.get("speedup_trust_exact") else "")
        for r in summary), flush=True)


def _gns_time_to(prob: Any, tol: float) -> float:
    t = time.perf_counter()
    gns(prob, prob.x_init(), hessian="exact", gtol=tol)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="d = 200, 400 instead of 500, 1000, 2000")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of the reference operations (median)")
    parser.add_argument("--runs", type=int, default=3, help="GNS runs per size below 2000 (median)")
    parser.add_argument("--no-metric", action="store_true", help="skip GNS with the metric B")
    parser.add_argument("--no-scipy", action="store_true", help="skip the scipy comparisons")
    parser.add_argument("--unset-openblas", action="store_true",
                        help="afterwards, run again in a subprocess with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else SIZES
    with threadpool_limits(limits=1):
        bench(sizes, max(1, args.repeats), max(1, args.runs), not args.no_metric, not args.no_scipy)
    if args.unset_openblas:
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        print("\n" + "=" * 20, f"again with {' and '.join(_OPENBLAS_VARS)} unset (subprocess)", "=" * 20, flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--repeats", str(args.repeats), "--runs", str(args.runs)]
        cmd += [flag for flag, on in (("--quick", args.quick), ("--no-metric", args.no_metric),
                                      ("--no-scipy", args.no_scipy)) if on]
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
