"""Gradient-regularized Newton methods with approximate Hessians (the GNS family).

Semenov, Jaggi, Doikov, "Gradient-Normalized Smoothness for Optimization with
Approximate Hessians", ICLR 2026 (arXiv:2506.13710): :func:`gns` (Algorithm 1 with the
adaptive gamma search), :func:`reg_newton` (fixed RegN), :func:`adan` (Mishchenko's line
search), and the baselines :func:`gradient_method` (GD in a metric) and :func:`newton`.
"""

from optlab.newton.methods import adan, gns, gradient_method, inexact, newton, reg_newton

__all__ = ["adan", "gns", "gradient_method", "inexact", "newton", "reg_newton"]
