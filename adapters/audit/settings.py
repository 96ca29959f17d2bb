"""What the audit records so that a report can be reproduced: settings, parameters, versions."""

from __future__ import annotations

import platform
from importlib import metadata
from numbers import Number
from typing import Any

import numpy as np

__all__ = ["PACKAGES", "estimator_settings", "plain", "versions"]

#: Packages whose versions a report records.
PACKAGES = (
    "dowhy-e2b",
    "dowhy",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "statsmodels",
    "torch",
    "joblib",
)


def versions() -> dict[str, str]:
    """Python's version and those of :data:`PACKAGES` (``"not installed"`` where missing)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def plain(value: Any, width: int = 80) -> Any:
    """A value as it can be shown in a report: numbers, strings, bools and None as they are; short
    lists of those as lists; arrays as a summary; anything else as its (shortened) ``repr``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Number):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return [plain(v) for v in value.ravel().tolist()]
        return f"array of {value.size} values from {value.min():.4g} to {value.max():.4g}"
    if (
        isinstance(value, (list, tuple))
        and len(value) <= 8
        and all(v is None or isinstance(v, (bool, str, Number)) for v in value)
    ):
        return [plain(v) for v in value]
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def estimator_settings(estimator: Any) -> dict[str, Any]:
    """The audited estimator's parameters: its weighter's and its dose-response pipeline's, with
    the defaults filled in (dowhy-e2b estimators); otherwise just its class."""
    adrf = getattr(estimator, "adrf_", None)
    settings: dict[str, Any] = {"estimator": type(estimator).__name__}
    if adrf is None:
        return settings
    weighter = getattr(adrf, "weighter_", None) or getattr(adrf, "weighter", None)
    if weighter is not None:
        settings["weighter"] = type(weighter).__name__
        settings.update(
            {f"weighter.{k}": plain(v) for k, v in sorted(weighter.get_params(deep=False).items())}
        )
    pipeline = {k: v for k, v in adrf.get_params(deep=False).items() if k != "weighter"}
    settings.update({f"curve.{k}": plain(v) for k, v in sorted(pipeline.items())})
    return settings
