"""Classification by gradient descent with large steps and the perceptrons it tends to.

Tyurin, "From Logistic Regression to the Perceptron Algorithm: Exploring Gradient
Descent with Large Step Sizes", AAAI 2025 (arXiv:2412.08424): LR+GD for any step size
(``gamma = inf`` is the Batch Perceptron), Normalized LR+GD (``gamma = inf`` is the
Normalized Batch Perceptron), and the classical perceptron.
"""

from optlab.classification.methods import (
    batch_perceptron,
    is_separable,
    lr_gd,
    normalized_batch_perceptron,
    normalized_lr_gd,
    perceptron,
    prepare_data,
)

__all__ = [
    "batch_perceptron",
    "is_separable",
    "lr_gd",
    "normalized_batch_perceptron",
    "normalized_lr_gd",
    "perceptron",
    "prepare_data",
]
