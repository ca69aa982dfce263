"""Problem families with closed-form answers (minimizers, optimal values, constants).

Every family follows the protocol of :class:`optlab.problems.base.Problem`.
"""

from optlab.problems.base import Problem
from optlab.problems.logistic import Logistic, logistic_nonseparable, logistic_separable
from optlab.problems.logsumexp import LogSumExp, SoftmaxRegression, logsumexp_shifted, softmax_regression
from optlab.problems.quadratic import Quadratic, nesterov_worst_case, quadratic
from optlab.problems.rosenbrock import Rosenbrock
from optlab.problems.separable import (
    SeparableData,
    cone_set,
    digits_pair,
    iris_pair,
    is_separable,
    max_margin,
    two_point_set,
    wine_pair,
    worst_case_bp_iterations,
    worst_case_set,
)

__all__ = [
    "LogSumExp",
    "Logistic",
    "Problem",
    "Quadratic",
    "Rosenbrock",
    "SeparableData",
    "SoftmaxRegression",
    "cone_set",
    "digits_pair",
    "iris_pair",
    "is_separable",
    "logistic_nonseparable",
    "logistic_separable",
    "logsumexp_shifted",
    "max_margin",
    "nesterov_worst_case",
    "quadratic",
    "softmax_regression",
    "two_point_set",
    "wine_pair",
    "worst_case_bp_iterations",
    "worst_case_set",
]
