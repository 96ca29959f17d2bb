"""DoWhy glue for dowhy-e2b (installed as ``dowhy_e2b.adapters``).

Importing this package registers the estimators with DoWhy: ``method_name`` may be
``"e2b"``, ``"entropy_balancing"``, ``"gps_weighting"``, ``"unweighted"``, their
``"backdoor."`` forms, or the full class path, e.g.
``"backdoor.dowhy_e2b.adapters.dowhy_estimators.EntropyBalancingEstimator"``.
"""

from .dowhy_estimators import (
    DoseResponseEstimator,
    E2BEstimator,
    EntropyBalancingEstimator,
    GPSWeightingEstimator,
    UnweightedEstimator,
)
from .registration import REGISTERED, expand_method_name, register_estimator

register_estimator("entropy_balancing", EntropyBalancingEstimator)
register_estimator("gps_weighting", GPSWeightingEstimator)
register_estimator("unweighted", UnweightedEstimator)
register_estimator("e2b", E2BEstimator)

__all__ = [
    "REGISTERED",
    "DoseResponseEstimator",
    "E2BEstimator",
    "EntropyBalancingEstimator",
    "GPSWeightingEstimator",
    "UnweightedEstimator",
    "expand_method_name",
    "register_estimator",
]
