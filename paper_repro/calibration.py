"""Figures and table for the calibration claims (textbook first-order rates).

Writes into ``--out`` (default ``figures/``):

- ``calib_<claim>.png``: each calibration claim with its negative control, drawn from
  the verdict's own series;
- ``calib_worst_case.png``: GD and accelerated gradient on Nesterov's worst-case
  function, with both upper bounds and the first-order lower bound;
- ``calib_table.md``: the verdict table.

Usage: ``python paper_repro/calibration.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optlab.claims import run_claim, select
from optlab.firstorder import accelerated_gradient, gradient_descent
from optlab.plots import plot_verdict
from optlab.problems import nesterov_worst_case
from optlab.report import markdown_table


def worst_case_figure(K: int, path: Path) -> None:
    """GD and AGD on the worst-case function of dimension 2K+1, bounds overlaid."""
    prob = nesterov_worst_case(2 * K + 1)
    L, R2 = prob.constants["L"], float(prob.x_star @ prob.x_star)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for method, color in ((gradient_descent, "C0"), (accelerated_gradient, "C1")):
        res = method(prob, np.zeros(prob.dim), max_iter=K, gtol=None)
        ax.loglog(res.trace.iteration[1:], res.trace.gap[1:], color=color, label=method.__name__)
    k = np.arange(1, K + 1, dtype=float)
    ax.loglog(k, L * R2 / (2 * k), "C0:", label="GD bound L R^2/(2k)")
    ax.loglog(k, 2 * L * R2 / (k + 1) ** 2, "C1:", label="AGD bound 2 L R^2/(k+1)^2")
    ax.loglog(k, prob.lower_bound(k), "k--", lw=1, label="first-order lower bound")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("f(x_k) - f*")
    ax.set_title(f"Nesterov's worst-case function, d = {prob.dim}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--out", default="figures", help="output directory (default: figures/)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    verdicts = [run_claim(c, quick=args.quick) for c in select(["calib"])]
    for v in verdicts:
        plot_verdict(v, out / f"{v.claim.id.replace('.', '_')}.png")
    worst_case_figure(250 if args.quick else 1000, out / "calib_worst_case.png")
    (out / "calib_table.md").write_text(markdown_table(verdicts))
    print(markdown_table(verdicts))
    print(f"wrote {len(verdicts) + 2} files to {out}/ in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
