"""Register dowhy-e2b's estimators with DoWhy 0.14.

DoWhy resolves ``"backdoor.<name>"`` by importing ``dowhy.causal_estimators.<name>_estimator`` and
taking the class ``<Name>Estimator`` (capwords of the module name). We place an alias module with
that class in ``sys.modules``. A bare ``"<name>"`` would make DoWhy raise ``IndexError`` while
splitting the name, so ``CausalModel.estimate_effect`` is wrapped to expand registered bare names to
``"backdoor.<name>"``; every other name passes through untouched.

The wrapper also silences pandas' deprecation warnings that DoWhy 0.14's own code raises under
pandas 3 (``Pandas4Warning``: "The copy keyword is deprecated", from ``astype(copy=False)`` in its
regression estimators): they concern DoWhy's code, not the user's, and only those raised from
DoWhy's modules are filtered.
"""

from __future__ import annotations

import functools
import string
import sys
import types
import warnings
from typing import Any

import dowhy.causal_estimators
import pandas as pd
from dowhy.causal_model import CausalModel

__all__ = ["REGISTERED", "expand_method_name", "is_registered", "register_estimator"]

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


def is_registered(method_name: Any) -> bool:
    """Whether ``method_name`` (any of its forms) names one of dowhy-e2b's estimators."""
    if not isinstance(method_name, str):
        return False
    tail = method_name.split(".", 1)[1] if method_name.startswith("backdoor.") else method_name
    if tail in REGISTERED:
        return True
    return any(tail == f"{cls.__module__}.{cls.__name__}" for cls in REGISTERED.values())


def _patch_causal_model() -> None:
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
        if is_registered(name) and kwargs.get("effect_modifiers") is None and len(args) < 8:
            kwargs["effect_modifiers"] = list(getattr(self, "_effect_modifiers", None) or [])
        with warnings.catch_warnings():
            if DOWHY_PANDAS_WARNING is not None:
                warnings.filterwarnings("ignore", category=DOWHY_PANDAS_WARNING, module=r"dowhy\.")
            return original(self, identified_estimand, *args, **kwargs)

    estimate_effect._dowhy_e2b_patched = True  # type: ignore[attr-defined]
    CausalModel.estimate_effect = estimate_effect  # type: ignore[method-assign]
