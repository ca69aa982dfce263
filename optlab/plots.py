"""Figures drawn from verdicts: the median curve across seeds with a band, the stated
bound and the fitted rate overlaid, and the negative control beside them.

Matplotlib is imported when a figure is drawn, not at ``import optlab``, and always
with the non-interactive Agg backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optlab.rates import median_band

if TYPE_CHECKING:
    from optlab.claims.base import Series, Verdict

__all__ = ["common_prefix", "plot_curves", "plot_verdict"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(ax: Any, series: list[Series], *, label: str, color: str, band: bool = True,
                bound: bool = True) -> None:
    """Median of ``y`` across seeds with its 10-90% band, and the median stated bound."""
    k = series[0].k
    same_grid = all(len(s.k) == len(k) and np.array_equal(s.k, k) for s in series)
    if not same_grid:  # different lengths (runs stopped at the floor): draw each seed
        n = common_prefix(series)
        banded = n >= 2 and len(series) > 1
        if banded:  # the median and band where every seed is still running
            med, lo, hi = median_band([s.y[:n] for s in series])
            ax.plot(k[:n], med, color=color, lw=1.6, label=f"{label} (median of {len(series)})")
            if band:
                ax.fill_between(k[:n], lo, hi, color=color, alpha=0.2, lw=0)
        for i, s in enumerate(series):
            ax.plot(s.k, s.y, color=color, lw=0.8 if banded else 1, alpha=0.35 if banded else 0.8,
                    label=(f"{label}, each seed" if banded else label) if i == 0 else None)
            if bound and s.bound is not None:
                ax.plot(s.k, s.bound, color=color, ls=":", lw=1, label="stated bound" if i == 0 else None)
        return
    med, lo, hi = median_band([s.y for s in series])
    ax.plot(k, med, color=color, lw=1.6, label=f"{label} (median of {len(series)})" if len(series) > 1 else label)
    if band and len(series) > 1:
        ax.fill_between(k, lo, hi, color=color, alpha=0.2, lw=0)
    if bound and series[0].bound is not None:
        bmed, _, _ = median_band([s.bound for s in series])
        ax.plot(k, bmed, color=color, ls=":", lw=1.2, label="stated bound")


def common_prefix(series: list[Series]) -> int:
    """Length of the longest prefix of ``k`` that every series shares (0 if they differ at once)."""
    n = min(len(s.k) for s in series)
    k0 = series[0].k[:n]
    for s in series[1:]:
        diff = np.flatnonzero(s.k[:n] != k0)
        if diff.size:
            n = int(diff[0])
            k0 = k0[:n]
    return n


def plot_verdict(verdict: Verdict, path: str | Path) -> Path:
    """Draw one claim's figure (claim and control side by side) and save it as PNG."""
    plt = _pyplot()
    claim = verdict.claim
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=False)
    panels = ((axes[0], verdict.series, verdict.outcome, "C0", f"claim: {verdict.verdict}"),
              (axes[1], verdict.control_series, verdict.control, "C3",
               f"control: {verdict.control_verdict} (must fail)"))
    for ax, series, outcome, color, title in panels:
        plot_curves(ax, series, label=claim.quantity, color=color)
        fit = outcome.fit
        if fit is not None and fit.kind in ("power", "linear"):
            kk = np.linspace(fit.window[0], fit.window[1], 50)
            if fit.kind == "power":
                kk = np.geomspace(max(fit.window[0], 1e-12), fit.window[1], 50)
            ax.plot(kk, fit.predict(kk), color="k", ls="--", lw=1, label=f"fit: {outcome.fitted.split('; ')[-1]}")
        ax.set_yscale("log")
        ax.set_xscale(claim.xscale)
        ax.set_xlabel(claim.xlabel)
        ax.set_ylabel(claim.quantity)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{claim.id} ({claim.paper}, {claim.theorem}): {claim.stated}", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
