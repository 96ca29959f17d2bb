"""Cheaper refits for DoWhy's refuters: continue training a fitted weighter instead of starting over.

DoWhy's refuters deep-copy the fitted estimator and call ``fit`` on altered data. For E2B every
such refit trains a network from scratch. A weighter that accepts ``warm_start=True`` can instead
start from its fitted parameters and take fewer steps (``max_steps``). The dose-response pipeline
clones its weighter (scikit-learn's ``clone`` forgets fitted state), so the refit copy hands it a
:class:`WarmRefit`: a wrapper whose clone keeps the fitted weighter and whose ``fit`` continues
training it on the new data.
"""

from __future__ import annotations

import copy
from typing import Any

from sklearn.base import BaseEstimator

__all__ = ["WarmRefit", "applicable_refit_params"]


def applicable_refit_params(weighter: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` that ``weighter`` accepts (its ``get_params()`` has them)."""
    if weighter is None or not params:
        return {}
    accepted = weighter.get_params(deep=False)
    return {k: v for k, v in params.items() if k in accepted}


class WarmRefit(BaseEstimator):
    """A fitted weighter that ``fit`` refits from where it stopped (``warm_start=True``).

    Parameters
    ----------
    weighter : fitted weighting estimator
        Its parameters already include ``warm_start=True`` (and typically a smaller
        ``max_steps``). It is refitted in place by :meth:`fit`.

    Every other attribute (``weights_``, ``moments``, ``weights_for``, ``balance_check_``, ...) is
    the weighter's.
    """

    def __init__(self, weighter: Any = None):
        self.weighter = weighter

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "weighter":
            raise AttributeError(name)
        return getattr(self.weighter, name)

    def __sklearn_clone__(self) -> WarmRefit:
        # A clone keeps the fitted state (a copy of it): that is the point of a warm start.
        return WarmRefit(copy.deepcopy(self.weighter))

    def fit(self, X: Any, a: Any, y: Any = None, sample_weight: Any = None) -> WarmRefit:
        """Continue fitting the weighter on ``(X, a)`` (and ``y``) from its fitted state."""
        self.weighter.fit(X, a, y=y, sample_weight=sample_weight)
        return self
