"""Problem families with closed-form answers (minimizers, optimal values, constants).

Every family follows the protocol of :class:`optlab.problems.base.Problem`.
"""

from optlab.problems.base import Problem
from optlab.problems.logistic import Logistic, logistic_nonseparable, logistic_separable
from optlab.problems.logsumexp import LogSumExp, SoftmaxRegression, logsumexp_shifted, softmax_regression
from optlab.problems.newton_families import (
    ChebyshevChain,
    CubicPlusLinear,
    LinearEquations,
    LogisticApprox,
    LogSumExpShifted,
    NonlinearEquations,
    PowerChain,
    RosenbrockNLE,
    SqrtOnePlusSq,
    chebyshev_chain,
    cubic_plus_linear,
    logistic_label_noise,
    lse_shifted,
    nle_linear,
    power_chain,
    rosenbrock_nle,
    sqrt_one_plus_sq,
)
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
    "ChebyshevChain",
    "CubicPlusLinear",
    "LinearEquations",
    "LogSumExp",
    "LogSumExpShifted",
    "Logistic",
    "LogisticApprox",
    "NonlinearEquations",
    "PowerChain",
    "Problem",
    "Quadratic",
    "Rosenbrock",
    "RosenbrockNLE",
    "SeparableData",
    "SoftmaxRegression",
    "SqrtOnePlusSq",
    "chebyshev_chain",
    "cone_set",
    "cubic_plus_linear",
    "digits_pair",
    "iris_pair",
    "is_separable",
    "logistic_label_noise",
    "logistic_nonseparable",
    "logistic_separable",
    "logsumexp_shifted",
    "lse_shifted",
    "max_margin",
    "nesterov_worst_case",
    "nle_linear",
    "power_chain",
    "quadratic",
    "rosenbrock_nle",
    "softmax_regression",
    "sqrt_one_plus_sq",
    "two_point_set",
    "wine_pair",
    "worst_case_bp_iterations",
    "worst_case_set",
]
