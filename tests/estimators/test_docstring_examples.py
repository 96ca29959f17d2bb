"""The examples in the docstrings of the diagnostics and plotting modules run and give what they say."""

import doctest

import matplotlib
import pytest

from dowhy_e2b import diagnostics, plotting

matplotlib.use("Agg")


@pytest.mark.parametrize("module", [diagnostics, plotting], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
