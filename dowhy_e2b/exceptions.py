"""Errors and warnings raised by dowhy-e2b.

Every error about the input is a subclass of ``ValueError`` whose message names the parameter or
column, what was expected, what was found, and what to do about it.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "BalanceError",
    "BalanceWarning",
    "ColumnTypeError",
    "ConstantTreatmentWarning",
    "ContrastError",
    "ConvergenceWarning",
    "DiscreteTreatmentWarning",
    "DuplicateColumnError",
    "EmptyDataError",
    "ExtrapolationWarning",
    "InvalidDataError",
    "MissingValueError",
    "ThinSupportWarning",
    "TooManyConstraintsError",
    "TooManyLevelsError",
]


class BalanceError(ValueError):
    """Balance could not be reached (``on_failure="raise"``); the message gives the measured
    imbalance, the effective sample size and what to try."""


class InvalidDataError(ValueError):
    """The data cannot be used as they are. Base class of the errors below; the message names the
    column, what was found and the fix."""


class EmptyDataError(InvalidDataError):
    """The data have no rows, or a column used by the estimate has no values (all missing)."""


class MissingValueError(InvalidDataError):
    """A column used by the estimate has missing or infinite values."""


class DuplicateColumnError(InvalidDataError):
    """Two columns of the data share a name that the estimate uses."""


class ColumnTypeError(InvalidDataError, TypeError):
    """A column is of a kind the estimators cannot use as it stands: dates and durations, numbers
    written as text (``"$1,234"``, ``"12%"``), or text where a number is needed (the treatment,
    the outcome). Also a ``TypeError``."""


class TooManyLevelsError(InvalidDataError):
    """A text or categorical confounder has more distinct values than
    :data:`dowhy_e2b._validation.MAX_LEVELS` (each level becomes a column to balance)."""


class TooManyConstraintsError(InvalidDataError):
    """Balancing needs fewer constraints than rows; the message says which columns create them."""


class ContrastError(ValueError):
    """The two doses of a contrast coincide, so the contrast is 0 by construction."""


class ExtrapolationWarning(UserWarning):
    """A requested treatment value lies outside the observed range of the treatment."""


class ConstantTreatmentWarning(UserWarning):
    """The treatment is constant: there is no dose-response to estimate (the effect is 0)."""


class DiscreteTreatmentWarning(UserWarning):
    """The treatment takes few distinct values: the curve is interpolated between them."""


class BalanceWarning(UserWarning):
    """The weights missed a documented balance threshold (largest weighted correlation of the
    treatment with a balanced feature, or effective sample size): the message names the worst
    covariates, what was measured, and what to try. The thresholds are
    :data:`dowhy_e2b.balance_check.MAX_ABS_CORR` and :data:`dowhy_e2b.balance_check.MIN_ESS_FRACTION`."""


class ThinSupportWarning(ExtrapolationWarning):
    """A requested dose lies where the weighted data are thin: few effective units near it, so the
    curve there leans on the smoother more than on data (the message gives the local effective
    sample size)."""
