"""Figures of Semenov, Jaggi, Doikov, "Gradient-Normalized Smoothness for Optimization with
Approximate Hessians" (ICLR 2026), on the synthetic families of the specification.

Writes into ``--out`` (default ``figures/``):

- ``gns_fig1_lse.png``: LogSumExp, f - f* vs iterations and vs time: GNS exact, GNS with
  weighted Gauss-Newton, the gradient method in the metric B, plain gradient method;
- ``gns_fig2_gamma.png``: gamma_k of the GNS runs (and ``||g||/L_k`` of the gradient methods);
- ``gns_fig3_nle.png``: nonlinear equations (p = 4): exact, rank-one Fisher, gradient
  method in B and plain, against iterations and time;
- ``gns_fig45_rosenbrock.png``: Rosenbrock (exact vs gradient method) and Rosenbrock-NLE
  (p = 5: exact, Gauss-Newton, gradient method);
- ``gns_fig6_chebyshev.png``: the Chebyshev chain (p = 4): exact, Gauss-Newton, gradient method;
- ``gns_fig7_logistic.png``: logistic regression on scikit-learn's breast cancer data
  (standardized, no bias): exact Hessian, empirical Fisher, and the Fisher on the
  ridge-regularized problem (reg = 1e-3), each against its own f*;
- ``gns_phase_diagram.png`` and ``gns_phase_diagram.md``: iterations to 1e-8 on LogSumExp
  with the controlled inexactness ``H + c ||g||^(1-beta) I`` over beta x c.

Usage: ``python paper_repro/gradient_normalized_smoothness.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlab.newton import gns, gradient_method, inexact
from optlab.problems import Rosenbrock
from optlab.problems.newton_families import LogisticApprox, chebyshev_chain, lse_shifted, nle_linear, rosenbrock_nle


def _panel(ax_it, ax_t, runs: dict, gap_of, title: str) -> None:
    for label, res in runs.items():
        gap = np.maximum(gap_of(res), 1e-17)
        ax_it.semilogy(res.trace.iteration, gap, lw=1.3, label=f"{label} ({res.nit} it.)")
        if ax_t is not None:
            ax_t.semilogy(res.trace.time, gap, lw=1.3, label=label)
    ax_it.set(xlabel="iteration", ylabel="f - f*", title=title)
    ax_it.legend(fontsize=7)
    if ax_t is not None:
        ax_t.set(xlabel="time (s)", ylabel="f - f*")


def fig_lse(n: int, out: Path) -> None:
    prob = lse_shifted(n, n, seed=0)
    x0 = prob.x_init()
    g0 = float(prob.gap(x0))
    kw = {"gtol": None, "ftol": 1e-10 * g0}
    runs = {
        "GNS exact": gns(prob, x0, metric=prob.metric, max_iter=300, **kw),
        "GNS WGN": gns(prob, x0, hessian="wgn", metric=prob.metric, max_iter=300, **kw),
        "gradient method, metric B": gradient_method(prob, x0, metric=prob.metric, max_iter=2000, **kw),
        "gradient method": gradient_method(prob, x0, max_iter=2000, **kw),
    }
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    _panel(a1, a2, runs, lambda r: r.trace.fun - prob.f_star, f"LogSumExp, n = m = {n}")
    fig.tight_layout()
    fig.savefig(out / "gns_fig1_lse.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, res in runs.items():
        gam = res.trace.gamma if label.startswith("GNS") else res.trace.grad_norm / res.trace.lam
        ax.semilogy(res.trace.iteration[1:], gam[1:], lw=1.2, label=label)
    ax.set(xlabel="iteration", ylabel="gamma_k (GNS) or ||g||/L_k", title="accepted radius")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "gns_fig2_gamma.png", dpi=110)
    plt.close(fig)


def fig_nle(m: int, n: int, out: Path) -> None:
    prob = nle_linear(m, n, p=4, seed=0)
    x0 = prob.x_init()
    kw = {"gtol": None, "ftol": 1e-10}
    runs = {
        "GNS exact, metric B": gns(prob, x0, metric=prob.metric, max_iter=500, **kw),
        "GNS rank-one Fisher, metric B": gns(prob, x0, hessian="rank_one", metric=prob.metric, max_iter=500, **kw),
        "gradient method, metric B": gradient_method(prob, x0, metric=prob.metric, max_iter=3000, **kw),
        "gradient method": gradient_method(prob, x0, max_iter=3000, **kw),
    }
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    _panel(a1, a2, runs, lambda r: r.trace.fun, f"nonlinear equations, p = 4, A: {m} x {n}")
    fig.tight_layout()
    fig.savefig(out / "gns_fig3_nle.png", dpi=110)
    plt.close(fig)


def fig_rosenbrock(gd_iters: int, out: Path) -> None:
    rb, nle = Rosenbrock(2), rosenbrock_nle(p=5)
    x0 = np.array([-2.0, 2.0])
    kw = {"gtol": None, "ftol": 1e-10}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    _panel(a1, None, {"GNS exact": gns(rb, x0, max_iter=300, **kw),
                      "gradient method": gradient_method(rb, x0, max_iter=gd_iters, **kw)},
           lambda r: r.trace.fun, "Rosenbrock")
    _panel(a2, None, {"GNS exact": gns(nle, x0, max_iter=300, **kw),
                      "GNS Gauss-Newton": gns(nle, x0, hessian="gauss_newton", max_iter=300, **kw),
                      "gradient method": gradient_method(nle, x0, max_iter=gd_iters, **kw)},
           lambda r: r.trace.fun, "Rosenbrock as equations, p = 5")
    fig.tight_layout()
    fig.savefig(out / "gns_fig45_rosenbrock.png", dpi=110)
    plt.close(fig)


def fig_chebyshev(n: int, gd_iters: int, out: Path) -> None:
    prob = chebyshev_chain(n, p=4, seed=0)
    x0 = prob.x_init()
    kw = {"gtol": None, "ftol": 1e-10}
    runs = {"GNS exact": gns(prob, x0, max_iter=500, **kw),
            "GNS Gauss-Newton": gns(prob, x0, hessian="gauss_newton", max_iter=500, **kw),
            "gradient method": gradient_method(prob, x0, max_iter=gd_iters, **kw)}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    _panel(a1, a2, runs, lambda r: r.trace.fun, f"Chebyshev chain, n = {n}, p = 4")
    fig.tight_layout()
    fig.savefig(out / "gns_fig6_chebyshev.png", dpi=110)
    plt.close(fig)


def fig_logistic(out: Path) -> None:
    from sklearn.datasets import load_breast_cancer  # bundled with scikit-learn, no download

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    prob = LogisticApprox(X, 2.0 * y - 1.0, name="breast cancer (standardized, no bias)")
    ridge = LogisticApprox(X, 2.0 * y - 1.0, reg=1e-3, name="with ridge 1e-3")
    x0 = np.zeros(prob.dim)
    runs = {"GNS exact": (prob, gns(prob, x0, max_iter=300, gtol=1e-10)),
            "GNS Fisher": (prob, gns(prob, x0, hessian="fisher", max_iter=300, gtol=1e-10)),
            "GNS Fisher, ridge 1e-3 problem": (ridge, gns(ridge, x0, hessian="fisher", max_iter=300, gtol=1e-10))}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, (p, res) in runs.items():
        # f* of the unregularized problem is numerical when its Newton solve converged, else the best value seen
        f_ref = p.f_star if p.f_star is not None else float(res.trace.fun.min())
        gap = np.maximum(res.trace.fun - f_ref, 1e-17)
        a1.semilogy(res.trace.iteration, gap, lw=1.3, label=f"{label} ({res.nit} it.)")
        a2.semilogy(res.trace.time, gap, lw=1.3, label=label)
    a1.set(xlabel="iteration", ylabel="f - f* (of each problem)", title=prob.name)
    a2.set(xlabel="time (s)", ylabel="f - f*")
    a1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "gns_fig7_logistic.png", dpi=110)
    plt.close(fig)


def phase_diagram(n: int, betas, cs, out: Path) -> None:
    prob = lse_shifted(n, n, seed=0)
    x0 = prob.x_init()
    g0 = float(prob.gap(x0))
    T = np.full((len(betas), len(cs)), np.nan)
    for i, beta in enumerate(betas):
        for j, c in enumerate(cs):
            res = gns(prob, x0, hessian=inexact(c, beta), max_iter=500, gtol=None, ftol=1e-8 * g0)
            T[i, j] = res.nit if res.success else np.nan
    fig, ax = plt.subplots(figsize=(5.5, 4))
    im = ax.imshow(T, origin="lower", cmap="viridis")
    ax.set_xticks(range(len(cs)), [f"{c:g}" for c in cs])
    ax.set_yticks(range(len(betas)), [f"{b:g}" for b in betas])
    for i in range(len(betas)):
        for j in range(len(cs)):
            ax.text(j, i, "-" if np.isnan(T[i, j]) else f"{int(T[i, j])}", ha="center", va="center", color="w")
    ax.set(xlabel="c", ylabel="beta", title="iterations to 1e-8: H = exact + c ||g||^(1-beta) I")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "gns_phase_diagram.png", dpi=110)
    plt.close(fig)
    head = "| beta \\ c | " + " | ".join(f"{c:g}" for c in cs) + " |\n|---" * 1 + "|---" * len(cs) + "|\n"
    rows = "".join(f"| {b:g} | " + " | ".join("-" if np.isnan(v) else str(int(v)) for v in T[i]) + " |\n"
                   for i, b in enumerate(betas))
    (out / "gns_phase_diagram.md").write_text(f"# Iterations to 1e-8 on LogSumExp (n = m = {n})\n\n{head}{rows}")
    print(head + rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--out", default="figures", help="output directory (default: figures/)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    fig_lse(100 if args.quick else 500, out)
    fig_nle(50, 100, out) if args.quick else fig_nle(100, 200, out)
    fig_rosenbrock(2000 if args.quick else 10_000, out)
    fig_chebyshev(50 if args.quick else 200, 2000 if args.quick else 10_000, out)
    fig_logistic(out)
    phase_diagram(60 if args.quick else 200, (0.0, 1 / 3, 0.5, 1.0), (0.1, 1.0, 10.0), out)
    print(f"wrote 8 files to {out}/ in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
