"""Adaptive batch sizes for AdaGrad and AdaGrad-Norm (AdAdaGrad, AdAdaGradNorm).

Lau, Liu, Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient Methods",
arXiv:2402.11215 (2024). :func:`adagrad_norm` and :func:`adagrad` run with a constant,
stagewise-doubling or linear-ramp batch schedule, or with an adaptive batch test (norm,
inner-product, augmented inner-product, coordinate-wise norm) capped at ``b_max``;
:func:`batch_statistics` and :func:`batch_size_estimate` are the tests' building blocks.
"""

from optlab.batching._stats import TESTS, BatchStats, batch_size_estimate, batch_statistics
from optlab.batching.methods import BATCH_RULES, adagrad, adagrad_norm

__all__ = ["BATCH_RULES", "TESTS", "BatchStats", "adagrad", "adagrad_norm", "batch_size_estimate",
           "batch_statistics"]
