"""Problem families with closed-form answers (minimizers, optimal values, constants).

Every family follows the protocol of :class:`optlab.problems.base.Problem`.
"""

from optlab.problems.base import Problem
from optlab.problems.logistic import Logistic, logistic_nonseparable, logistic_separable
from optlab.problems.logsumexp import LogSumExp, SoftmaxRegression, logsumexp_shifted, softmax_regression
from optlab.problems.quadratic import Quadratic, nesterov_worst_case, quadratic
from optlab.problems.rosenbrock import Rosenbrock

__all__ = [
    "LogSumExp",
    "Logistic",
    "Problem",
    "Quadratic",
    "Rosenbrock",
    "SoftmaxRegression",
    "logistic_nonseparable",
    "logistic_separable",
    "logsumexp_shifted",
    "nesterov_worst_case",
    "quadratic",
    "softmax_regression",
]
