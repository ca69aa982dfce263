"""Entropic optimal transport: fast Sinkhorn and Sinkhorn-Newton-Sparse (SNS).

- :func:`sinkhorn`: Sinkhorn's algorithm, log domain (``method="log"``) or scaling domain
  (``method="kernel"``), in the manner of POT's ``ot.sinkhorn(a, b, M, reg)``.
- :func:`sns`: Sinkhorn-Newton-Sparse, Tang et al., "Accelerating Sinkhorn Algorithm with
  Sparse Newton Iterations", ICLR 2024 (arXiv:2401.12253), Algorithm 1.
- :func:`sinkhorn_newton`: the Sinkhorn-Newton baseline (Brauer, Clason, Lorenz, Wirth 2017):
  full Newton steps with a matrix-free Hessian and CG.
- :func:`dense_newton`: Newton with the dense Hessian and a line search, the reference for small
  problems (optimal dual value to machine precision).
- :func:`round_to_feasible`, :func:`primal_value`: a feasible plan and its primal value, which
  bound the optimal dual value from above.
- :func:`warm_up`: compile the Numba kernels before anything is timed.

NumPy float32/float64 inputs run Numba kernels (:mod:`optlab.ot._kernels`); other array-API
arrays (CuPy, ``array_api_strict``) run the same algorithms in their own namespace.
"""

from optlab.ot._common import primal_value, round_to_feasible
from optlab.ot._warm import warm_up
from optlab.ot.newton import dense_newton, sinkhorn_newton, sns
from optlab.ot.sinkhorn import sinkhorn

__all__ = ["dense_newton", "primal_value", "round_to_feasible", "sinkhorn", "sinkhorn_newton", "sns", "warm_up"]
