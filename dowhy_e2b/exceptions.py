"""Errors and warnings raised by dowhy-e2b."""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "BalanceError",
    "BalanceWarning",
    "ConstantTreatmentWarning",
    "ConvergenceWarning",
    "DiscreteTreatmentWarning",
    "ExtrapolationWarning",
    "ThinSupportWarning",
]


class BalanceError(ValueError):
    """Balance could not be reached (``on_failure="raise"``); the message gives the measured
    imbalance, the effective sample size and what to try."""


class ExtrapolationWarning(UserWarning):
    """A requested treatment value lies outside the observed range of the treatment."""


class ConstantTreatmentWarning(UserWarning):
    """The treatment is constant: there is no dose-response to estimate (the effect is 0)."""


class DiscreteTreatmentWarning(UserWarning):
    """The treatment takes few distinct values: the curve is interpolated between them."""


class BalanceWarning(UserWarning):
    """The weights missed a documented balance threshold (largest weighted correlation of the
    treatment with a balanced feature, or effective sample size): the message names the worst
    covariates, what was measured, and what to try."""


class ThinSupportWarning(ExtrapolationWarning):
    """A requested dose lies where the weighted data are thin: few effective units near it, so the
    curve there leans on the smoother more than on data (the message gives the local effective
    sample size)."""
