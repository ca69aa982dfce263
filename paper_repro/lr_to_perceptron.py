"""Figures and Table 1 of Tyurin, "From Logistic Regression to the Perceptron Algorithm" (AAAI 2025).

The paper's image datasets are replaced by datasets bundled with scikit-learn (digits
pairs, no download) and by the synthetic sets with exact margins. Writes into ``--out``:

- ``lrgd_fig1_loss_accuracy.png``: LR+GD over gamma, loss and accuracy vs iteration (Fig. 1);
- ``lrgd_fig2_vs_bp.png``: accuracy of LR+GD over gamma overlaid with the Batch Perceptron (Figs 2, 3);
- ``lrgd_fig4_chaos.png``: accuracy, loss and gradient norm before separation (Figs 4, 5);
- ``lrgd_fig6_perceptrons.png``: BP vs NBP vs the perceptron, balanced and imbalanced (Figs 6, 7);
- ``lrgd_T_vs_n.png``: iterations vs n on the worst-case set (Theorem 5.1 vs 5.3, 6.1);
- ``lrgd_T_vs_gamma.png``: NLR+GD iterations vs gamma with the Theorem 6.1 bound;
- ``lrgd_table1.md``: Table 1 on the worst-case sets and digits 3 vs 8 (balanced, imbalanced).

Usage: ``python paper_repro/lr_to_perceptron.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from optlab.classification import batch_perceptron, lr_gd, normalized_batch_perceptron, normalized_lr_gd, perceptron
from optlab.problems.separable import cone_set, digits_pair, worst_case_set

GAMMAS = (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_loss_accuracy(data, cap: int, out: Path) -> None:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, g in enumerate(GAMMAS):
        r = lr_gd(data.X, data.y, g, max_iter=cap, check_separable=False)
        a1.semilogy(r.trace.iteration, r.trace.fun, color=f"C{i}", lw=1, label=f"gamma={g:g} (T={_T(r)})")
        a2.plot(r.trace.iteration, r.trace.accuracy, color=f"C{i}", lw=1)
    a1.set(xlabel="iteration t", ylabel="f(theta_t)", title=f"LR+GD on {data.name}: loss")
    a2.set(xlabel="iteration t", ylabel="accuracy", title="accuracy", xscale="log")
    a1.legend(fontsize=7)
    _save(fig, out / "lrgd_fig1_loss_accuracy.png")


def fig_vs_bp(datasets, cap: int, out: Path) -> None:
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.8), squeeze=False)
    for ax, data in zip(axes[0], datasets, strict=True):
        for i, g in enumerate(GAMMAS):
            r = lr_gd(data.X, data.y, g, max_iter=cap, check_separable=False)
            ax.plot(r.trace.iteration, r.trace.accuracy, color=f"C{i}", lw=1, label=f"LR+GD gamma={g:g}")
        bp = batch_perceptron(data.X, data.y, max_iter=cap, check_separable=False)
        ax.plot(bp.trace.iteration, bp.trace.accuracy, "k--", lw=1.5, label="Batch Perceptron")
        ax.set(xscale="log", xlabel="iteration t", ylabel="accuracy", title=data.name)
    axes[0, 0].legend(fontsize=7)
    _save(fig, out / "lrgd_fig2_vs_bp.png")


def fig_chaos(data, cap: int, out: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for i, g in enumerate((0.1, 1.0, 10.0, 100.0)):
        r = lr_gd(data.X, data.y, g, max_iter=cap, check_separable=False)
        for ax, field in zip(axes, ("accuracy", "fun", "grad_norm"), strict=True):
            ax.plot(r.trace.iteration, r.trace[field], color=f"C{i}", lw=1, label=f"gamma={g:g}")
    for ax, lab in zip(axes, ("accuracy", "f(theta_t)", "||grad f(theta_t)||"), strict=True):
        ax.set(xlabel="iteration t", ylabel=lab)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"LR+GD before separation on {data.name}: loss and gradient norm are not progress measures",
                 fontsize=10)
    _save(fig, out / "lrgd_fig4_chaos.png")


def fig_perceptrons(datasets, cap: int, out: Path) -> None:
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.8), squeeze=False)
    for ax, data in zip(axes[0], datasets, strict=True):
        for method, style in ((batch_perceptron, "C0-"), (normalized_batch_perceptron, "C1-"), (perceptron, "C2:")):
            r = method(data.X, data.y, max_iter=cap, check_separable=False)
            ax.plot(r.trace.iteration, r.trace.accuracy, style, lw=1.2, label=f"{method.__name__} (T={_T(r)})")
        ax.set(xscale="log", xlabel="iteration t (updates for the perceptron)", ylabel="accuracy",
               title=f"{data.name}, R^2/mu^2 = {data.ratio:.0f}")
        ax.legend(fontsize=7)
    _save(fig, out / "lrgd_fig6_perceptrons.png")


def fig_T_vs_n(sizes, out: Path) -> None:
    runs = {
        "BP": lambda d: batch_perceptron(d.X, d.y).nit,
        "LR+GD gamma=100": lambda d: lr_gd(d.X, d.y, 100.0).nit,
        "NLR+GD gamma=1": lambda d: normalized_lr_gd(d.X, d.y, 1.0).nit,
        "NBP": lambda d: normalized_batch_perceptron(d.X, d.y).nit,
    }
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for label, run in runs.items():
        ax.loglog(sizes, [run(worst_case_set(n)) for n in sizes], "o-", label=label)
    ax.loglog(sizes, [math.floor(0.3 * n - 0.8) + 2 for n in sizes], "k:", label="floor(0.3 n - 0.8) + 2")
    ax.set(xlabel="n", ylabel="iterations T", title="worst-case set (mu = 0.5, R^2 = 1.25)")
    ax.legend(fontsize=8)
    _save(fig, out / "lrgd_T_vs_n.png")


def fig_T_vs_gamma(data, gammas, out: Path) -> None:
    T = [normalized_lr_gd(data.X, data.y, g).nit for g in gammas]
    n = len(data.y)
    bound = [data.ratio + 2 * math.log(2 * n - 1) / (g * data.mu**2) for g in gammas]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog(gammas, T, "o-", label="NLR+GD: measured T")
    ax.loglog(gammas, bound, "k--", label="Thm 6.1: R^2/mu^2 + 2 log(2n-1)/(gamma mu^2)")
    ax.set(xlabel="gamma", ylabel="iterations T", title=data.name)
    ax.legend(fontsize=8)
    _save(fig, out / "lrgd_T_vs_gamma.png")


def _T(res) -> str:
    return str(res.nit) if res.success else f">{res.nit}"


def table1(datasets, cap: int) -> str:
    cols = ["NLR+GD 100", "NLR+GD 10", "NLR+GD 1", "NLR+GD 0.1", "LR+GD 100", "BP", "NBP"]
    lines = ["| dataset | n | R^2/mu^2 | " + " | ".join(cols) + " |", "|---" * (len(cols) + 3) + "|"]
    for d in datasets:
        row = [normalized_lr_gd(d.X, d.y, g, max_iter=cap, check_separable=False) for g in (100.0, 10.0, 1.0, 0.1)]
        row += [lr_gd(d.X, d.y, 100.0, max_iter=cap, check_separable=False),
                batch_perceptron(d.X, d.y, max_iter=cap, check_separable=False),
                normalized_batch_perceptron(d.X, d.y, max_iter=cap, check_separable=False)]
        lines.append(f"| {d.name} | {len(d.y)} | {d.ratio:.4g} | " + " | ".join(_T(r) for r in row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--out", default="figures", help="output directory (default: figures/)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cap = 2000 if args.quick else 20000
    d38 = digits_pair(3, 8)
    d49 = digits_pair(4, 9)
    d38_imb = digits_pair(3, 8, imbalance=0.1, seed=0)
    fig_loss_accuracy(d38, cap, out)
    fig_vs_bp([d38, d49], cap, out)
    fig_chaos(d38, min(cap, 300), out)
    fig_perceptrons([d38, d38_imb], cap, out)
    fig_T_vs_n([10, 30, 100, 300, 1000] if args.quick else [10, 30, 100, 300, 1000, 3000, 10000], out)
    cone = cone_set(300 if args.quick else 1000, 10, mu=0.05, R=1.0, seed=0)
    fig_T_vs_gamma(cone, [0.1, 0.3, 1, 3, 10, 100, 1e8] if args.quick else [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 100, 1e8],
                   out)
    sets = [worst_case_set(n) for n in ((100, 1000) if args.quick else (100, 1000, 10000))] + [d38, d38_imb]
    table = table1(sets, cap)
    (out / "lrgd_table1.md").write_text("# Table 1 (iterations to accuracy 1; '>N' = not separated within N)\n\n"
                                        + table)
    print(table)
    print(f"wrote 7 files to {out}/ in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
