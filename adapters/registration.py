"""Register dowhy-e2b's estimators with DoWhy 0.14.

DoWhy resolves ``"backdoor.<name>"`` by importing ``dowhy.causal_estimators.<name>_estimator`` and
taking the class ``<Name>Estimator`` (capwords of the module name). We place an alias module with
that class in ``sys.modules``. A bare ``"<name>"`` would make DoWhy raise ``IndexError`` while
splitting the name, so ``CausalModel.estimate_effect`` is wrapped to expand registered bare names to
``"backdoor.<name>"``; every other name passes through untouched.

``CausalModel.do`` (DoWhy's interventional mean, :math:`\\hat\\mu(x)`) is wrapped the same way. For
our methods it also takes the full class path (DoWhy's ``do`` cannot import it), accepts
``method_params=None``, and with ``fit_estimator=False`` reuses the most recent fit of the same
method on the model, by ``do`` or ``estimate_effect`` (DoWhy's own ``do`` only knows its previous
``do`` and fails with an ``AttributeError`` before one).

The wrappers also silence pandas' deprecation warnings that DoWhy 0.14's own code raises under
pandas 3 (``Pandas4Warning``: "The copy keyword is deprecated", from ``astype(copy=False)`` in its
regression estimators): they concern DoWhy's code, not the user's, and only those raised from
DoWhy's modules are filtered.
"""

from __future__ import annotations

import contextlib
import functools
import string
import sys
import types
import warnings
from collections.abc import Iterator
from typing import Any

import dowhy.causal_estimators
import networkx as nx
import pandas as pd
from dowhy.causal_model import CausalModel

__all__ = ["REGISTERED", "expand_method_name", "is_registered", "register_estimator", "registered_name"]

#: Bare method names registered by dowhy-e2b, mapped to their estimator classes.
REGISTERED: dict[str, type] = {}
#: pandas' warning for deprecations it removes in pandas 4 (pandas >= 3 only).
DOWHY_PANDAS_WARNING: type[Warning] | None = getattr(pd.errors, "Pandas4Warning", None)


def _alias_class_name(name: str) -> str:
    return string.capwords(f"{name}_estimator", "_").replace("_", "")


def register_estimator(name: str, cls: type) -> None:
    """Make ``method_name=name`` and ``"backdoor." + name`` resolve to ``cls`` in DoWhy."""
    module_name = f"dowhy.causal_estimators.{name}_estimator"
    module = types.ModuleType(module_name, f"Alias of {cls.__module__}.{cls.__qualname__} for DoWhy.")
    setattr(module, _alias_class_name(name), cls)
    sys.modules[module_name] = module
    setattr(dowhy.causal_estimators, f"{name}_estimator", module)
    REGISTERED[name] = cls
    _patch_causal_model()


def expand_method_name(method_name: Any) -> Any:
    """``"e2b"`` → ``"backdoor.e2b"`` for registered bare names; anything else unchanged."""
    if isinstance(method_name, str) and method_name in REGISTERED:
        return f"backdoor.{method_name}"
    return method_name


def registered_name(method_name: Any) -> str | None:
    """The bare registered name for any form of one of our methods (``"e2b"``,
    ``"backdoor.e2b"``, the ``"backdoor."`` class path), else ``None``."""
    if not isinstance(method_name, str):
        return None
    tail = method_name.split(".", 1)[1] if method_name.startswith("backdoor.") else method_name
    if tail in REGISTERED:
        return tail
    for name, cls in REGISTERED.items():
        if tail == f"{cls.__module__}.{cls.__name__}":
            return name
    return None


def is_registered(method_name: Any) -> bool:
    """Whether ``method_name`` (any of its forms) names one of dowhy-e2b's estimators."""
    return registered_name(method_name) is not None


def _remember_fit(model: CausalModel, name: str, estimator: Any) -> None:
    """Record ``estimator`` as the most recent fit of method ``name`` on ``model``."""
    fits = model.__dict__.setdefault("_dowhy_e2b_fits", {})
    fits[name] = estimator


def _check_modifiers_precede_treatment(model: CausalModel, modifiers: Any) -> None:
    """Effect modifiers join the confounders: refuse descendants of the treatment."""
    graph = getattr(getattr(model, "_graph", None), "_graph", None)
    if graph is None or not modifiers:
        return
    treatments = [t for t in getattr(model, "_treatment", []) if t in graph]
    after = set().union(*(nx.descendants(graph, t) for t in treatments)) if treatments else set()
    bad = [m for m in modifiers if m in after]
    if bad:
        raise ValueError(
            f"effect_modifiers {bad} are descendants of the treatment {treatments} in the graph "
            "(mediators, colliders or other consequences of the dose): the estimators adjust for "
            "effect modifiers, and adjusting for a consequence of the dose biases its total effect. "
            "Remove them from effect_modifiers (use variables measured before the treatment)."
        )


def _previous_fit(model: CausalModel, name: str, estimand: Any) -> Any:
    """The estimator ``do(..., fit_estimator=False)`` reuses, checked against the request."""
    estimator = model.__dict__.get("_dowhy_e2b_fits", {}).get(name)
    if estimator is None:
        raise ValueError(
            f"fit_estimator=False reuses the most recent fit of method '{name}' on this model (by "
            "model.do or model.estimate_effect), but there is none: call model.do(x, estimand, "
            f"method_name='{name}', fit_estimator=True) first."
        )
    if estimand is not None and estimand is not estimator._target_estimand:
        fitted = sorted(estimator._target_estimand.get_backdoor_variables() or [])
        asked = sorted(estimand.get_backdoor_variables() or [])
        if fitted != asked:
            raise ValueError(
                f"fit_estimator=False reuses the fit of method '{name}', which adjusted for {fitted}, "
                f"but this identified_estimand adjusts for {asked}: pass fit_estimator=True to fit "
                "with this estimand."
            )
    return estimator


def _patch_causal_model() -> None:
    _patch_do()
    original = CausalModel.estimate_effect
    if getattr(original, "_dowhy_e2b_patched", False):
        return

    @functools.wraps(original)
    def estimate_effect(self: CausalModel, identified_estimand: Any, *args: Any, **kwargs: Any) -> Any:
        if args:
            args = (expand_method_name(args[0]), *args[1:])
            name = args[0]
        else:
            kwargs["method_name"] = expand_method_name(kwargs.get("method_name"))
            name = kwargs["method_name"]
        # DoWhy 0.14 ignores CausalModel(effect_modifiers=...) here and uses the graph's; for our
        # methods the declared modifiers win (they default to the graph's anyway).
        bare = registered_name(name)
        if bare is not None:
            if kwargs.get("effect_modifiers") is None and len(args) < 8:
                kwargs["effect_modifiers"] = list(getattr(self, "_effect_modifiers", None) or [])
            _check_modifiers_precede_treatment(
                self, args[7] if len(args) >= 8 else kwargs.get("effect_modifiers")
            )
        with _quiet_dowhy():
            estimate = original(self, identified_estimand, *args, **kwargs)
        if bare is not None and getattr(estimate, "estimator", None) is not None:
            _remember_fit(self, bare, estimate.estimator)
        return estimate

    estimate_effect._dowhy_e2b_patched = True  # type: ignore[attr-defined]
    CausalModel.estimate_effect = estimate_effect  # type: ignore[method-assign]


@contextlib.contextmanager
def _quiet_dowhy() -> Iterator[None]:
    """Filter the pandas deprecation warnings raised from DoWhy's own modules."""
    with warnings.catch_warnings():
        if DOWHY_PANDAS_WARNING is not None:
            warnings.filterwarnings("ignore", category=DOWHY_PANDAS_WARNING, module=r"dowhy\.")
        yield


def _patch_do() -> None:
    original = CausalModel.do
    if getattr(original, "_dowhy_e2b_patched", False):
        return

    @functools.wraps(original)
    def do(
        self: CausalModel,
        x: Any,
        identified_estimand: Any,
        method_name: Any = None,
        fit_estimator: bool = True,
        method_params: dict[str, Any] | None = None,
    ) -> Any:
        bare = registered_name(method_name)
        if bare is None:  # not ours: DoWhy's behaviour, untouched
            with _quiet_dowhy():
                return original(self, x, identified_estimand, method_name, fit_estimator, method_params)
        if not fit_estimator:
            self.causal_estimator = _previous_fit(self, bare, identified_estimand)
        name = f"backdoor.{bare}"
        with _quiet_dowhy():
            value = original(self, x, identified_estimand, name, fit_estimator, method_params or {})
        _remember_fit(self, bare, self.causal_estimator)
        return value

    do._dowhy_e2b_patched = True  # type: ignore[attr-defined]
    CausalModel.do = do  # type: ignore[method-assign]
