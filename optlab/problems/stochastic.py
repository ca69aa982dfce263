"""Stochastic problems with per-sample gradients and controllable noise (AdAdaGrad, Lau et al. 2024).

Every family here is a :class:`~optlab.problems.base.Problem` (exact ``f`` and ``grad``
of ``F``, for the trace) that also samples *per-sample gradients*, the oracle that
adaptive batch-size methods (:mod:`optlab.batching`) read:

``sample_grads(x, b, rng) -> array (b, d)``
    ``b`` i.i.d. per-sample gradients ``s_i = grad f(x; xi_i)`` at ``x`` (with replacement
    for finite sums), in the namespace and dtype of ``x``. Randomness always comes from
    the NumPy ``Generator`` ``rng``, so NumPy, CuPy and ``array_api_strict`` runs with one
    seed see the same draws.
``sample_moments(x, b, rng) -> (g, V)`` (families with ``fast = True``)
    The exact law of what a batch of ``b`` Gaussian samples gives: the batch mean ``g`` and
    the per-coordinate Bessel-corrected variances ``V_j``. For Gaussian noise the sample
    mean and the sample variances are independent, with ``g ~ N(grad F, Sigma / b)`` and
    ``V_j ~ Sigma_jj chi2_{b-1} / (b - 1)``, so a batch of ``1e10`` costs ``O(d)``.
``noise_trace(x)``
    ``tr Sigma(x)``, the total per-sample variance (for the exact batch size ``b*``).
``n_samples``
    ``n`` for a finite sum, ``None`` for an expectation.

Families (specification ``papers/adadagrad.md``, Section 5):

* :func:`cosine_quadratic` (P-A1): ``F(x) = sum_j x_j^2/2 + a cos(omega x_j)``, nonconvex,
  ``L = 1 + a omega^2``, additive isotropic Gaussian noise ``sigma``;
* :func:`cosine_quadratic_anisotropic` (P-A2): same ``F``, noise scales ``r_j``
  log-spaced in ``[r_min, r_max]``;
* :func:`cosine_quadratic_affine` (P-A3): noise ``(sigma0 + sigma1 ||grad F||) zeta``;
* :func:`logistic_finite_sum` (P-A4): logistic loss plus ``lam sum_j x_j^2 / (1 + x_j^2)``
  on synthetic data, exact per-sample gradients; ``glm`` exposes its data to the fused
  per-sample kernel of :mod:`optlab.batching`;
* :func:`digits_softmax` and :func:`digits_mlp`: softmax regression and a one-hidden-layer
  tanh MLP on scikit-learn's bundled ``load_digits`` (80/20 split), with hand-written
  per-sample gradients, ``accuracy(x, split)`` and ``loss(x, split)``.

``f_star`` of the cosine family is exact up to a one-dimensional root: ``F`` separates
over coordinates, so ``f_star = d min_t (t^2/2 + a cos(omega t))``. No problem imports a method.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import as_positive_float, namespace
from optlab.problems.base import Problem

__all__ = [
    "CosineQuadratic",
    "DigitsMLP",
    "DigitsSoftmax",
    "LogisticFiniteSum",
    "cosine_quadratic",
    "cosine_quadratic_affine",
    "cosine_quadratic_anisotropic",
    "digits_mlp",
    "digits_softmax",
    "logistic_finite_sum",
]


def _check_batch(b: Any) -> int:
    if int(b) != b or b < 1:
        raise ValueError(f"b (batch size) must be a positive integer, got {b!r}")
    return int(b)


def _like(x: Any, a: np.ndarray) -> Any:
    """A NumPy draw as an array of the namespace, dtype and device of ``x``."""
    return namespace(x).asarray(a, dtype=x.dtype, device=x.device)


def _scalar_min(a: float, omega: float) -> float:
    """``min_t t^2/2 + a cos(omega t)``: stationary points satisfy ``|t| <= a omega``; grid, then Newton."""
    half = abs(a) * omega + 1.0
    t = np.linspace(-half, half, 20001)
    h = t**2 / 2 + a * np.cos(omega * t)
    s = float(t[np.argmin(h)])
    for _ in range(50):  # Newton on h'(t) = t - a omega sin(omega t) from the grid minimizer
        d1 = s - a * omega * math.sin(omega * s)
        d2 = 1.0 - a * omega**2 * math.cos(omega * s)
        if d2 <= 0:
            break
        s -= d1 / d2
    return min(float(h.min()), s * s / 2 + a * math.cos(omega * s))


class CosineQuadratic(Problem):
    """``F(x) = sum_j [x_j^2/2 + a cos(omega x_j)]`` with Gaussian per-sample gradient noise.

    ``s = grad F(x) + (sigma0 + sigma1 ||grad F(x)||) r * zeta``, ``zeta ~ N(0, I_d)``, so
    ``Sigma(x) = (sigma0 + sigma1 ||grad F||)^2 diag(r^2)``. ``grad F = x - a omega sin(omega x)``;
    ``L = 1 + a omega^2``. P-A1 is ``r = 1, sigma1 = 0``; P-A2 anisotropic ``r``; P-A3 affine.

    Parameters
    ----------
    d : int
        Dimension.
    a, omega : float
        Amplitude and frequency of the cosine (nonconvex when ``a omega^2 > 1``).
    r : array_like, shape (d,)
        Per-coordinate noise scales (``>= 0``).
    sigma0, sigma1 : float
        Additive and relative (affine) noise levels, ``>= 0``.
    name : str
        Display name.
    """

    fast = True
    n_samples = None

    def __init__(self, d: int, *, a: float = 0.5, omega: float = 2.0, r: Any = None, sigma0: float = 1.0,
                 sigma1: float = 0.0, name: str = "cosine_quadratic") -> None:
        super().__init__()
        if int(d) != d or d < 1:
            raise ValueError(f"d must be a positive integer, got {d!r}")
        self.dim = int(d)
        self.a = float(a)
        self.omega = as_positive_float(omega, "omega")
        r = np.ones(self.dim) if r is None else np.asarray(r, dtype=np.float64)
        if r.shape != (self.dim,) or not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ValueError(f"r must be {self.dim} finite non-negative noise scales")
        for nm, v in (("sigma0", sigma0), ("sigma1", sigma1)):
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{nm} must be finite and >= 0, got {v!r}")
        self.sigma0, self.sigma1 = float(sigma0), float(sigma1)
        self.r = r
        self._set_data(r=r)
        self.f_star = self.dim * _scalar_min(self.a, self.omega)
        self.constants = {"L": 1.0 + abs(self.a) * self.omega**2, "sigma0": self.sigma0, "sigma1": self.sigma1,
                          "a": self.a, "omega": self.omega, "d": float(self.dim)}
        self.name = f"{name}(d={self.dim})"

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.sum(x * x / 2 + self.a * xp.cos(self.omega * x))

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        return x - (self.a * self.omega) * xp.sin(self.omega * x)

    def _scale(self, x: Any, g: Any) -> float:
        if self.sigma1 == 0.0:
            return self.sigma0
        return self.sigma0 + self.sigma1 * float(namespace(g).linalg.vector_norm(g))

    def noise_trace(self, x: Any) -> float:
        """``tr Sigma(x) = (sigma0 + sigma1 ||grad F(x)||)^2 sum_j r_j^2``."""
        return self._scale(x, self.grad(x)) ** 2 * float(np.sum(self.r**2))

    def sample_grads(self, x: Any, b: int, rng: np.random.Generator) -> Any:
        """``b`` per-sample gradients at ``x``, shape ``(b, d)``."""
        b = _check_batch(b)
        g = self.grad(x)
        zeta = rng.standard_normal((b, self.dim))
        return g[None, :] + (self._scale(x, g) * _like(x, zeta)) * self.data(x)["r"][None, :]

    def sample_moments(self, x: Any, b: int, rng: np.random.Generator) -> tuple[Any, Any]:
        """Exact law of a batch of ``b``: mean ``g`` and Bessel variances ``V`` (``V = NaN`` for ``b = 1``)."""
        b = _check_batch(b)
        grad = self.grad(x)
        c = self._scale(x, grad)
        zeta = rng.standard_normal(self.dim)
        g = grad + (c / math.sqrt(b)) * _like(x, zeta) * self.data(x)["r"]
        if b == 1:
            return g, _like(x, np.full(self.dim, np.nan))
        # chi2_{b-1}/(b-1) = Gamma((b-1)/2, 2/(b-1)): exact for any b, cost O(d)
        chi = rng.gamma((b - 1) / 2.0, 2.0 / (b - 1), size=self.dim)
        return g, _like(x, c * c * self.r**2 * chi)


def cosine_quadratic(d: int = 20, *, sigma: float = 1.0, a: float = 0.5, omega: float = 2.0) -> CosineQuadratic:
    """P-A1: nonconvex cosine-perturbed quadratic with additive isotropic noise ``sigma``.

    ``F(x) = sum_j x_j^2/2 + a cos(omega x_j)`` (``a = 0.5, omega = 2``: ``L = 3``),
    ``s = grad F + sigma zeta``; ``tr Sigma = sigma^2 d``. Fast mode: :meth:`CosineQuadratic.sample_moments`.
    """
    return CosineQuadratic(d, a=a, omega=omega, sigma0=sigma, name="P-A1 cosine_quadratic")


def cosine_quadratic_anisotropic(d: int = 20, *, r_min: float = 0.1, r_max: float = 10.0, a: float = 0.5,
                                 omega: float = 2.0) -> CosineQuadratic:
    """P-A2: the P-A1 objective with noise ``zeta ~ N(0, diag(r_j^2))``, ``r_j`` log-spaced in ``[r_min, r_max]``."""
    r = np.logspace(math.log10(as_positive_float(r_min, "r_min")), math.log10(as_positive_float(r_max, "r_max")), d)
    return CosineQuadratic(d, a=a, omega=omega, r=r, sigma0=1.0, name="P-A2 cosine_quadratic_anisotropic")


def cosine_quadratic_affine(d: int = 20, *, sigma0: float = 0.0, sigma1: float = 1.0, a: float = 0.5,
                            omega: float = 2.0) -> CosineQuadratic:
    """P-A3: the P-A1 objective with affine noise ``s = grad F + (sigma0 + sigma1 ||grad F||) zeta``."""
    return CosineQuadratic(d, a=a, omega=omega, sigma0=sigma0, sigma1=sigma1, name="P-A3 cosine_quadratic_affine")


class _FiniteSum(Problem):
    """Shared sampling of a finite sum ``F = (1/n) sum_i f_i``: indices i.i.d. uniform, with replacement."""

    fast = False
    n_samples: int = 0

    def sample_indices(self, b: int, rng: np.random.Generator) -> np.ndarray:
        """``b`` indices drawn uniformly with replacement (NumPy ``int64``)."""
        return rng.integers(0, self.n_samples, size=_check_batch(b))

    def sample_grads(self, x: Any, b: int, rng: np.random.Generator) -> Any:
        """``b`` per-sample gradients at ``x`` (rows ``grad f_i(x)``, ``i`` drawn with replacement)."""
        return self.grads_at(x, self.sample_indices(b, rng))

    def grads_at(self, x: Any, idx: np.ndarray) -> Any:
        """Per-sample gradients ``grad f_i(x)`` for the indices ``idx``, shape ``(len(idx), d)``."""
        raise NotImplementedError

    def noise_trace(self, x: Any) -> float:
        """``tr Sigma(x)`` over the whole finite sum (population covariance of the ``grad f_i``)."""
        S = self.grads_at(x, np.arange(self.n_samples))
        xp = namespace(S)
        return float(xp.sum(xp.var(S, axis=0)))


def _log_sigmoid_neg(xp: Any, m: Any) -> Any:
    """``log sigma(-m) = -log(1 + e^m)``, never overflowing."""
    return -xp.logaddexp(xp.zeros_like(m), m)


class LogisticFiniteSum(_FiniteSum):
    """P-A4: ``F(x) = (1/n) sum_i log(1 + exp(-y_i a_i^T x)) + lam sum_j x_j^2 / (1 + x_j^2)`` (nonconvex).

    ``grad f_i(x) = -y_i sigma(-y_i a_i^T x) a_i + r(x)`` with the common term
    ``r(x) = 2 lam x / (1 + x^2)^2``: a generalized linear model, which :attr:`glm`
    exposes as ``("logistic", A, y, r)`` for a fused per-sample kernel.

    Parameters
    ----------
    A : array_like, shape (n, d)
        Feature rows.
    y : array_like, shape (n,)
        Labels in ``{-1, +1}``.
    lam : float
        Weight of the nonconvex regularizer, ``>= 0``.
    """

    def __init__(self, A: Any, y: Any, lam: float = 1e-2, *, name: str | None = None) -> None:
        super().__init__()
        A = np.ascontiguousarray(A, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if A.ndim != 2 or y.shape != (A.shape[0],):
            raise ValueError(f"A must be (n, d) and y (n,), got {A.shape} and {y.shape}")
        if not np.all(np.isfinite(A)) or not np.all((y == 1) | (y == -1)):
            raise ValueError("A must be finite and y must hold only the labels -1 and +1")
        if not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
        self.n_samples, self.dim = A.shape
        self.lam = float(lam)
        self._set_data(A=A, y=y)
        # for a fused per-sample kernel: the loss, NumPy float64 data, and the common gradient term r(x)
        self.glm = ("logistic", A, y, self._common)
        rmax = float(np.max(np.sum(A * A, axis=1)))
        # logistic part: (1/4) max ||a_i||^2 bounds its Hessian; lam x^2/(1+x^2) has |second derivative| <= 2 lam
        self.constants = {"L": rmax / 4 + 2 * self.lam, "lam": self.lam, "n": float(self.n_samples)}
        self.name = name or f"P-A4 logistic_finite_sum(n={self.n_samples}, d={self.dim}, lam={self.lam:g})"

    def _common(self, x: Any) -> Any:
        return (2 * self.lam) * x / (1 + x * x) ** 2

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        D = self.data(x)
        m = D["y"] * (D["A"] @ x)
        return xp.mean(xp.logaddexp(xp.zeros_like(m), -m)) + self.lam * xp.sum(x * x / (1 + x * x))

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        D = self.data(x)
        m = D["y"] * (D["A"] @ x)
        c = -D["y"] * xp.exp(_log_sigmoid_neg(xp, m))
        return (c @ D["A"]) / self.n_samples + self._common(x)

    def grads_at(self, x: Any, idx: np.ndarray) -> Any:
        xp = namespace(x)
        D = self.data(x)
        ix = xp.asarray(np.asarray(idx, dtype=np.int64), device=x.device)
        Ab = xp.take(D["A"], ix, axis=0)
        yb = xp.take(D["y"], ix, axis=0)
        c = -yb * xp.exp(_log_sigmoid_neg(xp, yb * (Ab @ x)))
        return c[:, None] * Ab + self._common(x)[None, :]


def logistic_finite_sum(n: int = 10_000, d: int = 50, *, lam: float = 1e-2, label_noise: float = 0.5,
                        seed: int = 0) -> LogisticFiniteSum:
    """P-A4 on synthetic data: ``a_i ~ N(0, I)``, ``y_i = sign(a_i^T w* + label_noise N(0, 1))``, ``w* ~ N(0, I/d)``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / math.sqrt(d)
    y = np.where(A @ w + label_noise * rng.standard_normal(n) >= 0, 1.0, -1.0)
    return LogisticFiniteSum(A, y, lam, name=f"P-A4 logistic_finite_sum(n={n}, d={d}, seed={seed})")


def _digits_split(seed: int, test_fraction: float = 0.2) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_test = round(test_fraction * len(y))
    te, tr = perm[:n_test], perm[n_test:]
    return X[tr], y[tr].astype(np.int64), X[te], y[te].astype(np.int64)


class _DigitsModel(_FiniteSum):
    """A classifier on ``load_digits`` trained on the 80% split; ``accuracy``/``loss`` on either split."""

    n_classes = 10

    def __init__(self, seed: int, reg: float) -> None:
        super().__init__()
        Xtr, ytr, Xte, yte = _digits_split(seed)
        self.n_samples = len(ytr)
        self.reg = float(reg)
        self._labels = {"train": ytr, "test": yte}
        self._set_data(X=Xtr, Y=np.eye(self.n_classes)[ytr], X_test=Xte, Y_test=np.eye(self.n_classes)[yte])
        self.constants = {"n": float(self.n_samples), "reg": self.reg}

    def _logits(self, x: Any, X: Any) -> Any:
        raise NotImplementedError

    def _split(self, x: Any, split: str) -> tuple[Any, Any]:
        D = self.data(x)
        if split == "train":
            return D["X"], D["Y"]
        if split == "test":
            return D["X_test"], D["Y_test"]
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")

    def loss(self, x: Any, split: str = "train") -> float:
        """Mean cross-entropy (without the regularizer) on a split."""
        xp = namespace(x)
        X, Y = self._split(x, split)
        Z = self._logits(x, X)
        lse = xp.log(xp.sum(xp.exp(Z - xp.max(Z, axis=1, keepdims=True)), axis=1)) + xp.max(Z, axis=1)
        return float(xp.mean(lse - xp.sum(Z * Y, axis=1)))

    def accuracy(self, x: Any, split: str = "test") -> float:
        """Fraction of correctly classified samples on a split."""
        xp = namespace(x)
        X, Y = self._split(x, split)
        return float(xp.mean(xp.astype(xp.argmax(self._logits(x, X), axis=1) == xp.argmax(Y, axis=1), x.dtype)))

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.asarray(self.loss(x, "train") + self.reg / 2 * float(xp.sum(x * x)), dtype=x.dtype)

    def grad(self, x: Any) -> Any:
        return self._full_grad(x) + self.reg * x

    def _full_grad(self, x: Any) -> Any:
        """Gradient of the mean cross-entropy over the training split (matrix products, no per-sample rows)."""
        raise NotImplementedError


def _softmax_rows(xp: Any, Z: Any) -> Any:
    E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
    return E / xp.sum(E, axis=1, keepdims=True)


class DigitsSoftmax(_DigitsModel):
    """Softmax regression on ``load_digits``: ``x`` holds ``W`` (10 x 64) and the bias (10), row-major.

    ``f_i(x) = CE(softmax(W a_i + c), y_i) + reg/2 ||x||^2``; per-sample gradient
    ``(p_i - e_{y_i}) (a_i, 1)^T + reg x``.
    """

    def __init__(self, seed: int = 0, reg: float = 1e-4) -> None:
        super().__init__(seed, reg)
        self.n_features = 64
        self.dim = self.n_classes * (self.n_features + 1)
        self.name = f"digits_softmax(seed={seed})"

    def _unpack(self, x: Any) -> tuple[Any, Any]:
        xp = namespace(x)
        W = xp.reshape(x[: self.n_classes * self.n_features], (self.n_classes, self.n_features))
        return W, x[self.n_classes * self.n_features:]

    def _logits(self, x: Any, X: Any) -> Any:
        W, c = self._unpack(x)
        return X @ W.T + c[None, :]

    def _full_grad(self, x: Any) -> Any:
        xp = namespace(x)
        D = self.data(x)
        R = (_softmax_rows(xp, self._logits(x, D["X"])) - D["Y"]) / self.n_samples
        return xp.concat([xp.reshape(R.T @ D["X"], (-1,)), xp.sum(R, axis=0)])

    def grads_at(self, x: Any, idx: np.ndarray) -> Any:
        xp = namespace(x)
        D = self.data(x)
        ix = xp.asarray(np.asarray(idx, dtype=np.int64), device=x.device)
        Xb, Yb = xp.take(D["X"], ix, axis=0), xp.take(D["Y"], ix, axis=0)
        R = _softmax_rows(xp, self._logits(x, Xb)) - Yb  # (b, 10)
        GW = xp.reshape(R[:, :, None] * Xb[:, None, :], (Xb.shape[0], self.n_classes * self.n_features))
        return xp.concat([GW, R], axis=1) + self.reg * x[None, :]


def digits_softmax(seed: int = 0, *, reg: float = 1e-4) -> DigitsSoftmax:
    """Softmax regression on scikit-learn's bundled digits (80/20 split by ``seed``), per-sample gradients."""
    return DigitsSoftmax(seed, reg)


class DigitsMLP(_DigitsModel):
    """One-hidden-layer tanh MLP on ``load_digits``: ``logits = V tanh(U a + u) + v``.

    ``x`` packs ``U`` (h x 64), ``u`` (h), ``V`` (10 x h), ``v`` (10), row-major; per-sample
    gradients by hand-written backpropagation. ``x_init(seed)`` gives a Glorot-scaled start.
    """

    def __init__(self, seed: int = 0, hidden: int = 64, reg: float = 1e-4) -> None:
        super().__init__(seed, reg)
        self.hidden = int(hidden)
        h, p, c = self.hidden, 64, self.n_classes
        self._sizes = (h * p, h, c * h, c)
        self.dim = sum(self._sizes)
        rng = np.random.default_rng(seed + 1000)
        self.x0 = np.concatenate([rng.standard_normal(h * p) * math.sqrt(1.0 / p), np.zeros(h),
                                  rng.standard_normal(c * h) * math.sqrt(1.0 / h), np.zeros(c)])
        self.name = f"digits_mlp(h={h}, seed={seed})"

    def _unpack(self, x: Any) -> tuple[Any, Any, Any, Any]:
        xp = namespace(x)
        h, c = self.hidden, self.n_classes
        o = np.cumsum((0, *self._sizes))
        return (xp.reshape(x[o[0]:o[1]], (h, 64)), x[o[1]:o[2]], xp.reshape(x[o[2]:o[3]], (c, h)), x[o[3]:o[4]])

    def _logits(self, x: Any, X: Any) -> Any:
        xp = namespace(x)
        U, u, V, v = self._unpack(x)
        return xp.tanh(X @ U.T + u[None, :]) @ V.T + v[None, :]

    def _full_grad(self, x: Any) -> Any:
        xp = namespace(x)
        D = self.data(x)
        U, u, V, v = self._unpack(x)
        H = xp.tanh(D["X"] @ U.T + u[None, :])
        R = (_softmax_rows(xp, H @ V.T + v[None, :]) - D["Y"]) / self.n_samples
        Dh = (R @ V) * (1 - H * H)
        return xp.concat([xp.reshape(Dh.T @ D["X"], (-1,)), xp.sum(Dh, axis=0), xp.reshape(R.T @ H, (-1,)),
                          xp.sum(R, axis=0)])

    def grads_at(self, x: Any, idx: np.ndarray) -> Any:
        xp = namespace(x)
        D = self.data(x)
        U, u, V, v = self._unpack(x)
        ix = xp.asarray(np.asarray(idx, dtype=np.int64), device=x.device)
        Xb, Yb = xp.take(D["X"], ix, axis=0), xp.take(D["Y"], ix, axis=0)
        b = Xb.shape[0]
        H = xp.tanh(Xb @ U.T + u[None, :])  # (b, h)
        R = _softmax_rows(xp, H @ V.T + v[None, :]) - Yb  # dloss/dlogits (b, c)
        Dh = (R @ V) * (1 - H * H)  # dloss/dpre-activation (b, h)
        gU = xp.reshape(Dh[:, :, None] * Xb[:, None, :], (b, self._sizes[0]))
        gV = xp.reshape(R[:, :, None] * H[:, None, :], (b, self._sizes[2]))
        return xp.concat([gU, Dh, gV, R], axis=1) + self.reg * x[None, :]


def digits_mlp(seed: int = 0, *, hidden: int = 64, reg: float = 1e-4) -> DigitsMLP:
    """A 64-unit tanh MLP on scikit-learn's bundled digits (80/20 split by ``seed``), per-sample gradients."""
    return DigitsMLP(seed, hidden, reg)
