"""AdAdaGrad (Lau, Liu, Kolar, arXiv:2402.11215): analogues of the paper's figures, without downloads.

``python paper_repro/adaptive_batch_adagrad.py [--quick] [--out figures/]``

Specification ``papers/adadagrad.md`` Section 6: scikit-learn's bundled ``load_digits``
(1797 x 64, 80/20 split per seed), softmax regression and (full run) a 64-unit tanh MLP, with
hand-written per-sample gradients. AdaGrad and AdaGrad-Norm, each with constant batches
b = 4 and 128, stagewise doubling (b0 = 4, doubled every 200 steps), the norm test with
eta = 0.1, 0.25, 0.5 and the augmented inner-product test ip+orth (theta = nu = 0.5), all from
b0 = 4 with b_max = n_train; budget 100 epochs of samples (``--quick``: 3 epochs, softmax
only, 2 seeds, and 3 seeds for the E1 figure; full: 5 seeds). Step sizes [our choice, tried on seed 0]: AdaGrad 0.05,
AdaGrad-Norm 2.0.

Writes
About 60 records per schedule run; the adaptive runs (tens to hundreds of steps) record every step.

- ``adadagrad_figA_samples.png``: training loss and test accuracy vs samples processed;
- ``adadagrad_figB_steps.png``: the same vs iterations;
- ``adadagrad_figC_batch.png``: batch size b_k vs k;
- ``adadagrad_table.md``: final test accuracy (mean +- std over seeds) and iterations;
- ``adadagrad_e1_o1k.png``: the claim ``adadagrad.e1_o1k`` (P-A1): A_K median and 10-90% band
  for the adaptive run and the two negative controls, drawn from the verdict's own series.
Curves are the mean over seeds with a +- one standard deviation band, interpolated onto a
common grid (adaptive runs record at different sample counts per seed).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from optlab.batching import adagrad, adagrad_norm
from optlab.claims import get, run_claim
from optlab.problems.stochastic import digits_mlp, digits_softmax
from optlab.rates import median_band

CONFIGS = {  # label -> batch options
    "const b=4": {"batch": "constant", "b0": 4},
    "const b=128": {"batch": "constant", "b0": 128},
    "stagewise": {"batch": "stagewise", "b0": 4, "stage": 200},
    "norm eta=0.1": {"batch": "norm", "b0": 4, "eta": 0.1},
    "norm eta=0.25": {"batch": "norm", "b0": 4, "eta": 0.25},
    "norm eta=0.5": {"batch": "norm", "b0": 4, "eta": 0.5},
    "ip+orth 0.5": {"batch": "ip+orth", "b0": 4, "theta": 0.5, "nu": 0.5},
}
OPTIMIZERS = {"AdaGrad": (adagrad, 0.05), "AdaGrad-Norm": (adagrad_norm, 2.0)}


def train(prob, method, alpha: float, opts: dict, epochs: int, seed: int) -> dict:
    """One run; records loss, test accuracy, samples and batch size (about 100 records)."""
    budget = epochs * prob.n_samples
    est_iters = {"constant": budget / opts["b0"], "stagewise": 1000}.get(opts["batch"], 1)
    acc: list[float] = []
    max_iter = -(-budget // opts["b0"])  # b_k >= b0, so the budget ends the run first
    res = method(prob, prob.x_init(), alpha=alpha, b_max=prob.n_samples, max_iter=max_iter, max_samples=budget,
                 seed=seed, record_every=max(1, int(est_iters // 60)),
                 callback=lambda r: acc.append(prob.accuracy(r.x)), **opts)
    tr = res.trace
    return {"k": tr.iteration, "samples": tr.samples, "loss": tr.fun, "acc": np.array(acc[: len(tr.fun)]),
            "b": tr.batch_size, "nit": res.nit, "final_acc": prob.accuracy(res.x)}


def _band(runs: list[dict], xkey: str, ykey: str, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    Y = np.array([np.interp(grid, r[xkey], r[ykey], left=np.nan, right=np.nan) for r in runs])
    with warnings.catch_warnings():  # grid points before a seed's first record are NaN for every seed
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(Y, 0), np.nanstd(Y, 0)


def figure_vs(results: dict, xkey: str, path: Path, xlabel: str) -> None:
    models = sorted({m for m, _, _ in results})
    fig, axes = plt.subplots(2 * len(models), 2, figsize=(12, 4.2 * 2 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        for j, opt in enumerate(OPTIMIZERS):
            for label in CONFIGS:
                runs = results[(model, opt, label)]
                hi = min(r[xkey][-1] for r in runs)
                grid = np.unique(np.geomspace(max(1.0, min(r[xkey][1] for r in runs)), hi, 120))
                for row, ykey in ((2 * i, "loss"), (2 * i + 1, "acc")):
                    m, s = _band(runs, xkey, ykey, grid)
                    ax = axes[row, j]
                    ax.plot(grid, m, label=label)
                    ax.fill_between(grid, m - s, m + s, alpha=0.2)
                    ax.set_xscale("log")
                    ax.set_title(f"{model}, {opt}: {'training loss' if ykey == 'loss' else 'test accuracy'}")
                    ax.set_xlabel(xlabel)
                    if ykey == "loss":
                        ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure_batch(results: dict, path: Path) -> None:
    models = sorted({m for m, _, _ in results})
    fig, axes = plt.subplots(len(models), 2, figsize=(12, 4.2 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        for j, opt in enumerate(OPTIMIZERS):
            ax = axes[i, j]
            for label in CONFIGS:
                r = results[(model, opt, label)][0]
                ax.step(np.maximum(r["k"][:-1], 1), r["b"][:-1], where="post", label=label)
            ax.set(xscale="log", yscale="log", xlabel="iteration k", ylabel="batch size b_k",
                   title=f"{model}, {opt} (seed 0)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict, path: Path, epochs: int, n_seeds: int) -> None:
    lines = [f"# AdAdaGrad analogues on load_digits ({epochs} epochs, {n_seeds} seeds, b_max = n_train)", "",
             "| model | optimizer | batch rule | final test accuracy (mean +- std) | iterations (mean) |",
             "|---|---|---|---|---|"]
    for (model, opt, label), runs in results.items():
        acc = np.array([r["final_acc"] for r in runs])
        lines.append(f"| {model} | {opt} | {label} | {acc.mean():.4f} +- {acc.std():.4f} | "
                     f"{np.mean([r['nit'] for r in runs]):.0f} |")
    path.write_text("\n".join(lines) + "\n")


def figure_e1(out: Path, quick: bool) -> None:
    v = run_claim(get("adadagrad.e1_o1k"), quick=quick, seeds=3 if quick else None)
    fig, ax = plt.subplots(figsize=(7, 5))
    groups: dict[str, list] = {}
    for s in v.series + v.control_series:
        for t in [s, *s.info.get("also", [])]:
            groups.setdefault(t.info["variant"], []).append(t)
    for i, (name, g) in enumerate(reversed(groups.items())):  # the adaptive run last, on top
        K = min(len(t.y) for t in g)
        at = np.unique(np.geomspace(1, K, 400).astype(int)) - 1  # log-spaced points are enough to draw
        med, lo, hi = median_band([t.y[at] for t in g])
        line, = ax.plot(g[0].k[at], med, label=name, lw=2.5 if i == len(groups) - 1 else 1.2,
                        ls="--" if i == len(groups) - 1 else "-")
        ax.fill_between(g[0].k[at], lo, hi, alpha=0.2, color=line.get_color())
        pre = min(t.info["pre"] for t in g)
        if pre < K:
            ax.axvline(pre, color=line.get_color(), ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="iterations K", ylabel="A_K = mean ||grad F(x_k)||^2",
           title=f"adadagrad.e1_o1k on P-A1: {v.verdict}, controls {v.control_verdict} (dotted: b reaches b_max)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "adadagrad_e1_o1k.png", dpi=110)
    plt.close(fig)
    print(f"e1_o1k: {v.outcome.fitted}\n  controls: {v.control.fitted}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="softmax only, 3 epochs, 2 seeds (under a minute)")
    parser.add_argument("--out", default="figures", help="output folder (default figures/)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs, n_seeds = (3, 2) if args.quick else (100, 5)
    models = {"softmax": digits_softmax} if args.quick else {"softmax": digits_softmax, "mlp": digits_mlp}
    t0 = time.perf_counter()
    threadpool_limits(1)  # small matrices: BLAS threads only contend (measured 10x slower on a loaded machine)
    results: dict = {}
    for model, factory in models.items():
        probs = [factory(seed) for seed in range(n_seeds)]
        for opt, (method, alpha) in OPTIMIZERS.items():
            for label, opts in CONFIGS.items():
                results[(model, opt, label)] = [train(p, method, alpha, opts, epochs, s) for s, p in enumerate(probs)]
    figure_vs(results, "samples", out / "adadagrad_figA_samples.png", "samples processed")
    figure_vs(results, "k", out / "adadagrad_figB_steps.png", "iteration k")
    figure_batch(results, out / "adadagrad_figC_batch.png")
    table(results, out / "adadagrad_table.md", epochs, n_seeds)
    figure_e1(out, args.quick)
    print(f"wrote figures and table to {out}/ in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
