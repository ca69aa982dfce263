"""Bilevel optimization under unbounded smoothness: BO-REP and its baselines.

Hao, Gong, Liu, "Bilevel Optimization under Unbounded Smoothness: A New Algorithm and Convergence
Analysis", ICLR 2024 (arXiv:2401.09587); spec ``shared/papers/bo_rep.md``.

- :func:`bo_rep` (practical mode) and :func:`bo_rep_theory` (theory mode, parameters from
  :func:`theory_parameters`), with the SOBA-style ``z`` recursion or a Neumann-series option;
- baselines :func:`stocbio`, :func:`soba`, :func:`ma_soba`, :func:`ttsa`.

Methods take any problem with the oracle protocol of :mod:`optlab.problems.bilevel` (they import
none), count oracle calls by kind (trace ``calls_grad_f``, ``calls_grad_g``, ``calls_hvp``,
``calls_jvp``, ``calls``), keep one random stream per oracle kind, and end with status
``diverged`` (never an exception or a silent NaN) when a value overflows. Generic array-API code;
on NumPy inputs with a quadratic lower level the lower-level SGD and Neumann loops run in Numba
(:mod:`optlab.bilevel._kernels`) on the same random numbers.
"""

from optlab.bilevel.baselines import ma_soba, soba, stocbio, ttsa
from optlab.bilevel.borep import bo_rep, bo_rep_theory, theory_parameters

__all__ = ["bo_rep", "bo_rep_theory", "ma_soba", "soba", "stocbio", "theory_parameters", "ttsa"]
