import numpy as np
import torch

from dowhy_e2b._numerics.basis import fit_tensor_basis
from dowhy_e2b._torch.network import LinearBaseWeights, TensorBaseWeights


def test_tensor_model_equals_a_linear_model_on_the_kronecker_basis():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    a = X[:, 0] + rng.standard_normal(300)
    basis = fit_tensor_basis(X, a, n_knots=6)
    tensor = TensorBaseWeights(basis.n_spline, basis.n_covariate_terms)
    linear = LinearBaseWeights(basis.n_features)
    factors = torch.as_tensor(basis.factors(X, a))
    assert torch.equal(tensor(factors), torch.zeros(300, dtype=torch.float64))  # starts at zero
    with torch.no_grad():
        tensor.weight.copy_(torch.as_tensor(rng.standard_normal((basis.n_covariate_terms, basis.n_spline))))
        linear.linear.weight.copy_(tensor.weight.T.reshape(1, -1))
    torch.testing.assert_close(tensor(factors), linear(torch.as_tensor(basis.transform(X, a))))
