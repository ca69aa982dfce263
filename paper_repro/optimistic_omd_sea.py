"""Figures for optimistic OMD in the SEA model (Chen et al. 2023, arXiv:2302.04552; the paper is theory).

Writes into ``--out`` (default ``figures/``):

- ``omd_sea_sweep.png``: regret against ``B = sqrt(sigma^2_{1:T}) + sqrt(Sigma^2_{1:T})`` over the V1 sweep (the
  verdict's own series) with the bound's shape ``D B + L D^2 + D G`` and a slope-1 guide; beside it optimistic
  OMD, optimistic FTRL (Sachs et al. Thm 5) and OGD (``D/(G sqrt t)``) on schedules (i) and (ii);
- ``omd_special_cases.png``: regret against T for the adversarial case (with the bound) and the excess risk of
  the averaged iterate in the i.i.d. case, each with its negative control;
- ``omd_optimism.png``: dynamic regret against T with the hint ``M_t = g_{t-1}`` and with ``M_t = 0``;
- ``omd_<claim>.png`` for every ``omd.*`` claim (claim and control side by side) and ``omd_table.md``.

Usage: ``python paper_repro/optimistic_omd_sea.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlab.claims import run_claim, select
from optlab.online import ogd, optimistic_ftrl, optimistic_omd
from optlab.plots import plot_verdict
from optlab.problems.online import family_a
from optlab.report import markdown_table

GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def sweep_figure(v1, T: int, seeds: int, path: Path) -> None:
    """Left: the V1 verdict's series; right: OMD, OFTRL and OGD on (i) and (ii) at one T."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    info = v1.series[0].info
    sched, Ts = np.array(info["schedule"]), np.array(info["T"])
    B = v1.series[0].k
    R = np.mean([s.y for s in v1.series], axis=0)
    scale = np.array(info["scale"])
    markers = {"hidden_sign": "o", "random_signs": "s", "mixture": "^", "curved": "D"}
    for name, mk in markers.items():
        for j, t in enumerate(np.unique(Ts)):
            m = (sched == name) & (Ts == t)
            ax.loglog(B[m], R[m], mk, color=f"C{j}", ms=4, label=f"{name}, T={t}" if name == "hidden_sign" else None)
    grid = sched != "switches"
    ax.loglog(B[grid], scale[grid], "k_", ms=7, label="bound shape D B + L D^2 + D G (per point)")
    b = np.geomspace(B[grid].min(), B[grid].max(), 10)
    ax.loglog(b, 0.3 * b, "k--", lw=0.8, label="slope 1")
    ax.set_xlabel("B = sqrt(sigma^2) + sqrt(Sigma^2)")
    ax.set_ylabel("regret (mean over seeds)")
    ax.set_title(f"V1 sweep ({v1.verdict}): o (i), s (ii), ^ mixture, D kappa=1", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    for sc, key, ls in (("hidden_sign", "s", "-"), ("random_signs", "m", "--")):
        for method, color in ((optimistic_omd, "C0"), (optimistic_ftrl, "C1"), (ogd, "C2")):
            Bs, Rs = [], []
            for v in GRID:
                vals = []
                for seed in range(seeds):
                    p = family_a(5, T, sc, seed=seed, **{key: v})
                    vals.append(float(method(p, n_records=1).trace.pseudo_regret[-1]))
                Bs.append(math.sqrt(p.constants["sigma2"]) + math.sqrt(p.constants["Sigma2"]))
                Rs.append(np.mean(vals))
            bx.loglog(Bs, Rs, ls, color=color, marker="o", ms=3, label=f"{method.__name__}, {sc}")
    bx.set_xlabel("B")
    bx.set_ylabel("regret")
    bx.set_title(f"OMD vs optimistic FTRL vs OGD, T = {T}, {seeds} seeds", fontsize=9)
    bx.legend(fontsize=7)
    bx.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _panel(ax, v, ylabel: str, title: str) -> None:
    for series, color, label in ((v.series, "C0", "claim"), (v.control_series, "C3", "control")):
        Y = np.array([s.y for s in series])
        ax.loglog(series[0].k, np.maximum(Y.mean(axis=0), 1e-300), "o-", color=color, label=f"{label}: {v.claim.id}")
        if series[0].bound is not None:
            ax.loglog(series[0].k, np.mean([s.bound for s in series], axis=0), ":", color=color, label=f"{label} bound")
    ax.set_xlabel("rounds T")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the claims' quick sets (under a minute)")
    parser.add_argument("--out", default="figures", help="output directory (default: figures/)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    verdicts = {v.claim.id: v for v in (run_claim(c, quick=args.quick) for c in select(["omd"]))}
    for cid, v in verdicts.items():
        plot_verdict(v, out / f"{cid.replace('.', '_')}.png")
    sweep_figure(verdicts["omd.v1_convex_sigma"], 10000 if args.quick else 100000, 3 if args.quick else 10,
                 out / "omd_sea_sweep.png")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    _panel(ax, verdicts["omd.adversarial_sqrt_T"], "regret", "adversarial (alternating signs): O(D G sqrt T)")
    _panel(bx, verdicts["omd.iid_averaged"], "F(xbar_T) - F(u*)", "i.i.d.: averaged iterate (online-to-batch)")
    fig.tight_layout()
    fig.savefig(out / "omd_special_cases.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    v = verdicts["omd.optimism"]
    _panel(ax, v, "dynamic regret", "K = 4 switches, sigma = 0: hint M_t = g_{t-1} (claim) vs M_t = 0 (control)")
    fig.tight_layout()
    fig.savefig(out / "omd_optimism.png", dpi=120)
    plt.close(fig)
    table = markdown_table(list(verdicts.values()))
    (out / "omd_table.md").write_text(table)
    print(table)
    print(f"wrote {len(verdicts) + 4} files to {out}/ in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
