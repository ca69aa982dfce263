"""Checks shared by claims: a bound at every recorded point, a fitted rate in a band.

Claims compose these instead of writing their own loops, so the fitting code stays
the one of :mod:`optlab.rates`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optlab.claims.base import Outcome, Series
from optlab.rates import BoundCheck, Fit, check_bound, fit_seeds

__all__ = ["bound_everywhere", "fitted_in_band"]


def bound_everywhere(series: list[Series], *, fitter: Callable[..., Fit] | None = None,
                     **fit_kwargs: float) -> Outcome:
    """Pass iff every seed's quantity stays below its stated bound at every recorded point.

    Reports the worst ratio measured/bound over all seeds and, when ``fitter`` is given,
    the fitted rate (median over seeds with its interval) for information.
    """
    checks = [check_bound(s.y, s.bound, k=s.k) for s in series]
    worst = max(checks, key=lambda c: c.worst_ratio)
    i = checks.index(worst)
    worst = BoundCheck(all(c.holds for c in checks), worst.worst_ratio, worst.at, worst.n_points)
    fit = None
    text = f"max ratio {worst.worst_ratio:.3g} at k={worst.at:g}"
    numbers: dict[str, object] = {"worst_ratio": worst.worst_ratio, "worst_at": worst.at,
                                  "worst_seed": series[i].seed}
    if fitter is not None:
        try:
            fit = fit_seeds(fitter, [(s.k, s.y) for s in series], **fit_kwargs)
        except ValueError as e:  # too few points above the floor: say so, the bound still decides
            numbers["fit_error"] = str(e)
        else:
            text += f"; fitted {_symbol(fit)} = {fit}"
            numbers.update(fitted=fit.value, ci=list(fit.ci), per_seed=list(fit.per_seed),
                           window=list(fit.window), n_points=fit.n_points)
    return Outcome(worst.holds, text, fit=fit, bound=worst, numbers=numbers)


def fitted_in_band(series: list[Series], fitter: Callable[..., Fit], band: tuple[float, float],
                   **fit_kwargs: float) -> Outcome:
    """Pass iff the interval of the fitted rate lies inside ``band`` (an order check)."""
    try:
        fit = fit_seeds(fitter, [(s.k, s.y) for s in series], **fit_kwargs)
    except ValueError as e:
        return Outcome(False, f"no fit: {e}", numbers={"fit_error": str(e)})
    lo, hi = fit.ci
    ok = bool(band[0] <= lo and hi <= band[1] and np.isfinite(fit.value))
    return Outcome(ok, f"{_symbol(fit)} = {fit}", fit=fit,
                   numbers={"fitted": fit.value, "ci": list(fit.ci), "band": list(band),
                            "per_seed": list(fit.per_seed), "window": list(fit.window), "n_points": fit.n_points})


def _symbol(fit: Fit) -> str:
    return {"power": "p", "linear": "q", "order": "r", "complexity": "s"}[fit.kind]
