"""Problem families with closed-form answers (minimizers, optimal values, constants).

Every family follows the protocol of :class:`optlab.problems.base.Problem`.
"""

from optlab.problems.base import Problem
from optlab.problems.quadratic import Quadratic, nesterov_worst_case, quadratic

__all__ = ["Problem", "Quadratic", "nesterov_worst_case", "quadratic"]
