"""The examples in the docstrings run and give what they say; so do the README's code blocks."""

import doctest
import re
from pathlib import Path

import matplotlib
import pytest

from dowhy_e2b import diagnostics, dose_response, e2b, entropy, gps, plotting

matplotlib.use("Agg")
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    "module", [diagnostics, dose_response, e2b, entropy, gps, plotting], ids=lambda m: m.__name__
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.slow
def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    """Every ```python block of the README, run in order in one namespace (minutes: E2B refits)."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
