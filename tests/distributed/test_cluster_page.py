"""The "Running on a cluster" page's example, on a local cluster and a small Parquet folder."""

import dask.dataframe as dd
import matplotlib.pyplot as plt

from dowhy_e2b import AverageDoseResponse, EntropyBalancingWeights
from dowhy_e2b.plotting import plot_dose_response

from .conftest import frame


def test_the_documented_example_runs(client, tmp_path):
    df = frame(400).rename(columns={"a": "price", "y": "sales"})
    df["region"] = df["region"].astype(str)  # as Parquet often stores it: text
    for i, part in enumerate((df.iloc[:200], df.iloc[200:])):
        part.to_parquet(tmp_path / f"part-{i}.parquet", index=False)

    data = dd.read_parquet(str(tmp_path))
    data = data.categorize(columns=["region"])
    covariates = ["x1", "x2", "x3", "region"]
    curve = AverageDoseResponse(EntropyBalancingWeights(moments=3), n_bootstrap=5, random_state=0)
    curve.fit(data[covariates], data["price"], data["sales"])
    plot_dose_response(curve)
    plt.savefig(tmp_path / "dose_response.png")
    plt.close("all")

    assert curve.curve_.ci_lower.notna().all() and (tmp_path / "dose_response.png").stat().st_size > 0
    assert "region[south]" in curve.feature_names_ and curve.bootstrap_coef_.shape[0] == 5
