"""Online convex optimization in the stochastically extended adversarial (SEA) model.

Chen, Zhang, Tu, Zhao, Zhang, "Optimistic Online Mirror Descent for Bridging Stochastic and Adversarial
Online Convex Optimization", ICML 2023 / JMLR 2024 (arXiv:2302.04552): optimistic OMD (Euclidean on a ball,
negative entropy on the simplex, ONS-type for exp-concave losses), its dynamic-regret ensemble, and the
baselines OGD, ONS, optimistic FTRL and optimistic FTL (Sachs et al. 2022). The problems are in
:mod:`optlab.problems.online`.
"""

from optlab.online.methods import dynamic_omd, ogd, optimistic_ftl_sc, optimistic_ftrl, optimistic_omd, record_rounds
from optlab.online.ons import metric_projection_simplex, ons, optimistic_ons

__all__ = [
    "dynamic_omd",
    "metric_projection_simplex",
    "ogd",
    "ons",
    "optimistic_ftl_sc",
    "optimistic_ftrl",
    "optimistic_omd",
    "optimistic_ons",
    "record_rounds",
]
