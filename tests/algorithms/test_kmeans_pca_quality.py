"""K-Means and PCA against scikit-learn on MNIST digits, in process through the runtime's own training code
(what the job runs, minus the channels), plus the MXNet NDArray model file checked against bytes MXNet
1.9.1 itself wrote.

- K-Means (default hyperparameters and the k-means++/several-epochs variant): msd within 2 % of
  ``sklearn.cluster.KMeans`` (k-means++ init, same k) on the same rows;
- PCA ``regular`` and ``randomized``: singular values (so explained variance) within 1e-3 relative of
  ``sklearn.decomposition.PCA(svd_solver="full")``, components equal up to order (ours ascending) and sign
  convention (the largest-magnitude entry positive, as scikit-learn); ``subtract_mean=false`` is the
  uncentered SVD; sparse rows give the same model as dense.
"""

from __future__ import annotations

import numpy as np
import pytest
from mnistdata import images, one_blas_thread

from openmaker.runtimes.algorithms import kmeans, pca
from openmaker.runtimes.algorithms.firstparty import ndarray
from openmaker.runtimes.algorithms.kmeans.cluster import closest
from openmaker.runtimes.algorithms.kmeans.model import KMeansModel
from openmaker.runtimes.algorithms.kmeans.train import train_centers
from openmaker.runtimes.algorithms.pca.model import PCAModel
from openmaker.runtimes.algorithms.pca.train import randomized, regular

ROWS = 2000
# mx.nd.save(f, [mx.nd.array(np.arange(6).reshape(2, 3))]) and
# mx.nd.save(f, {"s": mx.nd.array([1, 2]), "mean": mx.nd.array([[3, 4, 5]], dtype="float64")}) with MXNet 1.9.1.
MXNET_LIST = bytes.fromhex(
    "120100000000000000000000000000000100000000000000c9fa93f900000000020000000200000000000000030000000000"
    "0000010000000000000000000000000000000000803f0000004000004040000080400000a0400000000000000000")
MXNET_DICT = bytes.fromhex(
    "120100000000000000000000000000000200000000000000c9fa93f90000000001000000020000000000000001000000000000"
    "00000000000000803f00000040c9fa93f900000000020000000100000000000000030000000000000001000000000000000100"
    "0000000000000000084000000000000010400000000000001440020000000000000001000000000000007304000000000000"
    "006d65616e")


@pytest.fixture(scope="module", autouse=True)
def single_threaded():
    with one_blas_thread():
        yield


@pytest.fixture(scope="module")
def digits(datasets) -> np.ndarray:
    return images(datasets, ROWS)


@pytest.fixture(scope="module")
def reference(digits):
    from sklearn.decomposition import PCA

    return PCA(n_components=20, svd_solver="full").fit(digits.astype(np.float64))


@pytest.mark.parametrize("extra", [{}, {"init_method": "kmeans++", "epochs": "3", "mini_batch_size": "1000"}])
def test_kmeans_msd_within_two_percent_of_sklearn(digits, extra):
    from sklearn.cluster import KMeans

    hps = kmeans.HYPERPARAMETERS.validate({"k": "10", "feature_dim": "784", **extra})
    centers = train_centers(digits, hps)
    assert centers.shape == (10, 784)
    msd = closest(digits, centers)[1].mean()
    reference = KMeans(n_clusters=10, init="k-means++", random_state=0).fit(digits)
    assert msd <= 1.02 * reference.inertia_ / ROWS
    np.testing.assert_array_equal(train_centers(digits, hps), centers)  # seeded: one input, one model


def test_kmeans_sparse_rows_and_decay(digits):
    from scipy import sparse

    hps = kmeans.HYPERPARAMETERS.validate({"k": "5", "feature_dim": "784", "half_life_time_size": "500",
                                          "mini_batch_size": "400", "extra_center_factor": "3"})
    dense_centers = train_centers(digits[:1000], hps)
    sparse_centers = train_centers(sparse.csr_matrix(digits[:1000]), hps)
    np.testing.assert_allclose(sparse_centers, dense_centers, rtol=1e-4, atol=1e-5)


def test_kmeans_model_file_and_predictions(digits, tmp_path):
    centers = digits[:4].astype(np.float64) + 0.01
    model = KMeansModel(centers)
    model.save(tmp_path)
    arrays = ndarray.load(tmp_path / "model_algo-1")
    assert isinstance(arrays, list) and len(arrays) == 1 and arrays[0].dtype == np.float32
    loaded = KMeansModel.load(tmp_path)
    answers = loaded.predict(digits[:6])
    squared = ((digits[:6, None, :].astype(np.float64) - loaded.centers[None].astype(np.float64)) ** 2).sum(-1)
    assert [a["closest_cluster"] for a in answers] == [float(i) for i in squared.argmin(1)]
    assert [a["distance_to_cluster"] for a in answers] == pytest.approx(np.sqrt(squared.min(1)), rel=1e-5)


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_pca_singular_values_match_sklearn(digits, reference, mode):
    components = 20
    if mode == "regular":
        v, s, mean = regular(digits, components, True, 500)
    else:
        v, s, mean = randomized(digits, components, True, components + 20, np.random.default_rng(7))
    np.testing.assert_allclose(s, reference.singular_values_[::-1], rtol=1e-3)
    np.testing.assert_allclose(s**2 / (ROWS - 1), reference.explained_variance_[::-1], rtol=1e-3)
    np.testing.assert_allclose(mean, reference.mean_, rtol=1e-5, atol=1e-6)
    assert np.all(np.diff(s) >= 0)  # ascending: the largest component last, as the real algorithm
    if mode == "regular":
        np.testing.assert_allclose(v[:, ::-1].T, reference.components_, atol=1e-6)
    else:  # the leading directions; the last ones of a sketch are the least settled
        np.testing.assert_allclose(v[:, ::-1].T[:10], reference.components_[:10], atol=2e-3)


def test_pca_without_mean_is_the_uncentered_svd(digits):
    X = digits[:800]
    _, s, mean = regular(X, 5, False, 100)
    assert mean is None
    expected = np.linalg.svd(X.astype(np.float64), compute_uv=False)[:5][::-1]
    np.testing.assert_allclose(s, expected, rtol=1e-6)
    _, s2, _ = randomized(X, 5, False, 25, np.random.default_rng(0))
    np.testing.assert_allclose(s2, expected, rtol=1e-3)


def test_pca_sparse_rows_and_model_file(digits, tmp_path):
    from scipy import sparse

    X = digits[:1000]
    v, s, mean = regular(sparse.csr_matrix(X), 8, True, 300)
    v_dense, s_dense, _ = regular(X, 8, True, 300)
    np.testing.assert_allclose(s, s_dense, rtol=1e-6)
    np.testing.assert_allclose(v, v_dense, atol=1e-6)

    PCAModel(v, s, mean).save(tmp_path)
    arrays = ndarray.load(tmp_path / "model_algo-1")
    assert set(arrays) == {"s", "v", "mean"}
    assert arrays["v"].shape == (784, 8) and arrays["s"].shape == (8,) and arrays["mean"].shape == (1, 784)
    model = pca.load(tmp_path)
    projections = [p["projection"] for p in model.predict(sparse.csr_matrix(X[:5]))]
    np.testing.assert_allclose(projections, (X[:5] - mean) @ v, atol=1e-4)


def test_ndarray_file_is_mxnets():
    assert ndarray.dumps([np.arange(6, dtype=np.float32).reshape(2, 3)]) == MXNET_LIST
    loaded = ndarray.loads(MXNET_DICT)
    assert list(loaded) == ["s", "mean"]
    np.testing.assert_array_equal(loaded["s"], np.array([1, 2], dtype=np.float32))
    assert loaded["mean"].dtype == np.float64 and loaded["mean"].tolist() == [[3, 4, 5]]
    assert ndarray.dumps(loaded) == MXNET_DICT
