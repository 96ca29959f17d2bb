"""Plots: they return their Axes, label them, draw one point per balance row, and accept core
objects as well as DoWhy estimates (recognised by duck typing)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from dowhy_e2b import AverageDoseResponse, E2BWeights, EntropyBalancingWeights
from dowhy_e2b.datasets import load_lemonade, make_linear
from dowhy_e2b.plotting import plot_balance, plot_dose_response, plot_training, plot_weights


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def lemonade():
    return load_lemonade(n_samples=300, random_state=3)


@pytest.fixture(scope="module")
def fitted(lemonade):
    adrf = AverageDoseResponse(
        EntropyBalancingWeights(moments=2), dose_grid=15, n_bootstrap=10, random_state=0
    )
    return adrf.fit(lemonade.X, lemonade.a, lemonade.y)


@pytest.fixture(scope="module")
def dowhy_estimate(lemonade):
    from dowhy import CausalModel

    import dowhy_e2b  # noqa: F401

    model = CausalModel(
        data=lemonade.data, treatment=lemonade.treatment, outcome=lemonade.outcome, graph=lemonade.graph()
    )
    return model.estimate_effect(
        model.identify_effect(),
        method_name="entropy_balancing",
        treatment_value=11.0,
        control_value=6.0,
        method_params={"moments": 2, "n_bootstrap": 10, "dose_grid": 15, "random_state": 0},
    )


def _rug(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "|"]


def test_dose_response_on_a_core_pipeline_with_band_rug_and_truth(fitted, lemonade):
    ax = plot_dose_response(fitted, treatment=lemonade.a, truth=lemonade.true_adrf, label="EB")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("treatment", "mean outcome")
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the band
    assert len(_rug(ax)) == 1 and len(_rug(ax)[0].get_xdata()) == 300
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["EB", "EB: 95% pointwise band", "EB: 95% simultaneous band", "truth"]


def test_dose_response_on_a_dowhy_estimate_draws_its_rug_by_itself(dowhy_estimate):
    ax = plot_dose_response(dowhy_estimate)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("lemon", "mean rating")  # the columns' names
    assert ax.figure.get_layout_engine() is not None  # constrained: a plain savefig clips nothing
    ax = plot_dose_response(dowhy_estimate, xlabel="lemon (ml/l)", ylabel="rating")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("lemon (ml/l)", "rating")
    assert len(_rug(ax)) == 1
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), dowhy_estimate.dose_response.mean_outcome)
    # a second curve on the same Axes, without a second rug; the estimator works as well as the estimate
    plot_dose_response(dowhy_estimate.estimator, ax=ax, rug=False)
    assert len(_rug(ax)) == 1


def test_dose_response_on_a_frame_and_a_wrong_object(fitted):
    frame = fitted.curve_.copy()
    before = frame.copy()
    ax = plot_dose_response(frame)
    assert _rug(ax) == []
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["estimate", "pointwise band", "simultaneous band"]
    frame.attrs["confidence_level"] = 0.9
    legend = plot_dose_response(frame, band="pointwise").get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["estimate", "90% pointwise band"]
    with pytest.raises(ValueError, match="band must be one of"):
        plot_dose_response(frame, band="wide")
    frame.attrs.clear()
    pd.testing.assert_frame_equal(frame, before)
    with pytest.raises(TypeError, match="dose-response DataFrame"):
        plot_dose_response(object())


def test_love_plot_has_one_point_per_covariate_and_power(fitted):
    table = fitted.balance_table_
    ax = plot_balance(fitted)
    before, after = ax.collections[1], ax.collections[2]  # collections[0]: the connecting lines
    assert len(before.get_offsets()) == len(after.get_offsets()) == len(table)
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert {"sugar", "sugar²", "region[coast]"} <= labels and "region[coast]²" not in labels
    assert ax.get_xlabel() == "|corr(treatment, covariate)|"
    np.testing.assert_allclose(np.sort(after.get_offsets()[:, 0]), np.sort(table.corr_weighted.abs()))


def test_love_plot_from_weights_and_data_with_more_moments():
    ds = make_linear(n_samples=300, random_state=0)
    eb = EntropyBalancingWeights().fit(ds.X, ds.a)
    ax = plot_balance(eb, X=ds.X, a=ds.a, moments=3, threshold=None, title=None)
    assert len(ax.collections[2].get_offsets()) == 5 * 3
    assert ax.get_title() == ""
    ax = plot_balance(eb.weights_, X=ds.X, a=ds.a)  # raw weights work too
    assert len(ax.collections[2].get_offsets()) == 5


def test_love_plot_on_a_dowhy_estimate_recomputes_requested_moments(dowhy_estimate):
    ax = plot_balance(dowhy_estimate, moments=3)
    n_rows = len(dowhy_estimate.estimator.balance_table(moments=3))
    assert len(ax.collections[2].get_offsets()) == n_rows
    assert n_rows == 3 * 3 + 4  # sugar, temperature, age to the cube; every region level once


def test_love_plot_errors(fitted):
    with pytest.raises(ValueError, match="both X and a"):
        plot_balance(fitted.weights_, X=np.zeros((300, 2)))
    with pytest.raises(TypeError, match="balance table"):
        plot_balance(object())
    with pytest.raises(ValueError, match="missing"):
        plot_balance(pd.DataFrame({"covariate": ["x"]}))


def test_weights_plot_reports_the_effective_sample_size(fitted, dowhy_estimate):
    ax = plot_weights(fitted)
    assert ax.get_xscale() == "log"
    (text,) = ax.texts
    ess = fitted.weights_.sum() ** 2 / (fitted.weights_**2).sum()
    assert f"ESS = {ess:.0f} of n = 300" in text.get_text()
    assert "top 1% of units carry" in text.get_text()
    ax = plot_weights(dowhy_estimate, label="entropy balancing", color="tab:orange")
    assert ax.get_legend() is not None
    ax = plot_weights(np.ones(50))  # uniform weights still give a readable axis
    assert "ESS = 50 of n = 50 (100%)" in ax.texts[0].get_text()
    with pytest.raises(TypeError, match="weights"):
        plot_weights(object())


def test_training_plot_shows_both_curves_and_the_kept_step():
    ds = make_linear(n_samples=200, random_state=0)
    e2b = E2BWeights(max_steps=3, random_state=0).fit(ds.X, ds.a, ds.y)
    ax = plot_training(e2b)
    assert len(ax.get_lines()) == 3
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), e2b.loss_curve_)
    assert ax.get_xlabel() == "step (0 = entropy balancing)"
    adrf = AverageDoseResponse(E2BWeights(max_steps=2, random_state=0), n_bootstrap=0).fit(ds.X, ds.a, ds.y)
    assert len(plot_training(adrf).get_lines()) == 3
    with pytest.raises(TypeError, match="training history"):
        plot_training(EntropyBalancingWeights().fit(ds.X, ds.a))


def test_love_plot_rows_follow_the_balance_table_and_show_every_level(dowhy_estimate):
    table = dowhy_estimate.estimator.balance_table(moments=2)
    ax = plot_balance(dowhy_estimate, moments=2)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = ax.get_yticks()
    top_to_bottom = [label for _, label in sorted(zip(ticks, labels, strict=True), reverse=True)]
    expected = [c if p == 1 else f"{c}²" for c, p in zip(table.covariate, table.power, strict=True)]
    assert top_to_bottom == expected
    levels = [c for c in table.covariate if c.startswith("region[")]
    assert levels == ["region[city]", "region[coast]", "region[mountain]", "region[valley]"]


def test_a_plain_savefig_clips_nothing(dowhy_estimate, tmp_path):
    love = plot_balance(dowhy_estimate, moments=3)  # long labels on the left, the legend below
    for ax in (love, plot_dose_response(dowhy_estimate)):
        fig = ax.figure
        fig.savefig(tmp_path / "plot.png")
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        ticks = ax.get_yticklabels() if ax is love else []
        for artist in [ax.xaxis.label, ax.yaxis.label, ax.title, ax.get_legend(), *ticks]:
            if artist is None or not artist.get_visible() or not getattr(artist, "get_text", lambda: "x")():
                continue
            extent = artist.get_window_extent(renderer)
            assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, artist
            assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, artist
