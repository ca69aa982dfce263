"""Claims of Hao, Gong, Liu, "Bilevel Optimization under Unbounded Smoothness", ICLR 2024 (arXiv:2401.09587).

Spec ``shared/papers/bo_rep.md`` sections 4 and 10. The E1 instance follows section 10: one
fixed P1 instance (dx = dy = 4) for every seed, redrawn until ``||A^{-1} B||^2 >= 1.5``;
``sigma_f = sigma_g = sigma_H = 0.3``; theory mode with the nominal ``mu = 1``, ``l_g1 = 10``;
``x0 = 1.5 N(0, I)`` redrawn until ``||grad Phi(x0)|| > 1``; the same seeds (x0 and oracle
streams) at every eps. ``C(eps)`` is the number of oracle calls (refinement included) until the
running mean ``(1/(t+1)) sum_{s<=t} ||grad Phi(x_s)||`` first reaches eps; the cap counts
iterations (``2e4 eps^-4``) and a capped run counts as a failure.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from optlab.bilevel import bo_rep, bo_rep_theory, soba, stocbio, theory_parameters
from optlab.claims.base import Claim, Outcome, Series
from optlab.claims.checks import bound_everywhere
from optlab.problems.bilevel import QuadraticLowerBilevel, bilevel_p1, bilevel_p2
from optlab.rates import bootstrap_ci, fit_complexity, fit_power_law

__all__ = ["Anytime", "Envelope", "EpsScaling", "PeriodicUpdates", "Robustness", "Tracking"]

PAPER = "Hao, Gong, Liu, ICLR 2024"
SIGMA = 0.3
NOMINAL = {"mu": 1.0, "l_g1": 10.0}
E1_BAND = (3.5, 4.7)
E1_SPREAD = 3.0


def e1_problem(sigma: float = SIGMA) -> QuadraticLowerBilevel:
    """The fixed E1 instance (P1, dx = dy = 4, ``||A^{-1} B||^2 >= 1.5``)."""
    return bilevel_p1(4, 4, seed=0, sigma=sigma, min_norm_m2=1.5)


def e1_start(prob: QuadraticLowerBilevel, seed: int) -> np.ndarray:
    """``x0 = 1.5 N(0, I)`` from the seed's own stream, redrawn until ``||grad Phi(x0)|| > 1``."""
    rng = np.random.default_rng(10_000 + seed)
    while True:
        x0 = 1.5 * rng.standard_normal(prob.dx)
        if np.linalg.norm(prob.grad(x0)) > 1.0:
            return x0


def calls_to_eps(prob: QuadraticLowerBilevel, x0: np.ndarray, eps: float, seed: int, **overrides) -> float:
    """``C(eps)``: oracle calls until the running mean of ``||grad Phi||`` reaches eps; ``inf`` at the cap."""
    r = bo_rep_theory(prob, x0, eps, seed=seed, record_every=10**6, **NOMINAL, **overrides)
    return float(r.trace.calls[-1]) if r.status == "converged" else math.inf


class EpsScaling(Claim):
    """E1: oracle calls to an eps-stationary point scale as eps^-4 (Theorem 1, O~(eps^-4)).

    Kind: order. Slope of ``log C`` vs ``log(1/eps)`` for the median ``C`` over seeds (the same seeds
    at every eps), with a bootstrap interval over the per-seed slopes; pass iff the median-curve
    slope and the interval lie in [3.5, 4.7], ``C eps^4`` (medians) varies by at most 3x, and no run
    hits the cap. An O~ upper bound is checked as an order because theory mode ties every parameter
    to eps, which makes the cost of the method itself scale as eps^-4.
    Full: eps in {1, 0.8, 0.64, 0.5, 0.35}, 10 seeds; quick: eps down to 0.5, 10 seeds.

    Negative control: the lower level never updated (``N = 0``: no refinement, no periodic update);
    its hypergradient is biased, the average stalls near 0.8 and the run hits the cap (at eps = 0.8
    on this instance), which the check rejects.
    """

    id = "borep.e1_eps_scaling"
    paper = PAPER
    theorem = "Thm 1 (O~(eps^-4) oracle complexity)"
    statement = "BO-REP reaches (1/T) sum ||grad Phi(x_t)|| <= eps with O~(eps^-4) stochastic oracle calls."
    kind = "order"
    quantity = "C(eps): oracle calls until the running mean of ||grad Phi|| <= eps (median over seeds)"
    stated = f"slope of log C vs log(1/eps) in {list(E1_BAND)}, C eps^4 within {E1_SPREAD:g}x, no run capped"
    control = "N = 0 (lower level never updated)"
    seeds, quick_seeds = 10, 10
    xscale = "log"
    xlabel = "1/eps"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = e1_problem()
        x0 = e1_start(prob, seed)
        grid = (1.0, 0.8, 0.64, 0.5) if quick else (1.0, 0.8, 0.64, 0.5, 0.35)
        kw = {"n_lower": 0} if control else {}
        C = [calls_to_eps(prob, x0, e, seed, **kw) for e in grid]
        return Series(1.0 / np.array(grid), np.array(C), seed=seed, info={"eps": list(grid)})

    def check(self, series: list[Series]) -> Outcome:
        return scaling_check(series, E1_BAND, E1_SPREAD)


def scaling_check(series: list[Series], band: tuple[float, float], spread_max: float) -> Outcome:
    eps = 1.0 / series[0].k
    C = np.array([s.y for s in series])
    capped = int(np.sum(~np.isfinite(C)))
    med = np.median(C, axis=0)
    numbers = {"eps": eps.tolist(), "median_C": med.tolist(), "capped_runs": capped}
    if capped:
        first = eps[np.argmax(~np.isfinite(C).any(0))]
        return Outcome(False, f"{capped} runs hit the iteration cap (first at eps={first:g})", numbers=numbers)
    fit = fit_complexity(eps, med)
    per_seed = [fit_complexity(eps, c).value for c in C]
    ci = bootstrap_ci(per_seed)
    ce4 = med * eps**4
    spread = float(ce4.max() / ce4.min())
    ok = bool(band[0] <= fit.value <= band[1] and band[0] <= ci[0] and ci[1] <= band[1] and spread <= spread_max)
    numbers.update(slope=fit.value, ci=list(ci), per_seed=per_seed, C_eps4=ce4.tolist(), spread=spread)
    return Outcome(ok, f"s = {fit.value:.3g} (seeds: [{ci[0]:.3g}, {ci[1]:.3g}]); C eps^4 = {ce4.min():.3g}.."
                       f"{ce4.max():.3g} (spread {spread:.2f}x)", fit=fit, numbers=numbers)


class PeriodicUpdates(Claim):
    """E2b: ablation: without periodic lower-level updates the average stalls (spec section 10, item 8).

    Kind: comparison of BO-REP with its ablation on the E1 instance at eps = 0.5 (theory mode):
    BO-REP must reach the target before the cap on every seed.

    Negative control: ``I = T`` (refinement only, no periodic update): y stays at y*(x0) while x
    moves, the hypergradient is biased and the run hits the cap; the same check must fail.
    """

    id = "borep.e2b_ablation"
    paper = PAPER
    theorem = "Algorithm 1 (periodic updates), Thm 1"
    statement = "Periodic lower-level updates are needed: with I = T the running mean stalls above eps."
    kind = "comparison"
    quantity = "C(0.5) per seed (inf at the iteration cap)"
    stated = "finite C(0.5) on every seed"
    control = "I = T (only the initialization refinement updates y)"
    seeds, quick_seeds = 10, 5
    xlabel = "seed"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = e1_problem()
        kw = {"period": 10**9} if control else {}
        C = calls_to_eps(prob, e1_start(prob, seed), 0.5, seed, **kw)
        return Series([float(seed)], [C], seed=seed)

    def check(self, series: list[Series]) -> Outcome:
        C = np.array([s.y[0] for s in series])
        capped = int(np.sum(~np.isfinite(C)))
        return Outcome(capped == 0, f"{capped}/{len(C)} runs capped; C(0.5) eps^4 median "
                       f"{np.median(C) * 0.5**4:.3g}", numbers={"C": C.tolist(), "capped": capped})


def e2_params(T: int) -> dict:
    """E2's anytime schedule (spec section 4): eta = T^-3/4, 1 - beta = T^-1/2, I = ceil(T^1/2),
    gamma = 0.05 T^-1/4, N = ceil(3 / (gamma mu)), nu = 0.05, refinement 4N steps."""
    gamma = 0.05 * T ** -0.25
    n = math.ceil(3.0 / gamma)
    return {"eta": T ** -0.75, "beta": 1.0 - T ** -0.5, "period": math.ceil(T**0.5), "gamma": gamma, "n_lower": n,
            "nu": 0.05, "max_iter": T, "refine": "sgd", "refine_steps": 4 * n}


class Anytime(Claim):
    """E2: the anytime average decreases with the budget, noisy and noiseless alike.

    Kind: order. For T on a log grid with the schedule of :func:`e2_params`, the median over seeds
    of ``(1/T) sum_t ||grad Phi(x_t)||`` against total oracle calls, fitted as a power law
    ``calls^-p``; pass iff ``p >= 0.17`` (interval over seeds) and the sigma = 0.3 and sigma = 0
    medians are within 25% at every T. The exponent is mostly imposed by ``eta ~ T^-3/4``.

    Set-up: P1 with dx = dy = 10, one instance per seed (``bilevel_p1(10, 10, seed=seed)``), the
    set-up of the spec's prototype whose curves were within 5%; ``x0`` as in E1.

    Why not the E1 instance (d = 4, one instance, ``||A^{-1} B||^2 >= 1.5``): there the gap does not
    close, and reaches 26.5% at T = 1e5 (8.5, 16, 19.5, 24% at T = 1e3..3e4; an independent NumPy
    loop written from the spec gives 9, 15, 22, 24, 27%; the Numba and generic paths agree to 1e-15).
    Mechanism: with this schedule the noiseless average is about ``Delta T^-1/4`` (normalized
    descent, ``sum eta ||grad Phi|| ~ Phi(x_0) - Phi*``; measured ``T^1/4`` times the median: 4.80,
    4.53, 4.51 at 1e3, 1e5, 1e6, with ``Delta`` = 4.5), while the noisy run ends in a floor
    ``c(sigma) T^-1/4`` (the momentum noise stays correlated for ``1 / (1 - beta) = T^1/2`` steps of
    length ``T^-3/4``; ``c(0.3) = 1.52`` measured from x*). Both scale alike, so the relative gap
    tends to ``c(sigma) / Delta`` (about 0.34 there) instead of closing; per seed it tracks
    ``1 / Delta`` (3% at Delta = 31, 43% at Delta = 2.8). The 25% criterion therefore holds only
    where the initial suboptimality is large against the noise floor, as on the prototype's set-up.
    ``optlab.claims.borep.Anytime(instance="e1")`` runs the E1-instance variant for comparison.

    Negative control: N = 0 (lower level never updated): the average plateaus (p near 0).
    """

    id = "borep.e2_anytime"
    paper = PAPER
    theorem = "Thm 1 (anytime form)"
    statement = "With T-dependent parameters the mean gradient norm decreases as a power of the oracle budget."
    kind = "order"
    quantity = "(1/T) sum_t ||grad Phi(x_t)|| vs total oracle calls"
    stated = "p >= 0.17 for calls^-p; noisy within 25% of noiseless"
    control = "N = 0 (lower level never updated)"
    seeds, quick_seeds = 5, 3
    xscale = "log"
    xlabel = "oracle calls"

    def __init__(self, instance: str = "p1_d10") -> None:
        if instance not in ("p1_d10", "e1"):
            raise ValueError(f"instance must be 'p1_d10' or 'e1', got {instance!r}")
        self.instance = instance

    def problem(self, seed: int, sigma: float) -> QuadraticLowerBilevel:
        """The seed's instance: P1 with d = 10 drawn from the seed, or the fixed E1 instance."""
        return e1_problem(sigma) if self.instance == "e1" else bilevel_p1(10, 10, seed=seed, sigma=sigma)

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        Ts = (1000, 3000, 10_000, 30_000) if quick else (1000, 3000, 10_000, 30_000, 100_000)
        x0 = e1_start(self.problem(seed, SIGMA), seed)
        out = {}
        for sigma in (SIGMA, 0.0):
            prob = self.problem(seed, sigma)
            calls, avg = [], []
            for T in Ts:
                p = e2_params(T)
                if control:
                    p.update(n_lower=0, refine_steps=0)
                r = bo_rep(prob, x0, seed=seed, track_every_iter=True, record_every=T, **p)
                calls.append(float(r.trace.calls[-1]))
                avg.append(float(r.trace.avg_grad_norm[-1]))
            out[sigma] = (np.array(calls), np.array(avg))
        return Series(out[SIGMA][0], out[SIGMA][1], seed=seed, info={"noiseless": out[0.0][1].tolist(),
                                                                     "T": list(Ts)})

    def check(self, series: list[Series]) -> Outcome:
        k = np.median([s.k for s in series], axis=0)
        noisy = np.median([s.y for s in series], axis=0)
        clean = np.median([s.info["noiseless"] for s in series], axis=0)
        fits = [fit_power_law(s.k, s.y, skip=0.0) for s in series]
        p = fit_power_law(k, noisy, skip=0.0)
        ci = bootstrap_ci([f.value for f in fits])
        rel = float(np.max(np.abs(noisy / clean - 1.0)))
        ok = bool(p.value >= 0.17 and ci[0] >= 0.17 and rel <= 0.25)
        return Outcome(ok, f"p = {p.value:.3g} (seeds [{ci[0]:.3g}, {ci[1]:.3g}]); "
                           f"max |noisy/noiseless - 1| = {rel:.3g}",
                       fit=p, numbers={"p": p.value, "ci": list(ci), "max_rel_gap": rel, "median_noisy": noisy.tolist(),
                                       "median_noiseless": clean.tolist(), "calls": k.tolist()})


class Tracking(Claim):
    """E3: the lower-level and auxiliary tracking errors stay O(eps) along the run (C2, probability 1 - delta).

    Kind: bound. Theory mode on the E1 instance at eps in {1, 0.5} (full: also 0.64, 0.35), run to
    the target or to 2e4 iterations, errors recorded every 10 iterations. Per seed:

    - ``max_t ||y_t - y*(x_t)|| / eps`` over the whole run (``y_t`` as used at iteration t, stale
      between periodic updates);
    - ``max_{t >= t_b} ||z_t - z*(x_t)|| / eps`` with ``z*(x) = [Hess_yy g]^{-1} grad_y f(x, y*(x))``
      (the auxiliary of the exact hypergradient, trace field ``z_err_ystar``) after the burn-in
      ``t_b = ceil(3 / (nu mu))`` (``nu`` the theory-mode z-step, nominal ``mu = 1``: 60 iterations
      on this grid), the z analogue of ``N = ceil(3 / (gamma mu))``: ``z_0 = 0`` starts
      ``||z*|| <= l_f0 / mu = 2`` away and the noiseless recursion shrinks that by ``e^-3`` in
      ``t_b`` steps.

    Pass iff at every eps the 90% quantiles over seeds (delta = 0.1) are at most ``c_y = 0.3``
    and ``c_z = 1.0``. Measured (10 seeds, full grid 1, 0.64, 0.5, 0.35): y 0.15-0.17 eps; z 0.30,
    0.40, 0.50, 0.73 eps. The z error is an eps-independent noise floor of about 0.25-0.3 on this
    grid, because theory mode's ``nu = min(0.5 / l_g1, 0.5 eps^2)`` is 0.05 for every eps >= 0.32
    (the floor scales as ``sqrt(nu) sigma``); it becomes O(eps) only where ``nu = 0.5 eps^2``, so
    ``c_z = 1`` would not hold far below eps = 0.3 unchanged, and the grid stops at 0.35.

    Negative control: ``I = T`` (no periodic update): y* moves with x and y does not follow
    (y: 3.5-14 eps), and z tracks the stale ``z*(x, y)`` instead of ``z*(x)`` (z: 2.3-6.6 eps).
    """

    id = "borep.e3_tracking"
    paper = PAPER
    theorem = "Lemma (lower-level tracking, C2)"
    statement = "BO-REP keeps ||y_t - y*(x_t)|| and ||z_t - z*(x_t)|| = O(eps) along the run with high probability."
    kind = "bound"
    quantity = ("per seed max_t ||y_t - y*(x_t)|| / eps and max_{t >= ceil(3/(nu mu))} ||z_t - z*(x_t)|| / eps; "
                "90% quantiles over seeds")
    stated = "y: <= 0.3; z (after the burn-in): <= 1.0"
    control = "I = T (refinement only)"
    seeds, quick_seeds = 10, 5
    C_BOUND = 0.3
    C_Z = 1.0
    MAX_ITER = 20_000
    RECORD = 10

    @staticmethod
    def burn_in(prob: QuadraticLowerBilevel, eps: float) -> int:
        """``t_b = ceil(3 / (nu mu))`` with the theory-mode ``nu`` of :func:`bo_rep_theory` and nominal ``mu``."""
        c = prob.constants
        nu = theory_parameters(eps, L0=c["L0"], L1=c["L1"], **NOMINAL, sigma2_h=c["sigma_f"] ** 2 * (prob.dx + prob.dy),
                               sigma_g=c["sigma_g"])["nu"]
        return math.ceil(3.0 / (nu * NOMINAL["mu"]))

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = e1_problem()
        x0 = e1_start(prob, seed)
        grid = (1.0, 0.5) if quick else (1.0, 0.64, 0.5, 0.35)
        worst, zw, tb = [], [], []
        for eps in grid:
            kw = {"period": 10**9} if control else {}
            r = bo_rep_theory(prob, x0, eps, seed=seed, record_every=self.RECORD, max_iter=self.MAX_ITER, **NOMINAL,
                              **kw)
            worst.append(float(np.max(r.trace.y_err)) / eps)
            t_b = self.burn_in(prob, eps)
            after = np.asarray(r.trace.iteration) >= t_b
            zw.append(float(np.max(np.asarray(r.trace.z_err_ystar)[after])) / eps if after.any() else math.nan)
            tb.append(t_b)
        return Series(np.array(grid), np.array(worst), seed=seed, info={"z_worst_over_eps": zw, "burn_in": tb})

    def check(self, series: list[Series]) -> Outcome:
        W = np.array([s.y for s in series])
        Z = np.array([s.info["z_worst_over_eps"] for s in series])
        q = np.quantile(W, 0.9, axis=0)
        qz = np.quantile(Z, 0.9, axis=0)  # NaN (a run shorter than the burn-in) fails the check
        ok = bool(np.all(q <= self.C_BOUND) and np.all(qz <= self.C_Z))
        return Outcome(ok, f"90% quantiles: max_t ||y - y*||/eps = {np.round(q, 3).tolist()} (bound {self.C_BOUND}); "
                           f"max_(t>=t_b) ||z - z*||/eps = {np.round(qz, 3).tolist()} (bound {self.C_Z}, "
                           f"t_b = {series[0].info['burn_in']})",
                       numbers={"eps": series[0].k.tolist(), "q90": q.tolist(), "z_q90": qz.tolist(),
                                "burn_in": series[0].info["burn_in"]})


class Envelope(Claim):
    """E4: Phi is (L0, L1)-smooth with unbounded Hessian: ``||Hess Phi|| <= L0 + L1 ||grad Phi||``.

    Kind: bound, with the constants of the family (``L1 = 1``, ``L0 = 5.079 + ||M||^2 +
    sqrt(dy) ||M||``, ``M = A^{-1} B``, see :class:`~optlab.problems.bilevel.QuadraticLowerBilevel`)
    at random ``x ~ 3 N(0, I)`` on the E1 instance (full 1e4 points, quick 2000); also
    ``max ||Hess Phi|| >= 10 L0`` must hold (no global Lipschitz constant of grad Phi on the sample).

    Negative control: bounded smoothness ``||Hess Phi|| <= L0`` (``L1 = 0``), which the sample violates.
    """

    id = "borep.e4_envelope"
    paper = PAPER
    theorem = "Lemma ((L0, L1)-smoothness of Phi under A1-A2)"
    statement = "The hyperobjective's Hessian norm is bounded by an affine function of its gradient norm only."
    kind = "bound"
    quantity = "||Hess Phi(x)||_2 at random x, sorted by ||grad Phi(x)||"
    stated = "<= L0 + L1 ||grad Phi(x)|| with L1 = 1, L0 = 5.079 + ||M||^2 + sqrt(dy)||M||; max >= 10 L0"
    control = "L1 = 0 (bounded smoothness)"
    seeds, quick_seeds = 1, 1
    xscale = "log"
    xlabel = "||grad Phi(x)||"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = e1_problem()
        X = 3.0 * np.random.default_rng(seed).standard_normal((2000 if quick else 10_000, prob.dx))
        g = np.array([np.linalg.norm(prob.grad(x)) for x in X])
        H = np.array([prob.hess(x) for x in X])
        h = np.max(np.abs(np.linalg.eigvalsh(H)), axis=1)
        L0, L1 = prob.constants["L0"], 0.0 if control else prob.constants["L1"]
        o = np.argsort(g)
        return Series(g[o], h[o], bound=L0 + L1 * g[o], seed=seed, info={"L0": L0, "L1": L1})

    def check(self, series: list[Series]) -> Outcome:
        out = bound_everywhere(series)
        L0 = series[0].info["L0"]
        hmax = float(max(s.y.max() for s in series))
        out.passed = bool(out.passed and hmax >= 10 * L0)
        out.fitted = f"{out.fitted}; max ||Hess Phi|| = {hmax:.3g} = {hmax / L0:.3g} L0"
        out.numbers.update(hess_max=hmax, L0=L0, L1=series[0].info["L1"])
        return out


class Robustness(Claim):
    """E5: on P2 (cosh upper level) from x0 = 8 * 1, BO-REP stays finite while StocBiO and SOBA diverge.

    Kind: comparison. P2 with dx = dy = 4, sigma = 0.1. StocBiO's and SOBA's step is the best of
    {0.01, 0.03, 0.1, 0.3} from x0 = 0 (smallest mean ||grad Phi|| over 300 iterations); BO-REP
    (practical mode: eta = 0.05, beta = 0.9, I = 2, N = 5) runs 2000 iterations (quick: 500). Pass iff
    BO-REP ends finite (status not ``diverged``) and both baselines end ``diverged``.

    Negative control: BO-REP without the step normalization (``x - eta m``, the same momentum):
    the exponential gradient at x0 throws it to overflow, so the check must fail.
    """

    id = "borep.e5_robustness"
    paper = PAPER
    theorem = "Sec. 1 / experiments (robustness under unbounded smoothness)"
    statement = "Normalized BO-REP stays finite on an exponentially growing upper level where StocBiO and SOBA diverge."
    kind = "comparison"
    quantity = "status of BO-REP, StocBiO, SOBA from x0 = 8 * 1 on P2"
    stated = "BO-REP finite; StocBiO and SOBA diverged"
    control = "BO-REP without normalization (normalize=False)"
    seeds, quick_seeds = 3, 2
    xlabel = "method (BO-REP, StocBiO, SOBA)"
    STEPS = (0.01, 0.03, 0.1, 0.3)

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = bilevel_p2(4, 4, seed=0, sigma=0.1)
        x_far, x_zero = 8.0 * np.ones(4), np.zeros(4)
        best = {}
        for name, method in (("stocbio", stocbio), ("soba", soba)):
            scores = [float(method(prob, x_zero, lr=a, max_iter=300, seed=seed, record_every=300,
                                   track_every_iter=True).trace.avg_grad_norm[-1]) for a in self.STEPS]
            best[name] = self.STEPS[int(np.nanargmin(scores))]
        T = 500 if quick else 2000
        b = bo_rep(prob, x_far, eta=0.05, beta=0.9, period=2, n_lower=5, max_iter=T, seed=seed, record_every=50,
                   normalize=not control)
        with warnings.catch_warnings():  # the baselines are expected to blow up here: their status says so
            warnings.simplefilter("ignore", RuntimeWarning)
            st = stocbio(prob, x_far, lr=best["stocbio"], max_iter=T, seed=seed, record_every=10)
            so = soba(prob, x_far, lr=best["soba"], max_iter=T, seed=seed, record_every=10)
        statuses = [str(b.status), str(st.status), str(so.status)]
        return Series([0.0, 1.0, 2.0], [float(b.trace.grad_norm[-1]), float(st.trace.grad_norm[-1]),
                                        float(so.trace.grad_norm[-1])], seed=seed,
                      info={"status": statuses, "steps": best})

    def check(self, series: list[Series]) -> Outcome:
        ok = all(s.info["status"][0] != "diverged" and s.info["status"][1:] == ["diverged", "diverged"] for s in series)
        return Outcome(ok, "; ".join(f"seed {s.seed}: {'/'.join(s.info['status'])} (steps {s.info['steps']})"
                                     for s in series),
                       numbers={"status": [s.info["status"] for s in series],
                                "steps": [s.info["steps"] for s in series]})
