"""optlab.classification._kernels: the fused Numba pass against the generic array-API pass.

Most data here lie on a coarse dyadic lattice (multiples of 1/16 with small numerators):
every product and partial sum of ``Z @ phi`` is then exact in float32 and float64, so
the margins do not depend on the order of summation and ``n_nonpos`` and ``min_margin``
can be compared exactly, ties ``m = 0`` included. ``g`` is compared column-wise with the
tolerance ``rtol * sum_i |w_i z_ij|`` (the error bound of a sum; a plain relative test
would fail on columns where the terms cancel).
"""

from __future__ import annotations

import math

import array_api_strict as xps
import numpy as np
import pytest
from numba import njit
from scipy.special import expit, log_softmax

from optlab.classification import (
    _kernels,
    _passes,
    batch_perceptron,
    lr_gd,
    normalized_batch_perceptron,
    normalized_lr_gd,
    perceptron,
)
from optlab.classification._passes import BATCH, LOGISTIC, NORMALIZED, NORMALIZED_BATCH, SINGLE
from optlab.classification.methods import _pass_function

MODES = (LOGISTIC, NORMALIZED, BATCH, NORMALIZED_BATCH, SINGLE)
MODE_NAMES = {LOGISTIC: "logistic", NORMALIZED: "normalized", BATCH: "batch", NORMALIZED_BATCH: "nbatch",
              SINGLE: "single"}
GAMMAS = (1e-3, 1.0, 100.0, 1e8)
# n x d: n = 1, d = 1, remainders of the 8- and 4-wide column steps, of the 4- and 8-row
# groups and of the blocks (48 rows at d = 20, 16 at d = 100), d > 64 (four rows per sweep)
SHAPES = ((1, 1), (1, 13), (5, 4), (7, 1), (37, 12), (203, 20), (129, 100), (70, 67))
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def lattice(rng, shape, dtype, k=64):
    return (rng.integers(-k, k + 1, size=shape) / 16.0).astype(dtype)


def ref_weights(Z, phi, gamma, mode):
    """The weights of g (float64), computed independently with SciPy."""
    m = Z @ phi
    if mode == LOGISTIC:
        return expit(-gamma * m)
    if mode == NORMALIZED:
        return np.exp(log_softmax(-np.logaddexp(0.0, gamma * m)))
    nonpos = (m <= 0).astype(np.float64)
    if mode == BATCH:
        return nonpos
    if mode == NORMALIZED_BATCH:
        return nonpos / max(1.0, nonpos.sum())
    w = np.zeros_like(m)
    if nonpos.any():
        w[np.argmax(nonpos)] = 1.0
    return w


def assert_same_pass(r, ref, Z, phi, gamma, mode, rtol_g, rtol=1e-12, g_ref=None, case=""):
    """Compare a kernel result with a generic one; the tolerances scale with |w| @ |Z|."""
    Z64, phi64 = Z.astype(np.float64), phi.astype(np.float64)
    n = Z.shape[0]
    w = ref_weights(Z64, phi64, gamma, mode)
    s = gamma if mode in (LOGISTIC, NORMALIZED) else 1.0
    sig = expit(-s * (Z64 @ phi64))
    tiny = 1e-300
    assert r.n_nonpos == ref.n_nonpos, case
    assert isinstance(r.n_nonpos, int) and isinstance(r.min_margin, float), case
    assert r.min_margin == ref.min_margin, case
    assert r.g.dtype == Z.dtype and r.g.shape == (Z.shape[1],), case
    g_ref = np.asarray(ref.g, dtype=np.float64) if g_ref is None else g_ref
    np.testing.assert_allclose(r.g, g_ref, rtol=rtol_g, atol=rtol_g * (np.abs(w) @ np.abs(Z64)).max() + tiny,
                               err_msg=case)
    np.testing.assert_allclose(r.loss, ref.loss, rtol=rtol, atol=tiny, err_msg=case)
    gn_scale = np.linalg.norm(sig @ np.abs(Z64)) / n
    if mode == NORMALIZED:
        gn_scale = np.exp(np.log(sig.mean()) if sig.any() else -np.inf) * np.linalg.norm(w @ np.abs(Z64))
    np.testing.assert_allclose(r.grad_norm, ref.grad_norm, rtol=rtol, atol=rtol * gn_scale + tiny, err_msg=case)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", MODES, ids=MODE_NAMES.get)
def test_matches_generic_pass(mode, dtype, shape):
    rng = np.random.default_rng(hash((mode, shape)) % 2**32)
    Z = lattice(rng, shape, dtype)
    gammas = GAMMAS if mode in (LOGISTIC, NORMALIZED) else (1.0,)
    for phi_kind in ("random", "zero", "ties"):
        if phi_kind == "zero":
            phi = np.zeros(shape[1], dtype=dtype)  # every margin is a tie m = 0
        elif phi_kind == "ties":
            phi = lattice(rng, shape[1], dtype, k=2)  # many exact zeros among small margins
        else:
            phi = lattice(rng, shape[1], dtype)
        for gamma in gammas:
            case = f"{MODE_NAMES[mode]} {np.dtype(dtype).name} {shape} phi={phi_kind} gamma={gamma}"
            r = _kernels.data_pass(Z, phi, gamma, mode)
            if dtype == np.float64:
                ref = _passes.data_pass(Z, phi, gamma, mode)
                assert_same_pass(r, ref, Z, phi, gamma, mode, 1e-12, case=case)
            else:
                # the kernel accumulates in float64: loss and grad_norm match the float64 pass
                # of the same values to 1e-12, g matches the float32 pass to 1e-5 and is the
                # float64 pass's g correctly rounded to float32 (up to the float64 error)
                ref64 = _passes.data_pass(Z.astype(np.float64), phi.astype(np.float64), gamma, mode)
                ref32 = _passes.data_pass(Z, phi, gamma, mode)
                assert_same_pass(r, ref64, Z, phi, gamma, mode, RTOL[np.float32],
                                 g_ref=np.asarray(ref32.g, np.float64), case=case)
                w = ref_weights(Z.astype(np.float64), phi.astype(np.float64), gamma, mode)
                np.testing.assert_allclose(r.g, ref64.g, rtol=2.0**-24,
                                           atol=1e-12 * (np.abs(w) @ np.abs(Z.astype(np.float64))).max() + 1.5e-45,
                                           err_msg=case)
            if mode == SINGLE:  # exactly the first row with m <= 0, or zeros
                np.testing.assert_array_equal(r.g, np.asarray(_passes.data_pass(Z, phi, gamma, mode).g))


@pytest.mark.parametrize("mode", MODES, ids=MODE_NAMES.get)
def test_gaussian_data(mode):
    """Non-lattice data: margins now depend on the summation order, so compare with tolerances."""
    rng = np.random.default_rng(mode)
    Z = rng.standard_normal((1000, 37))
    phi = rng.standard_normal(37)
    for gamma in (1.0, 30.0):
        r = _kernels.data_pass(Z, phi, gamma, mode)
        ref = _passes.data_pass(Z, phi, gamma, mode)
        m = Z @ phi
        assert r.n_nonpos == ref.n_nonpos == int((m <= 0).sum())  # no margin within rounding of 0 here
        assert np.abs(m).min() > 1e-10
        assert math.isclose(r.min_margin, ref.min_margin, rel_tol=1e-12, abs_tol=1e-13 * np.abs(Z).max())
        w = ref_weights(Z, phi, gamma, mode)
        np.testing.assert_allclose(r.g, ref.g, rtol=1e-12, atol=1e-12 * (np.abs(w) @ np.abs(Z)).max())
        assert math.isclose(r.loss, ref.loss, rel_tol=1e-12)
        assert math.isclose(r.grad_norm, ref.grad_norm, rel_tol=1e-11)


def two_pass_normalized(Z, phi, gamma):
    """Reference softmax pass in extended precision: max first, then the weighted sum."""
    Zl = Z.astype(np.longdouble)
    m = Zl @ phi.astype(np.longdouble)
    t = gamma * m
    log_w = -(np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t))))
    top = log_w.max()
    e = np.exp(log_w - top)
    g = (e @ Zl) / e.sum()
    return g.astype(np.float64), float(top)


def test_normalized_all_margins_hugely_positive():
    """Every sigma(-gamma m) underflows to 0: the softmax weights must not become 0/0."""
    rng = np.random.default_rng(1)
    n, d = 500, 6
    phi = np.zeros(d)
    phi[0] = 1.0
    Z = rng.standard_normal((n, d))
    Z[:, 0] = rng.uniform(1e3, 5e3, n)  # margins 1e3 .. 5e3: exp(-m) == 0 in float64
    for gamma in (1.0, 100.0, 1e8):
        r = _kernels.data_pass(Z, phi, gamma, NORMALIZED)
        g_ref, _ = two_pass_normalized(Z, phi, gamma)
        assert np.all(np.isfinite(r.g))
        np.testing.assert_allclose(r.g, g_ref, rtol=1e-12, atol=1e-12 * np.abs(Z).max())
        i = np.argmin(Z[:, 0])
        if gamma >= 100.0:  # the row with the smallest margin carries all the weight
            np.testing.assert_array_equal(r.g, Z[i])
        assert r.n_nonpos == 0 and r.min_margin == Z[i, 0]
        assert r.grad_norm == 0.0 and r.loss == 0.0  # sigma and log1p(e^-m) underflow, as in the generic pass
        ref = _passes.data_pass(Z, phi, gamma, NORMALIZED)
        np.testing.assert_allclose(r.g, ref.g, rtol=1e-12, atol=1e-12 * np.abs(Z).max())


@pytest.mark.parametrize("order", ["increasing", "decreasing", "shuffled"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_normalized_margins_span_thousands_of_nats(order, dtype):
    """Log-weights from -6000 to +-0: 'increasing' raises the running max in every block (rescales)."""
    rng = np.random.default_rng(2)
    n, d = 3000, 5
    margins = np.linspace(6000.0, -20.0, n)  # log sigma(-m) increases along the rows
    if order == "decreasing":
        margins = margins[::-1]
    elif order == "shuffled":
        margins = rng.permutation(margins)
    Z = rng.standard_normal((n, d))
    Z[:, 0] = margins
    Z = Z.astype(dtype)
    phi = np.zeros(d, dtype=dtype)
    phi[0] = 1
    g_ref, top = two_pass_normalized(Z, phi, 1.0)
    r = _kernels.data_pass(Z, phi, 1.0, NORMALIZED)
    assert np.all(np.isfinite(r.g))
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(r.g, g_ref, rtol=tol, atol=tol * np.abs(Z).max())
    ref = _passes.data_pass(Z.astype(np.float64), phi.astype(np.float64), 1.0, NORMALIZED)
    assert math.isclose(r.grad_norm, ref.grad_norm, rel_tol=1e-12)
    assert math.isclose(r.loss, ref.loss, rel_tol=1e-12)
    # the kernel's reference M stays within the rescale margin below the true maximum
    for rows in (1, 4, 32):
        g = np.zeros(d)
        _, _, _, big_m, ssum, _ = _kernels._pass(Z, phi.astype(np.float64), 1.0, NORMALIZED, rows, 0, g, np.zeros(d))
        assert top - _kernels._RESCALE_NATS <= big_m <= top
        assert 1.0 <= ssum <= n * math.exp(_kernels._RESCALE_NATS)
        np.testing.assert_allclose(g / ssum, g_ref, rtol=tol, atol=tol * np.abs(Z).max())


def test_block_and_prefetch_settings_do_not_change_results():
    """Blocks of any size, with or without prefetch, give the same numbers (bitwise, except g's sum order)."""
    rng = np.random.default_rng(3)
    Z = lattice(rng, (301, 23), np.float64)
    phi = lattice(rng, 23, np.float64, k=4)
    for mode in MODES:
        outs = []
        for rows, ahead in ((1, 0), (3, 0), (8, 16), (32, 64), (400, 0)):
            g, g2 = np.zeros(23), np.zeros(23)
            res = _kernels._pass(Z, phi, 7.0, mode, rows, ahead, g, g2)
            if mode == NORMALIZED:  # g and ssum are relative to a reference M that depends on the blocks
                g /= res[4]
            outs.append((res, g, g2))
        for res, g, g2 in outs[1:]:
            assert res[1:3] == outs[0][0][1:3] and res[5] == outs[0][0][5]  # count, min, first: exact
            assert math.isclose(res[0], outs[0][0][0], rel_tol=1e-13)
            np.testing.assert_allclose(g, outs[0][1], rtol=1e-12, atol=1e-12 * np.abs(Z).sum(axis=0).max())
            np.testing.assert_allclose(g2, outs[0][2], rtol=1e-12, atol=1e-12 * np.abs(Z).sum(axis=0).max())


def test_deterministic_and_types():
    rng = np.random.default_rng(4)
    Z = rng.standard_normal((777, 31))
    phi = rng.standard_normal(31)
    for mode in MODES:
        a = _kernels.data_pass(Z, phi, 3.0, mode)
        b = _kernels.data_pass(Z, phi, 3.0, mode)
        np.testing.assert_array_equal(a.g, b.g)
        assert (a.loss, a.grad_norm, a.n_nonpos, a.min_margin) == (b.loss, b.grad_norm, b.n_nonpos, b.min_margin)
        assert type(a.loss) is float and type(a.grad_norm) is float and type(a.min_margin) is float
        assert type(a.n_nonpos) is int and type(a.g) is np.ndarray
    # a Fortran-ordered Z is accepted (copied) and gives the same result
    c = _kernels.data_pass(np.asfortranarray(Z), phi, 3.0, LOGISTIC)
    np.testing.assert_array_equal(c.g, _kernels.data_pass(Z, phi, 3.0, LOGISTIC).g)
    # SINGLE returns a copy of the row, not a view
    r = _kernels.data_pass(Z, np.zeros(31), 1.0, SINGLE)
    r.g[0] += 1.0
    assert Z[0, 0] != r.g[0]


@njit(cache=False, error_model="numpy")
def _log1p_unit_array(u, out):
    for i in range(u.shape[0]):
        out[i] = _kernels._log1p_unit(u[i])


@njit(cache=False, error_model="numpy")
def _logistic_array(t, loss, sig, log_w):
    for i in range(t.shape[0]):
        loss[i], sig[i], log_w[i] = _kernels._logistic(t[i])


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an extended long double")
def test_log1p_unit_accuracy():
    rng = np.random.default_rng(5)
    u = np.concatenate([np.linspace(0.0, 1.0, 20001), rng.uniform(0, 1, 20000), 10.0 ** rng.uniform(-300, 0, 20000),
                        [5e-324, 1e-310, 2.2250738585072014e-308, 1e-17, 1e-8]])
    out = np.empty_like(u)
    _log1p_unit_array(u, out)
    ref = np.log1p(u.astype(np.longdouble))
    nz = ref > 0
    assert np.all(out[~nz] == 0.0)
    ulp = np.spacing(ref[nz].astype(np.float64))
    err = np.abs(out[nz].astype(np.longdouble) - ref[nz]) / ulp
    assert err.max() <= 2.0, err.max()


def test_logistic_extremes():
    t = np.array([0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 36.0, -36.0, 700.0, -700.0, 740.0, -740.0, 800.0, -800.0,
                  1e8, -1e8, 1e300, -1e300])
    loss, sig, log_w = np.empty_like(t), np.empty_like(t), np.empty_like(t)
    _logistic_array(t, loss, sig, log_w)
    # subnormal results (t = 740) may differ by a step of 5e-324
    np.testing.assert_allclose(loss, np.logaddexp(0.0, -t), rtol=4e-16, atol=1e-323)
    np.testing.assert_allclose(log_w, -np.logaddexp(0.0, t), rtol=4e-16, atol=0)
    normal = np.abs(t) < 700
    np.testing.assert_allclose(sig[normal], expit(-t[normal]), rtol=6e-16, atol=0)
    ref = np.exp(-np.logaddexp(0.0, t[~normal]))  # as the generic pass (scipy's expit(-740) is 0)
    np.testing.assert_allclose(sig[~normal], ref, rtol=0, atol=2 * 5e-324)  # subnormal or 0 or 1
    assert sig[0] == sig[1] == 0.5 and loss[0] == math.log(2.0) == -log_w[0]
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(log_w))


# ----------------------------------------------------------------------------------------
# End to end: the golden counts on the worst-case set (n = 1000) through the Numba path
# ----------------------------------------------------------------------------------------


def worst_case(n=1000):
    X = np.array([[0.5, -1.0]] + [[-0.5, -1.0]] * (n - 1))
    y = np.array([1.0] + [-1.0] * (n - 1))
    return X, y


def test_numpy_runs_use_the_kernel():
    assert _pass_function(np.ones((2, 2))) is _kernels.data_pass
    assert _pass_function(np.ones((2, 2), dtype=np.float32)) is _kernels.data_pass
    assert _pass_function(xps.ones((2, 2))) is _passes.data_pass


@pytest.mark.parametrize(
    ("method", "gamma", "nit"),
    [
        (normalized_lr_gd, 100.0, 2),
        (normalized_lr_gd, 10.0, 2),
        (normalized_lr_gd, 1.0, 16),
        (normalized_lr_gd, 0.1, 157),
        (lr_gd, 100.0, 308),
        (batch_perceptron, None, 301),
        (normalized_batch_perceptron, None, 2),
    ],
    ids=["nlrgd-100", "nlrgd-10", "nlrgd-1", "nlrgd-0.1", "lrgd-100", "bp", "nbp"],
)
def test_worst_case_golden_counts(method, gamma, nit):
    X, y = worst_case()
    args = (gamma,) if gamma is not None else ()
    res = method(X, y, *args, record_every=10**6)
    assert res.nit == nit
    assert res.status == "converged"
    ref = method(xps.asarray(X), xps.asarray(y), *args, record_every=10**6)  # the generic path
    assert ref.nit == nit
    np.testing.assert_allclose(res.x, np.asarray(ref.x), rtol=1e-12, atol=1e-12 * np.abs(np.asarray(ref.x)).max())


def test_perceptron_numpy_equals_generic():
    rng = np.random.default_rng(6)
    w = rng.standard_normal(5)
    X = rng.standard_normal((300, 5))
    X += 0.3 * np.sign(X @ w)[:, None] * w / np.linalg.norm(w)
    y = np.sign(X @ w)
    res = perceptron(X, y)
    ref = perceptron(xps.asarray(X), xps.asarray(y))
    assert res.nit == ref.nit and res.status == "converged"
    np.testing.assert_array_equal(res.x, np.asarray(ref.x))  # sums of rows of Z, in the same order
