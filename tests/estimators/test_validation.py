"""Fail fast on input that is not what it seems: typed errors that name the column and the fix."""

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from dowhy_e2b import (
    AverageDoseResponse,
    ColumnTypeError,
    ContrastError,
    DuplicateColumnError,
    EmptyDataError,
    EntropyBalancingWeights,
    GPSWeights,
    InvalidDataError,
    MissingValueError,
    TooManyConstraintsError,
    TooManyLevelsError,
)
from dowhy_e2b._validation import (
    MAX_LEVELS,
    as_float_vector,
    check_contrast,
    check_treatment,
    default_contrast,
    encode_frame,
    require_varying_treatment,
)
from dowhy_e2b.datasets import load_lemonade


@pytest.fixture
def lemonade():
    return load_lemonade(n_samples=300, random_state=1)


def _fit(X, ds):
    return AverageDoseResponse(n_bootstrap=0).fit(X, ds.a[: len(X)], ds.y[: len(X)])


def test_every_error_is_a_value_error():
    for cls in (ColumnTypeError, DuplicateColumnError, EmptyDataError, MissingValueError):
        assert issubclass(cls, InvalidDataError) and issubclass(cls, ValueError)
    for cls in (TooManyConstraintsError, TooManyLevelsError, ContrastError):
        assert issubclass(cls, ValueError)
    assert issubclass(ColumnTypeError, TypeError)  # non-numeric treatments were TypeErrors before


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (
            pd.date_range("2021-01-01", periods=300, freq="D"),
            r"'day' holds dates \(dtype datetime64.*\.dt\.days",
        ),
        (
            pd.date_range("2021-01-01", periods=300, freq="D").astype(str),
            r"'day' holds dates written as text \(e\.g\. '2021-01-01'\).*pd\.to_datetime",
        ),
        (
            [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(300)],
            r"'day' holds dates \(dtype object\)",
        ),
        (pd.to_timedelta(np.arange(300), unit="h"), r"'day' holds durations.*total_seconds"),
        ([f"{1 + i % 28:02d}/{1 + i % 12:02d}/2021" for i in range(300)], "dates written as text"),
    ],
)
def test_dates_and_durations_are_refused_with_a_conversion(lemonade, column, match):
    X = lemonade.X.assign(day=column)
    with pytest.raises(ColumnTypeError, match=match):
        _fit(X, lemonade)
    with pytest.raises(ColumnTypeError, match=match):
        encode_frame(X)


@pytest.mark.parametrize(
    ("values", "example"),
    [
        ([f"${v:,.0f}" for v in np.linspace(20_000, 90_000, 300)], "'$20,000'"),
        ([f"{v:.0f}%" for v in np.linspace(0, 99, 300)], "'0%'"),
        ([f"{v:.0f}%" for v in np.repeat([5, 10, 15], 100)], "'5%'"),  # few levels, still numbers
        ([f"({v:,.0f})" for v in np.linspace(1000, 5000, 300)], "'(1,000)'"),
        ([str(v) for v in np.linspace(0, 1, 300)], "'0.0'"),  # plain numbers, too many levels
    ],
)
def test_numbers_written_as_text_are_refused(lemonade, values, example):
    X = lemonade.X.assign(income=values)
    with pytest.raises(
        ColumnTypeError,
        match=rf"'income' holds numbers written as text \(e\.g\. {re.escape(example)}.*pd\.to_numeric",
    ):
        _fit(X, lemonade)


def test_numeric_codes_as_text_with_few_levels_are_categories(lemonade):
    X = lemonade.X.assign(grade=np.resize(["1", "2", "3"], 300))
    _, names = encode_frame(X)
    assert "grade[2]" in names and "grade[3]" in names


def test_text_with_too_many_levels_is_refused(lemonade):
    ids = [f"id{i}" for i in range(300)]
    with pytest.raises(
        TooManyLevelsError,
        match=rf"'taster' is text or categorical with 300 distinct values.*At most {MAX_LEVELS}",
    ):
        _fit(lemonade.X.assign(taster=ids), lemonade)
    many = pd.Categorical(np.resize([f"c{i}" for i in range(MAX_LEVELS + 1)], 300))
    with pytest.raises(TooManyLevelsError):
        encode_frame(lemonade.X.assign(taster=many))
    at_limit = np.resize([f"c{i}" for i in range(MAX_LEVELS)], 300)
    assert encode_frame(lemonade.X.assign(taster=at_limit))[0].shape[1] == 6 + MAX_LEVELS - 1


def test_duplicated_and_missing_columns(lemonade):
    X = pd.concat([lemonade.X, lemonade.X[["sugar"]]], axis=1)
    with pytest.raises(DuplicateColumnError, match=r"several columns with the same name: \{'sugar': 2\}"):
        _fit(X, lemonade)
    frame = lemonade.data
    both = pd.concat([frame, frame[["lemon"]]], axis=1)
    with pytest.raises(DuplicateColumnError, match="2 columns named 'lemon'"):
        as_float_vector(both["lemon"], "lemon", role="treatment")
    with pytest.raises(KeyError, match="not in the data"):
        encode_frame(frame, ["sugar", "salt"])


def test_empty_and_all_missing_data(lemonade):
    with pytest.raises(EmptyDataError, match="the data have no rows"):
        _fit(lemonade.X.iloc[:0], lemonade)
    with pytest.raises(EmptyDataError, match="confounder 'sugar' has no values: all 300 rows are missing"):
        _fit(lemonade.X.assign(sugar=np.nan), lemonade)
    with pytest.raises(EmptyDataError, match="treatment 'a' has no values"):
        check_treatment(np.full(5, np.nan), name="a")
    with pytest.raises(EmptyDataError, match="treatment 'a' has no values: the data have no rows"):
        check_treatment(np.array([]), name="a")
    with pytest.raises(EmptyDataError, match="X has no rows"):
        EntropyBalancingWeights().fit(np.empty((0, 2)), np.array([]))
    with pytest.raises(MissingValueError, match="confounder 'sugar' has 1 missing value"):
        _fit(lemonade.X.assign(sugar=lemonade.X.sugar.where(lemonade.X.index != 4)), lemonade)


def test_weighting_estimators_name_non_numeric_columns(lemonade):
    with pytest.raises(ColumnTypeError, match=r"covariate 'region' is category.*AverageDoseResponse"):
        EntropyBalancingWeights().fit(lemonade.X, lemonade.a)
    with pytest.raises(ColumnTypeError, match="'day' holds dates"):
        GPSWeights().fit(
            lemonade.X[["sugar"]].assign(day=pd.date_range("2020-01-01", periods=300)), lemonade.a
        )
    with pytest.raises(DuplicateColumnError):
        EntropyBalancingWeights().fit(pd.concat([lemonade.X[["sugar"]]] * 2, axis=1), lemonade.a)


def test_more_constraints_than_rows_names_the_columns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 12)), columns=[f"x{j}" for j in range(12)])
    X["shop"] = np.resize([f"s{i}" for i in range(20)], 40)
    a = X.x0 + rng.normal(size=40)
    with pytest.raises(
        TooManyConstraintsError,
        match=r"40 rows, 63 constraints \(moments=1, treatment_moments=1, 40 of them linearly independent in "
        r"these rows\)\. They come from 'shop': 38 from 19 one-hot columns; 'x0': 2",
    ):
        AverageDoseResponse(EntropyBalancingWeights(), n_bootstrap=0).fit(X, a, a)


def test_contrast_doses_must_differ():
    with pytest.raises(ContrastError, match="treatment_value and control_value are both 2"):
        check_contrast(2.0, 2)
    check_contrast(2.0, 1.0)
    a = np.r_[np.full(80, 2.0), np.linspace(0, 4, 20)]  # most rows at one dose
    with pytest.raises(
        ContrastError, match=r"25th and 75th percentiles of treatment 'dose', are both 2 \(8\d% of the rows"
    ):
        default_contrast(a, "dose")
    assert default_contrast(np.arange(8.0), "dose") == (5.25, 1.75)
    with pytest.raises(InvalidDataError, match=r"treatment 'dose' is constant \(every row is 3\)"):
        require_varying_treatment(np.full(10, 3.0), "dose")
