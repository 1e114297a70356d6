"""helpers.models: the seed CNN in Keras and PyTorch, parameter tables, weight copy, training each one."""
import numpy as np
import pytest

from helpers.device import preload_triton

preload_triton()                  # before TensorFlow starts (the TF/triton import-order workaround)
torch = pytest.importorskip("torch")

from helpers.models import seed_cnn as models  # noqa: E402

# One worker runs this module: its module-scoped fixture then runs once (pytest -n N --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_models")


def test_torch_twin_has_the_seed_parameter_count():
    net = models.seed_torch_cnn()
    assert models.count_params(net) == 122_570
    table = models.torch_param_table(net)
    assert [r[2] for r in table] == [896, 18496, 36928, 65600, 650]
    assert table[3][1] == [(64, 1024), (64,)]
    assert models.count_params(models.seed_torch_cnn(batchnorm=True)) == 122_570 + 2 * (32 + 64 + 64)


@pytest.fixture(scope="module")
def keras_seed():
    pytest.importorskip("keras")
    return models.seed_keras_cnn()


def test_keras_seed_has_122570_parameters(keras_seed):
    assert models.count_params(keras_seed) == 122_570
    table = models.keras_param_table(keras_seed)
    assert [r[2] for r in table] == [896, 0, 18496, 0, 36928, 0, 65600, 650]
    assert table[5][1] == (1024,) and table[0][1] == (30, 30, 32)


def test_keras_to_torch_parity_on_random_weights_and_inputs(keras_seed):
    import keras
    keras.utils.set_random_seed(1)
    model = models.seed_keras_cnn()
    # random biases too, so that a bias-copy bug cannot hide behind zero initial biases
    for layer in model.layers:
        if layer.get_weights():
            w, b = layer.get_weights()
            layer.set_weights([w, np.random.default_rng(2).normal(0, 0.1, b.shape).astype(b.dtype)])
    twin = models.copy_keras_weights_to_torch(model, models.seed_torch_cnn())
    x = np.random.default_rng(3).random((16, 32, 32, 3), dtype=np.float32)
    with torch.no_grad():
        t = twin(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    k = models.keras_logits(model, x)
    assert np.abs(k - t).max() < 1e-4
    probs = np.asarray(model(x))
    assert np.abs(probs - torch.softmax(torch.from_numpy(t), 1).numpy()).max() < 1e-5
    naive = models.copy_keras_weights_to_torch(model, models.seed_torch_cnn(), fix_flatten=False)
    with torch.no_grad():
        assert np.abs(naive(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy() - k).max() > 1e-3
    outs = models.keras_outputs(model, x[:2])
    assert len(outs) == 8 and tuple(outs[4].shape) == (2, 4, 4, 64)
    with pytest.raises(ValueError, match="shape"):
        models.copy_keras_weights_to_torch(model, models.seed_torch_cnn(n_classes=5))


def separable(n, seed=0):
    """Two classes that differ in colour: any working model learns them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.uint8)
    X[y == 1, :, :, 0] += 150
    return X, y


def test_seed_twin_trains_with_the_general_loop():
    X, y = separable(600)
    r = models.train_seed_torch(X[:500], y[:500], X[500:], y[500:], epochs=2, batch_size=50, lr=3e-3,
                                augment_data=True, dev="cpu", verbose=False)
    assert r["test_acc"] > 0.9, r["test_acc"]
    assert [row["epoch"] for row in r["log"]] == [1, 2] and r["time_s"] > 0
    assert r["log"][0]["time_s"] < r["log"][1]["time_s"]                    # a cumulative clock
    hist = r["history"]
    assert len(hist["train_loss"]) == 2 and hist["train_loss"][1] < hist["train_loss"][0]
    assert hist["val_acc"][-1] == pytest.approx(r["test_acc"])


def test_seed_keras_trains_and_logs_accuracy_against_time(keras_seed):
    X, y = separable(300, seed=1)
    r = models.train_seed_keras(X[:200], y[:200], X[200:], y[200:], epochs=2, batch_size=32)
    assert len(r["log"]) == 2 and 0 < r["log"][0]["time_s"] < r["log"][1]["time_s"]
    assert r["test_acc"] == pytest.approx(r["history"]["val_accuracy"][-1])
    assert r["test_acc"] > 0.8, r["test_acc"]
    assert models.count_params(r["model"]) == (3 * 3 * 3 + 1) * 32 + 18496 + 36928 + 65600 + (64 + 1) * 2
