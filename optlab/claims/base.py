"""The claim: a theorem's stated rate as an executable check with a negative control.

A claim is a small class: its identity (id, paper, theorem, statement), the kind of
check (``bound``, ``order``, ``exact``, ``comparison``), the quantity and the stated
rate, an experiment :meth:`Claim.run` that returns one :class:`Series` per seed, and a
:meth:`Claim.check` that turns the series into an :class:`Outcome` with the shared
fitting code of :mod:`optlab.rates`. The same ``check`` is applied to the negative
control (``run(..., control=True)``: a broken variant or a wrong rate), which must
fail. :func:`run_claim` does both and returns a :class:`Verdict`; reports, JSON and
figures are all drawn from verdicts, never from a second run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from optlab.rates import BoundCheck, Fit

__all__ = ["Claim", "Outcome", "Series", "Verdict", "run_claim"]

KINDS = ("bound", "order", "exact", "comparison")


@dataclass
class Series:
    """What one seed of an experiment measured.

    Attributes
    ----------
    k : numpy.ndarray
        Abscissa: iterations, oracle calls, sizes, ``1/eps``...
    y : numpy.ndarray
        The claim's quantity at each ``k``.
    bound : numpy.ndarray or None
        The stated bound at each ``k`` (bound claims).
    seed : int
        The seed that produced it.
    info : dict
        Anything else worth keeping (problem name, status, step...).
    """

    k: np.ndarray
    y: np.ndarray
    bound: np.ndarray | None = None
    seed: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.k = np.asarray(self.k, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        if self.k.shape != self.y.shape:
            raise ValueError(f"k and y must have the same shape, got {self.k.shape} and {self.y.shape}")
        if self.bound is not None:
            self.bound = np.asarray(self.bound, dtype=np.float64)
            if self.bound.shape != self.y.shape:
                raise ValueError("bound must have the shape of y")


@dataclass
class Outcome:
    """Result of a claim's check on a set of series.

    Attributes
    ----------
    passed : bool
        Whether the stated rate or bound holds.
    fitted : str
        The measured numbers in words (fitted rate with its interval, worst ratio).
    fit : Fit or None
        The fitted rate, if the check fits one (drawn on the figure).
    bound : BoundCheck or None
        The bound check, if the check has one.
    numbers : dict
        Machine-readable measured numbers.
    """

    passed: bool
    fitted: str
    fit: Fit | None = None
    bound: BoundCheck | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """A claim's verdict and its negative control's, with the series they came from."""

    claim: Claim
    outcome: Outcome
    control: Outcome
    series: list[Series]
    control_series: list[Series]
    seconds: float
    quick: bool

    @property
    def verdict(self) -> str:
        """``"pass"`` or ``"fail"`` for the claim itself."""
        return "pass" if self.outcome.passed else "fail"

    @property
    def control_verdict(self) -> str:
        """Verdict of the negative control; it must be ``"fail"``."""
        return "pass" if self.control.passed else "fail"

    @property
    def holds(self) -> bool:
        """The claim holds: it passes and its control is rejected."""
        return self.outcome.passed and not self.control.passed

    def record(self) -> dict[str, Any]:
        """The JSON record of ``optlab verify --json``."""
        c = self.claim
        return {
            "id": c.id, "paper": c.paper, "theorem": c.theorem, "kind": c.kind,
            "statement": c.statement, "quantity": c.quantity, "stated": c.stated,
            "fitted": self.outcome.fitted, "verdict": self.verdict,
            "control": c.control, "control_fitted": self.control.fitted,
            "control_verdict": self.control_verdict, "holds": self.holds,
            "numbers": _jsonable(self.outcome.numbers),
            "control_numbers": _jsonable(self.control.numbers),
            "seeds": [s.seed for s in self.series], "quick": self.quick,
            "seconds": round(self.seconds, 3),
        }


class Claim:
    """Base class of claims; subclasses set the class attributes and two methods.

    Class attributes
    ----------------
    id : str
        ``<paper>.<name>``, e.g. ``"calib.gd_linear"``.
    paper, theorem, statement : str
        The source, the theorem number, and the statement in one plain sentence.
    kind : str
        One of ``bound``, ``order``, ``exact``, ``comparison``; the docstring says why.
    quantity, stated : str
        What is measured, and the stated rate or bound with its constants.
    control : str
        The negative control in words.
    seeds, quick_seeds : int
        Number of seeds in the full and in the quick set (1 for deterministic
        experiments).
    xscale : str
        ``"log"`` or ``"linear"`` axis for figures of this claim.
    """

    id: ClassVar[str]
    paper: ClassVar[str]
    theorem: ClassVar[str]
    statement: ClassVar[str]
    kind: ClassVar[str]
    quantity: ClassVar[str]
    stated: ClassVar[str]
    control: ClassVar[str]
    seeds: ClassVar[int] = 5
    quick_seeds: ClassVar[int] = 3
    xscale: ClassVar[str] = "linear"
    xlabel: ClassVar[str] = "iteration k"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "kind", None) is not None and cls.kind not in KINDS:
            raise ValueError(f"{cls.__name__}.kind must be one of {KINDS}, got {cls.kind!r}")

    def run(self, seed: int, *, quick: bool, control: bool) -> Series:
        """Run the experiment for one seed; ``control=True`` runs the negative control."""
        raise NotImplementedError

    def check(self, series: list[Series]) -> Outcome:
        """Decide from all seeds' series whether the stated rate or bound holds."""
        raise NotImplementedError

    def seed_list(self, quick: bool, n: int | None = None) -> list[int]:
        """The seeds to run (``n`` overrides the claim's count, except for deterministic claims)."""
        default = self.quick_seeds if quick else self.seeds
        if n is None or default == 1:
            n = default
        return list(range(int(n)))

    def __repr__(self) -> str:
        return f"<Claim {self.id}: {self.paper}, {self.theorem}>"


def run_claim(claim: Claim, *, quick: bool = False, seeds: int | None = None) -> Verdict:
    """Run a claim and its negative control on the same seeds and check both."""
    t0 = time.perf_counter()
    seed_list = claim.seed_list(quick, seeds)
    series = [claim.run(s, quick=quick, control=False) for s in seed_list]
    control_series = [claim.run(s, quick=quick, control=True) for s in seed_list]
    outcome = claim.check(series)
    control = claim.check(control_series)
    return Verdict(claim, outcome, control, series, control_series, time.perf_counter() - t0, quick)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else str(v)
    if isinstance(obj, (np.integer, int, bool, np.bool_)):
        return obj.item() if hasattr(obj, "item") else obj
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj if isinstance(obj, (str, type(None))) else str(obj)

