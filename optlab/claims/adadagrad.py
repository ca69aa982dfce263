"""Claims of Lau, Liu, Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient
Methods" (arXiv:2402.11215, 2024; Statistical Learning and Data Science 2026).

The experiments are those of the specification ``papers/adadagrad.md`` (Sections 4 and
9) on the synthetic families of :mod:`optlab.problems.stochastic`, run in fast mode
(exact batch-moment sampler), so a batch of ``1e12`` costs ``O(d)``.

The O(1/K) checks (E1, E4) follow the corrected experiment of Section 9: the rate is fitted
only over the steps *before* the batch reaches ``b_max`` (after it, the method is
constant-batch AdaGrad on a plateau set by ``b_max``), and ``min_k ||grad F(x_k)||^2``
before the cap must reach ``eps = 1e-8``. Without that requirement a variant whose batch
stalls near ``5e4`` also passed; here it is a negative control that must fail.

[our choice] The pre-cap window of the adaptive runs is short (the batch reaches
``1e12`` after about 45 steps because the gradient then converges linearly), so the slope
is fitted on 20 log-spaced ``K`` over the last *decade* before the cap (the spec's 1.5
decades reach back to ``K = 1.4``, inside the transient), for every variant alike.
"""

from __future__ import annotations

import math

import numpy as np

from optlab.batching import adagrad, adagrad_norm
from optlab.claims.base import Claim, Outcome, Series
from optlab.problems.stochastic import cosine_quadratic, cosine_quadratic_anisotropic
from optlab.rates import fit_complexity, fit_power_law, fit_seeds

__all__ = ["E1AdaGradNormO1K", "E2TestAccuracy", "E3GrowthLaw", "E4CoordinateTest", "E5SampleEfficiency"]

PAPER = "Lau, Liu, Kolar 2024"
EPS = 1e-8  # min ||grad F||^2 that an O(1/K) run must reach before the cap (spec Section 9.1)
B_MAX = 1e12
STALL = 5e4  # where the broken variant's batch stops growing (spec Section 9)
BAND = (0.9, 1.1)  # exponent p of A_K ~ K^-p (slope in [-1.1, -0.9])
RATIO_MAX = 1.1  # S_K / S_{K/10}: the cumulative sum is bounded

# E1: P-A1 in fast mode (spec Section 4)
_E1 = {"alpha": 5.0, "v_init": 1e-2, "b0": 2, "eta": 0.5}


def _x0(seed: int, d: int = 20) -> np.ndarray:
    """The spec's start ``x0 ~ 3 N(0, I)``, the same for every variant of a seed (Section 9.5)."""
    return 3.0 * np.random.default_rng(10_000 + seed).standard_normal(d)


def _avg_series(res, seed: int, variant: str, b_cap_stated: float) -> Series:
    """``A_K = (1/K) sum_{k<K} ||grad F(x_k)||^2`` for ``K = 1..nit``; ``pre`` = steps before the stated cap."""
    gsq = res.trace.grad_norm[:-1] ** 2  # x_0 .. x_{K-1}, every step recorded
    K = np.arange(1, len(gsq) + 1, dtype=float)
    b = res.trace.batch_size[:-1]
    capped = np.flatnonzero(b >= b_cap_stated)
    pre = int(capped[0]) if capped.size else len(gsq)
    return Series(K, np.cumsum(gsq) / K, seed=seed,
                  info={"variant": variant, "pre": pre, "min_pre": float(gsq[:max(pre, 1)].min()),
                        "k_cap": int(res.k_cap), "samples": float(res.samples), "status": str(res.status)})


def _log_spaced(K_fit: int, decades: float = 1.0, n: int = 20) -> np.ndarray:
    ks = np.unique(np.round(np.logspace(math.log10(K_fit) - decades, math.log10(K_fit), n)).astype(int))
    return ks[ks >= 1]


def _sum_ratio(s: Series) -> float:
    """``S_K / S_{K/10}`` at the seed's own last step before the cap, ``K = pre``."""
    K = s.info["pre"]
    K10 = max(K // 10, 1)
    return float((K * s.y[K - 1]) / (K10 * s.y[K10 - 1]))


def _o1k_variant(group: list[Series]) -> tuple[bool, str, dict]:
    """The O(1/K) check on one variant's seeds (see the module docstring)."""
    K_fit = min(s.info["pre"] for s in group)
    name = group[0].info["variant"]
    min_q9 = float(np.quantile([s.info["min_pre"] for s in group], 0.9))
    if K_fit < 10:
        return False, f"{name}: only {K_fit} steps before the cap", {"K_fit": K_fit}
    M = np.stack([s.y[:K_fit] for s in group])
    ks = _log_spaced(K_fit)
    fits = {q: fit_power_law(ks, curve[ks - 1], floor=0.0, skip=0.0)
            for q, curve in (("median", np.median(M, axis=0)), ("q90", np.quantile(M, 0.9, axis=0)))}
    ratio = float(np.median([_sum_ratio(s) for s in group]))
    per_seed = fit_seeds(fit_power_law, [(ks, s.y[ks - 1]) for s in group], floor=0.0, skip=0.0)
    ok = (all(BAND[0] <= f.value <= BAND[1] for f in fits.values()) and ratio <= RATIO_MAX and min_q9 <= EPS)
    text = (f"{name}: slope median {-fits['median'].value:.3f}, q90 {-fits['q90'].value:.3f} "
            f"(per-seed p {per_seed}) over K in [{ks[0]}, {ks[-1]}]; S_K/S_K/10 {ratio:.3f}; "
            f"q90 of min||grad F||^2 before cap {min_q9:.2g} (eps {EPS:g})")
    numbers = {"slope_median": -fits["median"].value, "slope_q90": -fits["q90"].value, "ratio": ratio,
               "min_gsq_q90": min_q9, "K_fit": K_fit, "p_ci": list(per_seed.ci), "passed": ok}
    return ok, text, numbers


def _o1k_check(series: list[Series]) -> Outcome:
    """Pass iff some variant in the series passes (a control carries its variants in ``info['also']``)."""
    groups: dict[str, list[Series]] = {}
    for s in series:
        for t in [s, *s.info.get("also", [])]:
            groups.setdefault(t.info["variant"], []).append(t)
    results = {name: _o1k_variant(g) for name, g in groups.items()}
    return Outcome(any(r[0] for r in results.values()), "; ".join(r[1] for r in results.values()),
                   numbers={name: r[2] for name, r in results.items()})


class E1AdaGradNormO1K(Claim):
    """AdAdaGradNorm (norm test) reaches a stationary point at rate O(1/K) w.h.p. (C1).

    P-A1 (d = 20, sigma = 1), fast mode, alpha = 5, v_init = 1e-2, b0 = 2, eta = 0.5,
    b_max = 1e12, x0 ~ 3 N(0, I). Quantity: ``A_K = (1/K) sum_{k<K} ||grad F(x_k)||^2``.
    Pass: the exponent of the median and of the 0.9-quantile curve across seeds in
    [0.9, 1.1] (slope in [-1.1, -0.9]) over the last decade before the cap (common to all
    seeds: the shortest pre-cap run sets it), the median over seeds of ``S_K / S_{K/10}`` at
    each seed's last step before its cap <= 1.1 (bounded sum), and the 0.9-quantile over seeds of
    ``min ||grad F||^2`` before the cap <= 1e-8.

    Kind: order (an upper-bound theorem whose constants are not known: the bounded sum
    and the eps requirement carry the check; a slope alone passed a stalled batch).
    The adaptive runs stop at K = 1e3 (quick) / 1e4 (full): the fit window ends at the
    cap (k ~ 45); the controls run K = 5e3 (quick) / 1e5 (full, the spec's K).

    Negative control: two variants, both of which must fail: constant-batch AdaGrad-Norm
    (b = 2, same alpha, v_init, x0; Ward et al.'s O(1/sqrt K) regime) and a broken
    AdAdaGradNorm whose batch stalls at 5e4 (the prototype bug of spec Section 9).
    """

    id = "adadagrad.e1_o1k"
    paper = PAPER
    theorem = "Thm (AdAdaGradNorm, C1)"
    statement = "AdaGrad-Norm with the adaptive norm test converges at rate O(1/K) on smooth nonconvex F."
    kind = "order"
    quantity = "A_K = mean_{k<K} ||grad F(x_k)||^2 before b_k reaches b_max"
    stated = "slope in [-1.1, -0.9] (median, q90), S_K/S_{K/10} <= 1.1, min ||grad F||^2 <= 1e-8"
    control = "constant batch b = 2; batch stalled at 5e4 (both must fail)"
    seeds, quick_seeds = 20, 5
    xscale = "log"
    xlabel = "iterations K"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = cosine_quadratic(20)
        x0 = _x0(seed)
        if not control:
            res = adagrad_norm(prob, x0, batch="norm", b_max=B_MAX, max_iter=1000 if quick else 10_000, seed=seed,
                               **_E1)
            return _avg_series(res, seed, "adaptive norm test", B_MAX)
        K = 5_000 if quick else 100_000
        const = adagrad_norm(prob, x0, batch="constant", max_iter=K, seed=seed, **_E1)
        stall = adagrad_norm(prob, x0, batch="norm", b_max=STALL, max_iter=K, seed=seed, **_E1)
        s = _avg_series(const, seed, "constant b=2", B_MAX)
        s.info["also"] = [_avg_series(stall, seed, "stalled at 5e4", B_MAX)]
        return s

    def check(self, series: list[Series]) -> Outcome:
        return _o1k_check(series)


class E4CoordinateTest(Claim):
    """AdAdaGrad (coordinate-wise AdaGrad with the coordinate-wise norm test) has the O(1/K) rate too (C2).

    P-A2 (anisotropic noise, r_j log-spaced in [0.1, 10]), alpha = 2, v_init = 1e-2,
    b0 = 2, eta = 0.5, b_max = 1e14, K = 2e4 for the control. Same check as E1 (pre-cap
    slope, bounded sum, eps = 1e-8). [our choice] ``b_max = 1e14``: the coordinate-wise test
    concentrates on the noisiest coordinate (r = 10), so with ``1e12`` its cap is reached near
    ``||grad F||^2 ~ 8e-9``, at the stated eps; ``1e14`` puts the floor ``tr Sigma / b_max`` at 3e-12.
    The global norm test on coordinate-wise AdaGrad is reported beside it (``numbers["global_norm"]``), not asserted.

    Kind: order (as E1).

    Negative control: constant-batch AdaGrad (b = 2, same alpha, v_init, x0), which the
    theorem does not cover: O(1/sqrt K) at best.
    """

    id = "adadagrad.e4_coord"
    paper = PAPER
    theorem = "Thm (AdAdaGrad, C2)"
    statement = "Coordinate-wise AdaGrad with the coordinate-wise norm test converges at rate O(1/K)."
    kind = "order"
    quantity = "A_K = mean_{k<K} ||grad F(x_k)||^2 before b_k reaches b_max"
    stated = "slope in [-1.1, -0.9] (median, q90), S_K/S_{K/10} <= 1.1, min ||grad F||^2 <= 1e-8"
    control = "constant-batch AdaGrad (b = 2)"
    seeds, quick_seeds = 20, 5
    xscale = "log"
    xlabel = "iterations K"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = cosine_quadratic_anisotropic(20)
        x0 = _x0(seed)
        opts = {"alpha": 2.0, "v_init": 1e-2, "b0": 2, "eta": 0.5, "seed": seed}
        if control:
            res = adagrad(prob, x0, batch="constant", max_iter=5000 if quick else 20_000, **opts)
            return _avg_series(res, seed, "constant b=2", B_MAX)
        res = adagrad(prob, x0, batch="coord_norm", b_max=1e14, max_iter=1000, **opts)
        s = _avg_series(res, seed, "coordinate-wise test", 1e14)
        glob = adagrad(prob, x0, batch="norm", b_max=1e14, max_iter=1000, **opts)
        s.info["global_norm"] = _avg_series(glob, seed, "global norm test", 1e14)
        return s

    def check(self, series: list[Series]) -> Outcome:
        out = _o1k_check(series)
        if "global_norm" in series[0].info:
            _, text, numbers = _o1k_variant([s.info["global_norm"] for s in series])
            out.fitted += f"; [reported] {text}"
            out.numbers["global_norm"] = numbers
        return out


class E2TestAccuracy(Claim):
    """The norm test's estimate b_hat tracks the exact batch size b* = tr Sigma / (eta^2 ||grad F(x_k)||^2).

    P-A1 runs of E1 (fast mode). At every step with ``32 <= b_k < b_max / 100``, the ratio
    ``b_hat_k / b*_k`` at the same ``x_k``; pass iff its median over steps and seeds is in
    [0.4, 1.5] (below 1 because ``E ||g||^2 = ||grad F||^2 + tr Sigma / b`` inflates the
    denominator). Reported, not asserted: the fraction of steps where the exact test
    ``tr Sigma / b_k <= eta^2 ||grad F(x_k)||^2`` held (one-step lag).

    Kind: comparison (estimate against the closed-form exact value, within a factor).

    Negative control: a broken estimator from the same statistics that uses the variance
    of the batch mean, ``sum_j V_j / b``, in place of the per-sample variance (a standard
    error mistaken for a standard deviation): its ratio must leave the band.
    """

    id = "adadagrad.e2_test_accuracy"
    paper = PAPER
    theorem = "Sec 2 (norm test), spec E2"
    statement = "The practical norm test estimates the exact test's batch size within a small factor."
    kind = "comparison"
    quantity = "b_hat_k / b*_k at x_k, 32 <= b_k < b_max/100"
    stated = "median in [0.4, 1.5]"
    control = "sum_j V_j / b (variance of the mean) in place of sum_j V_j"
    seeds, quick_seeds = 20, 5
    xscale = "log"
    xlabel = "batch size b_k"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = cosine_quadratic(20)
        res = adagrad_norm(prob, _x0(seed), batch="norm", b_max=B_MAX, max_iter=200, seed=seed, **_E1)
        tr = res.trace
        gsq = tr.grad_norm**2
        b_star = prob.noise_trace(_x0(seed)) / (_E1["eta"] ** 2 * gsq)  # tr Sigma = sigma^2 d, constant on P-A1
        m = (tr.batch_size >= 32) & (tr.batch_size < B_MAX / 100) & np.isfinite(tr.b_hat)
        b_hat = tr.b_hat / tr.batch_size if control else tr.b_hat
        held = float(np.mean(prob.noise_trace(_x0(seed)) / tr.batch_size[m] <= _E1["eta"] ** 2 * gsq[m]))
        return Series(tr.batch_size[m], b_hat[m] / b_star[m], seed=seed, info={"exact_test_held": held})

    def check(self, series: list[Series]) -> Outcome:
        ratios = np.concatenate([s.y for s in series])
        if ratios.size == 0:
            return Outcome(False, "no step with 32 <= b < b_max/100")
        med = float(np.median(ratios))
        q = np.quantile(ratios, [0.1, 0.9])
        held = float(np.mean([s.info["exact_test_held"] for s in series]))
        ok = 0.4 <= med <= 1.5
        return Outcome(ok, f"median b_hat/b* = {med:.3g} (10-90%: {q[0]:.3g}-{q[1]:.3g}, {ratios.size} steps); "
                           f"exact test held on {100 * held:.0f}% of steps [reported]",
                       numbers={"median": med, "q10": float(q[0]), "q90": float(q[1]), "exact_test_held": held})


class E3GrowthLaw(Claim):
    """Under the norm test the batch grows as the squared gradient shrinks: b_k ~ 1/||grad F(x_{k-1})||^2.

    P-A1 runs of E1. Over the steps before the cap where ``b_k`` increased, the slope of
    ``log b_k`` against ``log(1/||grad F(x_{k-1})||^2)`` (``fit_complexity``, per seed, median with a
    bootstrap interval) must lie in [0.8, 1.2]; ``b_k`` must be non-decreasing and ``<= b_max``.

    Kind: order (a fitted exponent in a band).

    Negative control: a linear ramp ``b_{k+1} = b_k + 1e4`` (a schedule blind to the
    gradient): its slope falls below the band.
    """

    id = "adadagrad.e3_growth"
    paper = PAPER
    theorem = "Sec 4 (batch growth, derived)"
    statement = "The adaptive batch grows inversely to the squared gradient norm, never decreasing, capped at b_max."
    kind = "order"
    quantity = "slope of log b_k vs log(1/||grad F(x_{k-1})||^2)"
    stated = "in [0.8, 1.2]; b_k non-decreasing and <= b_max"
    control = "linear ramp +1e4 per step"
    seeds, quick_seeds = 20, 5
    xscale = "log"
    xlabel = "1/||grad F(x_{k-1})||^2"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = cosine_quadratic(20)
        if control:
            res = adagrad_norm(prob, _x0(seed), batch="linear", ramp=10_000, b_max=B_MAX, max_iter=2000, seed=seed,
                               **_E1)
        else:
            res = adagrad_norm(prob, _x0(seed), batch="norm", b_max=B_MAX, max_iter=200, seed=seed, **_E1)
        b = res.trace.batch_size[:-1]
        gsq = res.trace.grad_norm[:-1] ** 2
        pre = res.k_cap if res.k_cap > 0 else len(b)
        k = np.flatnonzero(np.diff(b[:pre]) > 0) + 1  # steps where b_k > b_{k-1}, before the cap
        monotone = bool(np.all(np.diff(b) >= 0) and np.all(b <= B_MAX))
        return Series(1.0 / gsq[k - 1], b[k], seed=seed, info={"monotone": monotone})

    def check(self, series: list[Series]) -> Outcome:
        try:
            fit = fit_seeds(fit_complexity, [(1.0 / s.k, s.y) for s in series])
        except ValueError as e:
            return Outcome(False, f"no fit: {e}")
        monotone = all(s.info["monotone"] for s in series)
        ok = bool(0.8 <= fit.ci[0] and fit.ci[1] <= 1.2 and monotone)
        return Outcome(ok, f"slope = {fit}; non-decreasing and <= b_max: {monotone}", fit=fit,
                       numbers={"slope": fit.value, "ci": list(fit.ci), "per_seed": list(fit.per_seed),
                                "monotone": monotone})


class E5SampleEfficiency(Claim):
    """No loss in sample efficiency: min_k ||grad F(x_k)||^2 falls at least like n^(-1/2) in the samples n used.

    P-A1 runs of E1. Before the cap, ``min_{j<=k} ||grad F(x_j)||^2`` against the samples
    ``n_k = sum_{j<k} b_j`` used to reach ``x_k``; the exponent ``p`` of ``n^-p`` is fitted
    per seed over the last 1.5 decades of samples (median with a bootstrap interval) and
    must lie in [0.45, 1.3]. The lower end is the claim: SGD's worst case 1/2 (O(eps^-2)
    samples for ``||grad F||^2 <= eps``); the upper end is a sanity bound [our choice]: under
    the exact test ``||grad F||^2 >~ tr Sigma / (eta^2 n)``, so p <= 1 asymptotically, plus room
    for the scatter of 20-point windows (per-seed p 0.8-1.1 measured). (A_K is not used: it
    flattens once b grows.)

    Kind: order.

    Negative control: the batch stalled at 5e4 (spec Section 9): samples keep being spent
    while the gradient norm plateaus, so the exponent falls below 1/2.
    """

    id = "adadagrad.e5_samples"
    paper = PAPER
    theorem = "Sec 4 (sample complexity, derived)"
    statement = "Adaptive batches need no more samples than SGD's O(eps^-2) to reach ||grad F||^2 <= eps."
    kind = "order"
    quantity = "min_{j<=k} ||grad F(x_j)||^2 vs samples n_k, before the cap"
    stated = "n^-p with p in [0.45, 1.3]"
    control = "batch stalled at 5e4"
    seeds, quick_seeds = 20, 5
    xscale = "log"
    xlabel = "samples used n_k"

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        prob = cosine_quadratic(20)
        cap = STALL if control else B_MAX
        res = adagrad_norm(prob, _x0(seed), batch="norm", b_max=cap, max_iter=(5000 if quick else 20_000)
                           if control else 200, seed=seed, **_E1)
        tr = res.trace
        pre = res.k_cap if (res.k_cap > 0 and not control) else len(tr.samples) - 1
        mins = np.minimum.accumulate(tr.grad_norm[:pre] ** 2)
        return Series(tr.samples[1:pre], mins[1:pre], seed=seed, info={"k_cap": int(res.k_cap)})

    def check(self, series: list[Series]) -> Outcome:
        def fitter(n, y):
            return fit_power_law(n, y, floor=0.0, window=(n[-1] / 10**1.5, n[-1]))

        try:
            fit = fit_seeds(fitter, [(s.k, s.y) for s in series])
        except ValueError as e:
            return Outcome(False, f"no fit: {e}")
        ok = bool(0.45 <= fit.ci[0] and fit.ci[1] <= 1.3)
        return Outcome(ok, f"p = {fit}", fit=fit,
                       numbers={"p": fit.value, "ci": list(fit.ci), "per_seed": list(fit.per_seed)})
