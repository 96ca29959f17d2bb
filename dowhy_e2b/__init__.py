"""dowhy-e2b: continuous-treatment causal inference for DoWhy.

Entropy balancing and End-to-End Balancing (E2B) weights for a continuous treatment, the
average dose-response curve with bootstrap bands, and a DoWhy plugin: after ``import dowhy_e2b``,
``CausalModel.estimate_effect(..., method_name="e2b")`` (also ``"entropy_balancing"``,
``"gps_weighting"``, ``"unweighted"``) works.
"""

from __future__ import annotations

from . import _cli_args  # noqa: F401  (first: the command line checks its arguments before heavy imports)
from ._numerics import effective_sample_size
from .diagnostics import balance_table
from .dose_response import AverageDoseResponse, WeightedDoseResponse
from .e2b import E2BWeights
from .entropy import EntropyBalancingWeights
from .exceptions import (
    BalanceError,
    BalanceWarning,
    ColumnTypeError,
    ConstantTreatmentWarning,
    ContrastError,
    ConvergenceWarning,
    DiscreteTreatmentWarning,
    DuplicateColumnError,
    EmptyDataError,
    ExtrapolationWarning,
    InvalidDataError,
    MissingValueError,
    ThinSupportWarning,
    TooManyConstraintsError,
    TooManyLevelsError,
)
from .gps import GPSWeights, UnitWeights
from .outcome_models import FlexibleOutcomeRegressor
from .report import AuditReport
from .sensitivity import SensitivityResult, sensitivity
from .subgroups import SubgroupDoseResponse

__version__ = "0.1.0"

__all__ = [
    "AuditReport",
    "AverageDoseResponse",
    "BalanceError",
    "BalanceWarning",
    "ColumnTypeError",
    "ConstantTreatmentWarning",
    "ContrastError",
    "ConvergenceWarning",
    "DiscreteTreatmentWarning",
    "DuplicateColumnError",
    "E2BWeights",
    "EmptyDataError",
    "EntropyBalancingWeights",
    "ExtrapolationWarning",
    "FlexibleOutcomeRegressor",
    "GPSWeights",
    "InvalidDataError",
    "MissingValueError",
    "SensitivityResult",
    "SubgroupDoseResponse",
    "ThinSupportWarning",
    "TooManyConstraintsError",
    "TooManyLevelsError",
    "UnitWeights",
    "WeightedDoseResponse",
    "__version__",
    "audit",
    "balance_table",
    "effective_sample_size",
    "sensitivity",
]

# DoWhy plugin: registering the estimators is the point of importing the package.
from . import adapters  # type: ignore[attr-defined]  # noqa: F401
from .adapters.audit import audit  # type: ignore[import-not-found]
