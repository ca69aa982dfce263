"""Calibration claims: textbook rates that prove the claim machinery before the papers.

Each claim is checked with its explicit constant and has a negative control that the
same check must reject. Source for all three: Nesterov, *Lectures on Convex
Optimization*, 2nd ed., Springer 2018 (cited as "Nesterov 2018"), and Beck & Teboulle,
"A fast iterative shrinkage-thresholding algorithm", SIAM J. Imaging Sci. 2(1), 2009.
"""

from __future__ import annotations

import numpy as np

from optlab.claims.base import Claim, Outcome, Series
from optlab.claims.checks import bound_everywhere
from optlab.firstorder import accelerated_gradient, gradient_descent
from optlab.problems import nesterov_worst_case, quadratic
from optlab.rates import fit_linear_rate, fit_power_law

__all__ = ["AGDSublinear", "GDLinear", "GDSublinear"]


class GDLinear(Claim):
    """Gradient descent with step 1/L converges linearly on L-smooth mu-strongly convex functions.

    Kind: bound, because the theorem is an upper bound with an explicit constant:
    ``f(x_k) - f* <= (1 - mu/L)^k (f(x_0) - f*)`` is checked at every iteration of every
    seed, and the fitted factor's interval must lie below ``1 - mu/L`` too. On a quadratic
    the true factor is ``(1 - mu/L)^2``, so the fitted factor is reported, not demanded equal.

    Negative control: the same check on gradient descent with step ``1/(4L)``, which
    the theorem does not cover; its factor ``(1 - mu/(4L))^2 > 1 - mu/L`` must break the bound.
    """

    id = "calib.gd_linear"
    paper = "Nesterov 2018"
    theorem = "Thm 2.1.15"
    statement = "GD with step 1/L contracts f - f* at least by 1 - mu/L per iteration."
    kind = "bound"
    quantity = "f(x_k) - f*"
    stated = "<= (1 - mu/L)^k (f(x_0) - f*)"
    control = "GD with step 1/(4L) against the same bound"
    xlabel = "iteration k"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        dim, kappa = (20, 20.0) if quick else (50, 100.0)
        prob = quadratic(dim, mu=1.0 / kappa, L=1.0, spectrum="log", seed=seed)
        mu, L = prob.constants["mu"], prob.constants["L"]
        x0 = np.zeros(dim)
        gap0 = float(prob.gap(x0))
        step = 1.0 / (4.0 * L) if control else 1.0 / L
        # run to the float64 floor of the gap (or a budget that reaches it for step 1/L)
        res = gradient_descent(prob, x0, step=step, max_iter=int(60 * kappa), gtol=None, ftol=1e-13 * gap0)
        k, y = res.trace.iteration[1:], res.trace.gap[1:]  # k = 0 is an identity, not a check
        return Series(k, y, bound=(1.0 - mu / L) ** k * gap0, seed=seed,
                      info={"problem": prob.name, "status": str(res.status), "q_stated": 1.0 - mu / L})

    def check(self, series: list[Series]) -> Outcome:
        out = bound_everywhere(series, fitter=fit_linear_rate)
        q_stated = series[0].info["q_stated"]
        out.numbers["q_stated"] = q_stated
        out.passed = bool(out.passed and out.fit is not None and out.fit.ci[1] <= q_stated)
        return out


class GDSublinear(Claim):
    """Gradient descent with step 1/L: ``f(x_k) - f* <= L ||x_0 - x*||^2 / (2k)`` on smooth convex f.

    Kind: bound, checked at every iteration on Nesterov's worst-case function (dimension
    ``2K + 1`` for a ``K``-iteration run), where first-order methods are slowest. The
    experiment is deterministic (one seed). GD's measured gap decays like ``k^-1/2`` there
    before the linear tail; the fitted exponent is reported for information.

    Negative control: the same measurements against the accelerated rate with GD's
    constant, ``L ||x_0 - x*||^2 / (2 k^2)``, which GD does not have: it must be violated.
    """

    id = "calib.gd_sublinear"
    paper = "Nesterov 2018"
    theorem = "Cor 2.1.2"
    statement = "GD with step 1/L has f - f* <= L R^2 / (2k) on L-smooth convex functions."
    kind = "bound"
    quantity = "f(x_k) - f*"
    stated = "<= L ||x0 - x*||^2 / (2k)"
    control = "same GD run against L ||x0 - x*||^2 / (2k^2)"
    seeds = quick_seeds = 1
    xscale = "log"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        power = 2.0 if control else 1.0
        return _on_worst_case(gradient_descent, 250 if quick else 1000, lambda k, LR2: LR2 / (2.0 * k**power), seed)

    def check(self, series: list[Series]) -> Outcome:
        return bound_everywhere(series, fitter=fit_power_law)


class AGDSublinear(Claim):
    """Nesterov's accelerated gradient: ``f(x_k) - f* <= 2 L ||x_0 - x*||^2 / (k + 1)^2``.

    Kind: bound, checked at every iteration on Nesterov's worst-case function of
    dimension ``2K + 1``, where no first-order method can beat ``k^-2`` by more than a
    constant (Nesterov 2018, Thm 2.1.7), so the bound is tight up to its constant.
    Deterministic (one seed).

    Negative control: a broken variant, the same method with its momentum removed
    (plain gradient descent), against the same bound: it must be violated.
    """

    id = "calib.agd_sublinear"
    paper = "Beck & Teboulle 2009"
    theorem = "Thm 4.4"
    statement = "Accelerated gradient with step 1/L has f - f* <= 2 L R^2 / (k+1)^2."
    kind = "bound"
    quantity = "f(x_k) - f*"
    stated = "<= 2 L ||x0 - x*||^2 / (k+1)^2"
    control = "momentum removed (plain GD) against the same bound"
    seeds = quick_seeds = 1
    xscale = "log"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        method = gradient_descent if control else accelerated_gradient
        return _on_worst_case(method, 500 if quick else 1000, lambda k, LR2: 2.0 * LR2 / (k + 1.0) ** 2, seed)

    def check(self, series: list[Series]) -> Outcome:
        return bound_everywhere(series, fitter=fit_power_law)


def _on_worst_case(method, K: int, bound, seed: int) -> Series:
    """``K`` iterations of ``method`` on Nesterov's worst case of dimension ``2K + 1`` from 0;
    ``bound(k, L ||x0 - x*||^2)`` is the stated bound at iteration ``k >= 1``."""
    prob = nesterov_worst_case(2 * K + 1)
    LR2 = prob.constants["L"] * float(prob.x_star @ prob.x_star)
    res = method(prob, np.zeros(prob.dim), max_iter=K, gtol=None)
    k, y = res.trace.iteration[1:], res.trace.gap[1:]
    return Series(k, y, bound=bound(k, LR2), seed=seed, info={"problem": prob.name, "status": str(res.status)})
