"""Online loss sequences of the stochastically extended adversarial (SEA) model with exact sigma and Sigma.

Reference: S. Chen, Y.-J. Zhang, W.-W. Tu, P. Zhao, L. Zhang, "Optimistic Online Mirror Descent for
Bridging Stochastic and Adversarial Online Convex Optimization", ICML 2023 / JMLR 25(178) 2024
(arXiv:2302.04552); spec ``shared/papers/optimistic_omd.md`` sections 1 and 4.

An :class:`OnlineProblem` is a whole sequence ``f_1 .. f_T`` drawn once (fixed seed) and stored compactly, so
every learner sees the same losses (common random numbers). Two kinds of loss:

``"linquad"`` (on the ball ``B(0, R)``)
    ``f_t(x) = <c_t, x> + (k_t/2) ||x||^2`` with ``c_t = a_t mu_{j_t} + s eps_t``: a mean vector ``mu_j`` (a
    few distinct ones, picked per round by ``mean_idx``) times a sign ``a_t = +-1``, Rademacher noise
    ``eps_t`` in ``{-1, +1}^d`` stored as packed bits (bit ``i`` of word ``i // 64`` of row ``t``; set means
    ``+1``), and a curvature ``k_t = kappa + omega_t``. The expected loss is
    ``F_t(x) = a_t <mu_{j_t}, x> + (kappa/2) ||x||^2`` (``E eps = 0``, ``E omega = 0``).
``"portfolio"`` (on the simplex)
    ``f_t(x) = -log <r_{j_t}, x>`` with ``r_j`` one of a few return vectors in ``[0.5, 1.5]^d``, and
    ``F_t(x) = -sum_k W[l_t, k] log <r_k, x>`` (the law of round ``t``).

Each problem carries the exact per-round ``sigma_t^2`` and Sigma increments (``sigma2_round``,
``Sigma2_round``, with ``grad F_0 = 0``) where the sup over ``X`` is analytic (every ``"linquad"``
family), the comparator ``u* = argmin_X sum_t F_t`` in closed form, and for the dynamic family the per-round
minimizers ``u_t``. The learners of :mod:`optlab.online` read the arrays of :attr:`OnlineProblem.stream`; the
oracles :meth:`OnlineProblem.grad`, :meth:`OnlineProblem.loss` and :meth:`OnlineProblem.expected_loss` are
written separately here (in the namespace of ``x``) so tests can check the learners' reading of the stream
against them. No problem imports a method.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import namespace

__all__ = [
    "SCHEDULES",
    "OnlineProblem",
    "ball_argmin",
    "dynamic_family",
    "family_a",
    "portfolio_family",
    "rademacher_bits",
    "strongly_convex_family",
    "unpack_signs",
]

SCHEDULES = ("hidden_sign", "random_signs", "alternating", "mixture", "switches", "corrupted", "nonconvex")


def _check_int(value: Any, name: str, lo: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _check_nonneg(value: Any, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return v


def _check_pos(value: Any, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v


def rademacher_bits(rng: np.random.Generator, T: int, d: int) -> np.ndarray:
    """``T x ceil(d/64)`` uint64 words of fair random bits (the signs ``eps_t`` of :func:`unpack_signs`)."""
    words = (d + 63) // 64
    return rng.integers(0, np.iinfo(np.uint64).max, size=(T, words), dtype=np.uint64, endpoint=True)


def unpack_signs(bits_row: np.ndarray, d: int) -> np.ndarray:
    """The sign vector in ``{-1, +1}^d`` of one row of :func:`rademacher_bits` (bit ``i`` set means ``+1``)."""
    b = np.unpackbits(np.ascontiguousarray(bits_row, dtype="<u8").view(np.uint8), bitorder="little")[:d]
    return 2.0 * b.astype(np.float64) - 1.0


def ball_argmin(c: np.ndarray, kappa: float, R: float) -> np.ndarray:
    """``argmin_{||u|| <= R} <c, u> + (kappa/2) ||u||^2`` in closed form (``-c/kappa`` or ``-R c/||c||``)."""
    nc = float(np.linalg.norm(c))
    if nc == 0.0:
        return np.zeros_like(c)
    if kappa > 0 and nc <= kappa * R:
        return -c / kappa
    return -R * c / nc


class OnlineProblem:
    """A drawn SEA loss sequence with its exact constants, comparator and stream arrays.

    Attributes
    ----------
    name : str
        Family and parameters.
    kind : str
        ``"linquad"`` or ``"portfolio"`` (see the module docstring).
    domain : str
        ``"ball"`` (radius ``radius``, centre 0) or ``"simplex"``.
    dim, T : int
        Dimension and number of rounds.
    radius : float
        Ball radius (``nan`` on the simplex).
    stream : dict
        The arrays the learners read (see the module docstring for each kind).
    comparator : numpy.ndarray
        ``u* = argmin_X sum_t F_t`` (closed form, or solved exactly, see the family).
    sigma2_round, Sigma2_round : numpy.ndarray
        Per-round ``sigma_t^2`` and ``sup_x ||grad F_t - grad F_{t-1}||^2`` (``grad F_0 = 0``).
    sigma_exact : bool
        Whether those are exact (the sup is analytic) or grid estimates.
    constants : dict
        ``D`` (diameter), ``G`` (gradient bound, a.s.), ``L`` (smoothness of F_t), ``lam`` (strong convexity of
        F_t, 0 if none), ``alpha`` (exp-concavity, portfolio), ``sigma2``/``Sigma2`` (totals),
        ``sigma2_max``/``Sigma2_max``, ``P_T`` (path length of the dynamic comparator, 0 when static), and
        ``G_inf`` / ``D_entropy`` (l_inf gradient bound and ``log d``) on the simplex.
    """

    def __init__(self, *, name: str, kind: str, domain: str, dim: int, T: int, radius: float,
                 stream: dict[str, Any], comparator: np.ndarray, sigma2_round: np.ndarray,
                 Sigma2_round: np.ndarray, sigma_exact: bool, constants: dict[str, float]) -> None:
        self.name, self.kind, self.domain = name, kind, domain
        self.dim, self.T, self.radius = int(dim), int(T), float(radius)
        self.stream = stream
        self.comparator = np.asarray(comparator, dtype=np.float64)
        self.sigma2_round = np.asarray(sigma2_round, dtype=np.float64)
        self.Sigma2_round = np.asarray(Sigma2_round, dtype=np.float64)
        self.sigma_exact = bool(sigma_exact)
        self.constants = dict(constants)
        self.constants.setdefault("sigma2", float(self.sigma2_round.sum()))
        self.constants.setdefault("Sigma2", float(self.Sigma2_round.sum()))
        self.constants.setdefault("sigma2_max", float(self.sigma2_round.max()))
        self.constants.setdefault("Sigma2_max", float(self.Sigma2_round.max()))
        self.constants.setdefault("P_T", 0.0)
        self._cum = (np.cumsum(self.sigma2_round), np.cumsum(self.Sigma2_round))

    # -- the oracles (generic, in the namespace of x) ---------------------------------
    def _coef(self, t: int, x: Any) -> tuple[Any, float]:
        """``(c_t, k_t)`` of a ``"linquad"`` round ``t`` (1-based) in the namespace of ``x``."""
        st = self.stream
        xp = namespace(x)
        i = t - 1
        c = st["mean_sign"][i] * st["means"][st["mean_idx"][i]]
        if st["noise_scale"] != 0.0:
            c = c + st["noise_scale"] * unpack_signs(st["noise_bits"][i], self.dim)
        return xp.asarray(c, dtype=x.dtype, device=x.device), float(st["curvature"][i])

    def _check_round(self, t: int) -> int:
        t = _check_int(t, "t")
        if t > self.T:
            raise ValueError(f"t must be at most T = {self.T}, got {t}")
        return t

    def grad(self, t: int, x: Any) -> Any:
        """``grad f_t(x)`` of round ``t`` (1-based)."""
        t = self._check_round(t)
        xp = namespace(x)
        if self.kind == "linquad":
            c, k = self._coef(t, x)
            return c + k * x
        r = xp.asarray(self.stream["returns"][self.stream["ret_idx"][t - 1]], dtype=x.dtype, device=x.device)
        return -r / xp.sum(r * x)

    def loss(self, t: int, x: Any) -> float:
        """``f_t(x)`` of round ``t`` (1-based), a float."""
        t = self._check_round(t)
        xp = namespace(x)
        if self.kind == "linquad":
            c, k = self._coef(t, x)
            return float(xp.sum(c * x) + 0.5 * k * xp.sum(x * x))
        r = xp.asarray(self.stream["returns"][self.stream["ret_idx"][t - 1]], dtype=x.dtype, device=x.device)
        return -math.log(float(xp.sum(r * x)))

    def expected_loss(self, t: int, x: Any) -> float:
        """``F_t(x) = E f_t(x)`` of round ``t`` (1-based), a float."""
        t = self._check_round(t)
        xp = namespace(x)
        st = self.stream
        if self.kind == "linquad":
            mu = xp.asarray(st["mean_sign"][t - 1] * st["means"][st["mean_idx"][t - 1]], dtype=x.dtype,
                            device=x.device)
            return float(xp.sum(mu * x) + 0.5 * st["kappa"] * xp.sum(x * x))
        w = st["law"][st["law_idx"][t - 1]]
        r = xp.asarray(st["returns"], dtype=x.dtype, device=x.device)
        return float(-sum(w[k] * math.log(float(xp.sum(r[k] * x))) for k in range(len(w)) if w[k] != 0))

    def regret(self, xs: np.ndarray, *, expected: bool = True) -> float:
        """``sum_t [F_t(x_t) - F_t(u*)]`` (or with ``f_t`` when ``expected=False``) for played points ``xs``
        of shape ``(T, dim)``: the slow reference the learners' traces are tested against."""
        xs = np.asarray(xs, dtype=np.float64)
        if xs.shape != (self.T, self.dim):
            raise ValueError(f"xs must have shape {(self.T, self.dim)}, got {xs.shape}")
        fn = self.expected_loss if expected else self.loss
        return float(sum(fn(t, xs[t - 1]) - fn(t, self.comparator) for t in range(1, self.T + 1)))

    @property
    def sigma2_cum(self) -> np.ndarray:
        """``sigma^2_{1:t}`` for ``t = 1..T``."""
        return self._cum[0]

    @property
    def Sigma2_cum(self) -> np.ndarray:
        """``Sigma^2_{1:t}`` for ``t = 1..T``."""
        return self._cum[1]

    def __repr__(self) -> str:
        return f"<OnlineProblem {self.name}>"


# -- "linquad" sequences ------------------------------------------------------------------
def _linquad(*, name: str, d: int, T: int, R: float, means: np.ndarray, mean_idx: np.ndarray,
             mean_sign: np.ndarray, s: float, kappa: float, omega: np.ndarray | None, rng: np.random.Generator,
             dynamic: bool = False, extra_sigma2: float = 0.0, lam: float | None = None) -> OnlineProblem:
    """Assemble a ``"linquad"`` problem: exact sigma/Sigma, the comparator, per-mean minimum values."""
    means = np.ascontiguousarray(means, dtype=np.float64)
    mean_idx = np.ascontiguousarray(mean_idx, dtype=np.int64)
    mean_sign = np.ascontiguousarray(mean_sign, dtype=np.float64)
    bits = rademacher_bits(rng, T, d) if s > 0 else np.zeros((T, 0), dtype=np.uint64)
    w_max = 0.0 if omega is None else float(np.max(np.abs(omega)))
    curvature = np.full(T, kappa) if omega is None else kappa + omega
    # Sigma: grad F_t - grad F_{t-1} = a_t mu_{j_t} - a_{t-1} mu_{j_{t-1}} (the kappa x parts cancel); the first
    # round's sup_x ||a_1 mu_1 + kappa x||^2 = (||mu_1|| + kappa R)^2.
    gram = means @ means.T
    a, j = mean_sign, mean_idx
    Sig = np.empty(T)
    Sig[0] = (math.sqrt(gram[j[0], j[0]]) + kappa * R) ** 2
    Sig[1:] = gram[j[1:], j[1:]] + gram[j[:-1], j[:-1]] - 2.0 * a[1:] * a[:-1] * gram[j[1:], j[:-1]]
    Sig = np.maximum(Sig, 0.0)
    sig = np.full(T, d * s * s + (w_max * R) ** 2 + extra_sigma2)
    # comparator: argmin over the ball of <sum_t a_t mu_t, u> + T kappa/2 ||u||^2
    counts = np.zeros((len(means), 2))
    np.add.at(counts, (j, (a < 0).astype(np.int64)), 1.0)
    total = (counts[:, 0] - counts[:, 1]) @ means
    u_star = ball_argmin(total, T * kappa, R)
    # per-mean minimum of F over the ball, for a = +1 and a = -1 (the dynamic comparator's value)
    fstar = np.empty((len(means), 2))
    u_path = np.empty((len(means), 2, d))
    for k, mu in enumerate(means):
        for col, sign in enumerate((1.0, -1.0)):
            u = ball_argmin(sign * mu, kappa, R)
            u_path[k, col] = u
            fstar[k, col] = sign * float(mu @ u) + 0.5 * kappa * float(u @ u)
    P_T = 0.0
    if dynamic:
        path = u_path[j, (a < 0).astype(np.int64)]
        P_T = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    norms = np.sqrt(np.diag(gram))
    G = float(norms.max()) + s * math.sqrt(d) + (kappa + w_max) * R
    stream = {"kind": "linquad", "means": means, "mean_idx": mean_idx, "mean_sign": mean_sign,
              "noise_bits": bits, "noise_scale": float(s), "curvature": np.ascontiguousarray(curvature),
              "kappa": float(kappa), "fstar": fstar, "u_path": u_path}
    constants = {"D": 2.0 * R, "G": G, "L": float(kappa), "lam": float(kappa if lam is None else lam),
                 "R": R, "P_T": P_T}
    return OnlineProblem(name=name, kind="linquad", domain="ball", dim=d, T=T, radius=R, stream=stream,
                         comparator=u_star, sigma2_round=sig, Sigma2_round=Sig, sigma_exact=True,
                         constants=constants)


def _split_points(T: int, K: int) -> np.ndarray:
    """Segment index of each round for K switches at the fixed fractions 1/(K+1), ..., K/(K+1) of T."""
    return np.minimum((np.arange(T) * (K + 1)) // T, K).astype(np.int64)


def family_a(d: int, T: int, schedule: str, *, s: float = 0.0, m: float = 0.0, K: int = 3, rho: float = 0.1,
             w: float = 0.0, kappa: float = 0.0, R: float = 1.0, seed: int = 0) -> OnlineProblem:
    """Family A of the spec: ``f_t(x) = <mu_t + s eps_t, x> + (kappa/2)||x||^2`` on ``B(0, R)``, exact sigma, Sigma.

    Mean schedules (``mu_t``):

    ``"hidden_sign"`` (i)
        ``mu_t = b e_1`` with ``b = +-2 s sqrt(d/T)`` (random sign per seed); ``sigma^2_{1:T} = T d s^2``.
    ``"random_signs"`` (ii)
        ``mu_t = m xi_t e_1`` with i.i.d. signs ``xi_t``; use ``s = 0`` for the spec's (ii).
    ``"alternating"``
        ``mu_t = m (-1)^t e_1`` (adversarial, ``sigma = 0`` with ``s = 0``): ``Sigma^2_{1:T} = m^2 + 4 m^2 (T - 1)``,
        the spec's adversarial ``G^2 + 4 G^2 (T - 1)`` with equality.
    ``"mixture"``
        (i) and (ii) summed: ``mu_t = (b + m xi_t) e_1``, with noise ``s``.
    ``"switches"`` (iii)
        ``K`` switches at the fixed fractions ``k/(K+1)`` of T between random directions of norm ``m``.
    ``"corrupted"`` (iv)
        (i) with a fraction ``rho`` of rounds (random) whose mean is replaced by ``-m e_1``.
    ``"nonconvex"`` (v)
        (i) plus ``(omega_t/2)||x||^2`` with ``omega_t = +-w`` (so individual losses are non-convex when
        ``w > kappa``); ``F_t`` unchanged and ``sigma_t^2`` grows by ``w^2 R^2``.

    The comparator is ``argmin_X sum_t F_t`` in closed form (``Pi_X(-mean mu/kappa)``, or ``-R sum mu/||sum mu||``
    when ``kappa = 0``); for (ii) it depends on the drawn signs (the hindsight comparator).
    """
    d, T = _check_int(d, "d"), _check_int(T, "T")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    s, m, w, kappa = (_check_nonneg(v, n) for v, n in ((s, "s"), (m, "m"), (w, "w"), (kappa, "kappa")))
    R = _check_pos(R, "R")
    rho = _check_nonneg(rho, "rho")
    if rho > 1:
        raise ValueError(f"rho must be in [0, 1], got {rho}")
    K = _check_int(K, "K", lo=0)
    rng = np.random.default_rng(seed)
    e1 = np.zeros(d)
    e1[0] = 1.0
    b = (1.0 if rng.random() < 0.5 else -1.0) * 2.0 * s * math.sqrt(d / T)
    omega = None
    ones = np.ones(T)
    zeros = np.zeros(T, dtype=np.int64)
    if schedule in ("hidden_sign", "nonconvex"):
        means, idx, sign = (b * e1)[None, :], zeros, ones
        if schedule == "nonconvex":
            omega = w * np.where(rng.random(T) < 0.5, 1.0, -1.0)
    elif schedule == "random_signs":
        means, idx = (m * e1)[None, :], zeros
        sign = np.where(rng.random(T) < 0.5, 1.0, -1.0)
    elif schedule == "alternating":
        means, idx = (m * e1)[None, :], zeros
        sign = np.where(np.arange(T) % 2 == 0, -1.0, 1.0)
    elif schedule == "mixture":
        means = np.stack([(b + m) * e1, (b - m) * e1])
        idx = (rng.random(T) < 0.5).astype(np.int64)
        sign = ones
    elif schedule == "switches":
        dirs = rng.standard_normal((K + 1, d))
        means = m * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        idx, sign = _split_points(T, K), ones
    else:  # corrupted
        means = np.stack([b * e1, -m * e1])
        idx = (rng.random(T) < rho).astype(np.int64)
        sign = ones
    name = f"family_a({schedule}, d={d}, T={T}, s={s:g}, m={m:g}, kappa={kappa:g}, R={R:g})"
    if schedule == "nonconvex":
        name = name[:-1] + f", w={w:g})"
    return _linquad(name=name, d=d, T=T, R=R, means=means, mean_idx=idx, mean_sign=sign, s=s, kappa=kappa,
                    omega=omega, rng=rng)


def strongly_convex_family(d: int, T: int, *, lam: float = 1.0, s: float = 0.1, K: int = 0, R: float = 1.0,
                           seed: int = 0) -> OnlineProblem:
    """V2's family: ``f_t(x) = (lam/2)||x - z_t||^2 - (lam/2)||z_t||^2`` on B(0, R), ``z_t = theta_t - s eps_t``.

    (``eps_t`` is symmetric, so ``z_t`` is the spec's ``theta_t + s eps_t`` in law.) The subtracted constant
    changes neither gradients nor regret and keeps the loss in the ``"linquad"`` form
    (``c_t = -lam theta_t + lam s eps_t``, ``k_t = lam``). ``theta_t`` is one random point of norm ``R/2``
    (``K = 0``: i.i.d.) or switches ``K`` times at fixed fractions of T between such points.
    Then ``sigma_t^2 = lam^2 d s^2``, the Sigma increments are ``lam^2 ||theta_t - theta_{t-1}||^2`` (first round
    ``lam^2 (||theta_1|| + R)^2``) and ``u* = Pi_X(mean theta_t)`` (inside the ball, so ``= mean theta_t``).
    """
    d, T = _check_int(d, "d"), _check_int(T, "T")
    lam, R = _check_pos(lam, "lam"), _check_pos(R, "R")
    s = _check_nonneg(s, "s")
    K = _check_int(K, "K", lo=0)
    rng = np.random.default_rng(seed)
    th = rng.standard_normal((K + 1, d))
    th = 0.5 * R * th / np.linalg.norm(th, axis=1, keepdims=True)
    name = f"strongly_convex(d={d}, T={T}, lam={lam:g}, s={s:g}, K={K}, R={R:g})"
    return _linquad(name=name, d=d, T=T, R=R, means=-lam * th, mean_idx=_split_points(T, K), mean_sign=np.ones(T),
                    s=lam * s, kappa=lam, omega=None, rng=rng)


def dynamic_family(d: int, T: int, *, K: int = 4, delta: float = 0.5, kappa: float = 1.0, m: float = 1.0,
                   s: float = 0.0, R: float = 1.0, seed: int = 0) -> OnlineProblem:
    """V4's family: Family A with ``K`` planted switches of the per-round minimizer ``u_t``.

    ``kappa > 0``: interior centres ``u_k`` with ``||u_{k+1} - u_k|| = delta`` (each inside ``B(0, R/2)``), means
    ``mu_k = -kappa u_k``, so ``u_t = Pi_X(-mu_t/kappa) = u_k`` and ``P_T = K delta`` exactly.
    ``kappa = 0``: linear losses with means of norm ``m`` in random directions and boundary minimizers
    ``u_k = -R mu_k/||mu_k||`` (``delta`` unused); ``P_T`` is the sum of the jumps of ``u_k``.
    The dynamic comparator's value per round is ``stream["fstar"]``; ``constants["P_T"]`` is the path length.
    """
    d, T = _check_int(d, "d"), _check_int(T, "T")
    K = _check_int(K, "K", lo=0)
    kappa, s = _check_nonneg(kappa, "kappa"), _check_nonneg(s, "s")
    R = _check_pos(R, "R")
    rng = np.random.default_rng(seed)
    if kappa > 0:
        delta = _check_pos(delta, "delta")
        if delta > R / 2:
            raise ValueError(f"delta must be at most R/2 = {R / 2:g} so the centres stay inside, got {delta}")
        u = [np.zeros(d)]
        while len(u) < K + 1:  # random steps of length delta that stay in B(0, R/2)
            v = rng.standard_normal(d)
            nxt = u[-1] + delta * v / np.linalg.norm(v)
            if np.linalg.norm(nxt) <= R / 2:
                u.append(nxt)
        means = -kappa * np.stack(u)
    else:
        m = _check_pos(m, "m")
        dirs = rng.standard_normal((K + 1, d))
        means = m * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    name = f"dynamic(d={d}, T={T}, K={K}, delta={delta:g}, kappa={kappa:g}, s={s:g}, R={R:g})"
    return _linquad(name=name, d=d, T=T, R=R, means=means, mean_idx=_split_points(T, K), mean_sign=np.ones(T),
                    s=s, kappa=kappa, omega=None, rng=rng, dynamic=True)


# -- portfolio (exp-concave) --------------------------------------------------------------
def _portfolio_comparator(returns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``argmax_{x in simplex} sum_k w_k log <r_k, x>`` for two return vectors, exactly.

    The objective depends on ``x`` only through ``(<r_1, x>, <r_2, x>)``, which ranges over the polygon
    ``conv{(r_1i, r_2i)}``; it is increasing and concave there, so the maximum lies on a hull edge, that is on a
    segment ``tau e_i + (1 - tau) e_j``. Along a segment the stationarity condition is linear in ``tau``; every
    pair is tried and the best point kept.
    """
    r1, r2 = returns
    w1, w2 = weights
    d = len(r1)
    best, arg = -np.inf, None
    for i in range(d):
        for j in range(i, d):
            u0, v0 = r1[j], r2[j]
            du, dv = r1[i] - r1[j], r2[i] - r2[j]
            cands = [0.0, 1.0]
            den = (w1 + w2) * du * dv
            if den != 0.0:
                tau = -(w1 * du * v0 + w2 * dv * u0) / den
                if 0.0 < tau < 1.0:
                    cands.append(tau)
            for tau in cands:
                val = w1 * math.log(u0 + tau * du) + w2 * math.log(v0 + tau * dv)
                if val > best:
                    best, arg = val, (i, j, tau)
    i, j, tau = arg
    x = np.zeros(d)
    x[i] += tau
    x[j] += 1.0 - tau
    return x


def _sup_sq_norm_grid(fn, d: int, rng: np.random.Generator, n_random: int = 512) -> float:
    """Max of ``fn(x)`` over the simplex's vertices, edge midpoints, centre and random points: a grid estimate
    (a lower estimate of the sup), used where the sup is not analytic."""
    pts = [np.eye(d), np.full((1, d), 1.0 / d), rng.dirichlet(np.ones(d), size=n_random)]
    if d <= 64:
        i, j = np.triu_indices(d, 1)
        mid = np.zeros((len(i), d))
        mid[np.arange(len(i)), i] = 0.5
        mid[np.arange(len(i)), j] = 0.5
        pts.append(mid)
    X = np.concatenate(pts)
    return float(np.max(fn(X)))


def portfolio_family(d: int, T: int, *, law: str = "iid", p: float = 0.5, seed: int = 0) -> OnlineProblem:
    """V3's exp-concave family: ``f_t(x) = -log <r_t, x>`` on the simplex, ``r_t`` one of two vectors in [0.5, 1.5]^d.

    ``law="iid"``: ``r_t = r_1`` with probability ``p`` else ``r_2``, so ``F_t = -p log<r_1,x> - (1-p) log<r_2,x>``
    and ``sigma_t^2 = p(1-p) sup_x ||r_1/<r_1,x> - r_2/<r_2,x>||^2``. ``law="alternating"``: ``r_t`` alternates
    (``sigma = 0``, ``F_t = f_t``). The sups over the simplex are grid estimates (``sigma_exact = False``,
    see :func:`_sup_sq_norm_grid`), except the first round's ``sup ||r/<r,x>||^2 = ||r||^2/min_i r_i^2``.
    ``u* = argmin sum_t F_t`` exactly (:func:`_portfolio_comparator`). Constants: ``alpha = 1``,
    ``G = max_j ||r_j|| / min_i r_ji`` (l2), ``G_inf`` (l_inf), ``L = max_j (max_i r_ji / min_i r_ji)^2``
    (the largest curvature ``r r^T/<r,x>^2`` on the simplex), ``D = sqrt 2``.
    """
    d, T = _check_int(d, "d"), _check_int(T, "T")
    if d < 2:
        raise ValueError(f"d must be at least 2 for a portfolio, got {d}")
    if law not in ("iid", "alternating"):
        raise ValueError(f"law must be 'iid' or 'alternating', got {law!r}")
    p = float(p)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    rng = np.random.default_rng(seed)
    returns = rng.uniform(0.5, 1.5, size=(2, d))
    if law == "iid":
        ret_idx = (rng.random(T) >= p).astype(np.int64)
        law_w = np.array([[p, 1.0 - p]])
        law_idx = np.zeros(T, dtype=np.int64)
        totals = np.array([p * T, (1.0 - p) * T])
    else:
        ret_idx = (np.arange(T) % 2).astype(np.int64)
        law_w = np.eye(2)
        law_idx = ret_idx.copy()
        totals = np.array([float(np.sum(ret_idx == 0)), float(np.sum(ret_idx == 1))])
    u_star = _portfolio_comparator(returns, totals)
    r1, r2 = returns

    def diff2(X):
        g = r1[None, :] / (X @ r1)[:, None] - r2[None, :] / (X @ r2)[:, None]
        return np.sum(g * g, axis=1)

    sup_diff2 = _sup_sq_norm_grid(diff2, d, rng)
    first = [float(r @ r) / float(r.min()) ** 2 for r in returns]
    if law == "iid":
        sig = np.full(T, p * (1.0 - p) * sup_diff2)
        Sig = np.zeros(T)
        # grad F_1 = -(p r1/<r1,x> + (1-p) r2/<r2,x>): bounded by the convex combination of the two sups
        Sig[0] = (p * math.sqrt(first[0]) + (1.0 - p) * math.sqrt(first[1])) ** 2
    else:
        sig = np.zeros(T)
        Sig = np.full(T, sup_diff2)
        Sig[0] = first[ret_idx[0]]
    G = max(math.sqrt(f) for f in first)
    G_inf = max(float(r.max() / r.min()) for r in returns)
    L = max(float(r.max() / r.min()) ** 2 for r in returns)
    stream = {"kind": "portfolio", "returns": np.ascontiguousarray(returns), "ret_idx": ret_idx,
              "law": law_w, "law_idx": law_idx}
    constants = {"D": math.sqrt(2.0), "G": G, "G_inf": G_inf, "L": L, "lam": 0.0, "alpha": 1.0,
                 "D_entropy": math.log(d)}
    return OnlineProblem(name=f"portfolio({law}, d={d}, T={T}, p={p:g})", kind="portfolio", domain="simplex",
                         dim=d, T=T, radius=math.nan, stream=stream, comparator=u_star, sigma2_round=sig,
                         Sigma2_round=Sig, sigma_exact=False, constants=constants)
