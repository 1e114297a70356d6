"""helpers.cnn: the seed CNN in Keras and PyTorch, weight copying, augmentation, the fast recipe."""
import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
torch = pytest.importorskip("torch")
# torch's optimizers import torch._dynamo (and triton) on first use; if TensorFlow has already
# started in the process, loading triton's LLVM after it can segfault. Load it first.
import torch._dynamo  # noqa: E402,F401

from helpers import cnn  # noqa: E402


def test_import_is_framework_free():
    code = "import sys, helpers, helpers.cnn; print('torch' in sys.modules or 'tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "False"


def test_torch_twin_has_the_seed_parameter_count():
    assert cnn.count_params(cnn.seed_torch_cnn()) == 122_570
    assert sum(r[2] for r in cnn.torch_param_table(cnn.seed_torch_cnn())) == 122_570


@pytest.fixture(scope="module")
def keras_seed():
    pytest.importorskip("keras")
    return cnn.seed_keras_cnn()


def test_keras_seed_has_122570_parameters(keras_seed):
    assert cnn.count_params(keras_seed) == 122_570
    table = cnn.keras_param_table(keras_seed)
    assert [r[2] for r in table] == [896, 0, 18496, 0, 36928, 0, 65600, 650]
    assert table[5][1] == (1024,)


def test_keras_to_torch_parity_on_random_weights_and_inputs(keras_seed):
    import keras
    keras.utils.set_random_seed(1)
    model = cnn.seed_keras_cnn()
    # random biases too, so that a bias-copy bug cannot hide behind zero initial biases
    for layer in model.layers:
        if layer.get_weights():
            w, b = layer.get_weights()
            layer.set_weights([w, np.random.default_rng(2).normal(0, 0.1, b.shape).astype(b.dtype)])
    twin = cnn.copy_keras_weights_to_torch(model, cnn.seed_torch_cnn())
    x = np.random.default_rng(3).random((16, 32, 32, 3), dtype=np.float32)
    with torch.no_grad():
        t = twin(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    k = cnn.keras_logits(model, x)
    assert np.abs(k - t).max() < 1e-4
    probs = np.asarray(model(x))
    assert np.abs(probs - torch.softmax(torch.from_numpy(t), 1).numpy()).max() < 1e-5
    naive = cnn.copy_keras_weights_to_torch(model, cnn.seed_torch_cnn(), fix_flatten=False)
    with torch.no_grad():
        assert np.abs(naive(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy() - k).max() > 1e-3


def test_augmentation_keeps_shape_dtype_and_flips_correctly():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = cnn.augment(x, flip=True, translate=2)
    assert out.shape == x.shape and out.dtype == torch.uint8
    f = cnn.random_flip(x)
    same, mirrored = (f == x).flatten(1).all(1), (f == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54
    # translation only moves pixels: every output row of a shifted image is a window of the padded input
    p = cnn.pad_reflect(x, 2)
    assert p.shape == (64, 3, 36, 36)
    assert torch.equal(p[..., 2:34, 2:34], x)
    assert torch.equal(p[..., 2:34, 0], x[..., :, 2]) and torch.equal(p[..., 0, 2:34], x[..., 2, :])
    t = cnn.random_translate(x, 2)
    found = torch.zeros(64, dtype=torch.bool)
    for dy in range(5):
        for dx in range(5):
            found |= (t == p[..., dy:dy + 32, dx:dx + 32]).flatten(1).all(1)
    assert bool(found.all())
    assert torch.equal(cnn.random_translate(x, 0), x)
    xf = cnn.normalize(x, channels_last=True)
    assert xf.dtype == torch.float32 and xf.is_contiguous(memory_format=torch.channels_last)


def test_label_smoothing_matches_torch():
    logits, y = torch.randn(32, 10, dtype=torch.float64), torch.randint(0, 10, (32,))
    for s in (0.0, 0.2):
        ref = torch.nn.functional.cross_entropy(logits, y, label_smoothing=s)
        assert abs(float(cnn.smooth_cross_entropy(logits, y, s) - ref)) < 1e-10


def test_schedule_warms_up_then_decays():
    assert cnn.triangle(0.0) == pytest.approx(0.2)
    assert cnn.triangle(0.23) == pytest.approx(1.0)
    assert cnn.triangle(1.0) == pytest.approx(0.07)
    vals = [cnn.triangle(p) for p in np.linspace(0, 1, 50)]
    peak = int(np.argmax(vals))
    assert all(np.diff(vals[:peak + 1]) > 0) and all(np.diff(vals[peak:]) < 0)


def test_whitening_decorrelates_patches():
    torch.manual_seed(0)
    base = torch.randn(200, 3, 16, 16)
    x = base + 0.8 * base.roll(1, dims=-1)          # correlated neighbouring pixels
    conv = torch.nn.Conv2d(3, 24, 2)
    cnn.init_whitening(conv, x, eps=1e-6)
    with torch.no_grad():
        z = torch.nn.functional.conv2d(x, conv.weight[:12]).flatten(2).transpose(1, 2).reshape(-1, 12)
    m = z.T @ z / len(z)
    assert (m - torch.eye(12)).abs().max() < 0.02
    assert torch.allclose(conv.weight[12:], -conv.weight[:12])


def test_fast_net_step_and_tiny_training_run():
    torch.manual_seed(0)
    net = cnn.fast_net((8, 16, 16)).to(memory_format=torch.channels_last)
    opt = cnn.nesterov_sgd(net, batch_size=32)
    x = cnn.normalize(torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8), channels_last=True)
    y = torch.randint(0, 10, (32,))
    before = [p.detach().clone() for p in net.parameters()]
    loss = cnn.smooth_cross_entropy(net(x), y, 0.2, "sum")
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    changed = [not torch.equal(b, p) for b, p in zip(before, net.parameters())]
    frozen = [not p.requires_grad for p in net.parameters()]
    assert all(c or f for c, f in zip(changed, frozen)) and any(frozen)   # whitening weights stay frozen
    assert cnn.tta_logits(net.eval(), x, 2).shape == (32, 10)
    # a whole (tiny) run: separable fake data is learned well above chance
    rng = np.random.default_rng(0)
    y_np = rng.integers(0, 2, 600)
    X_np = rng.integers(0, 60, (600, 32, 32, 3)).astype(np.uint8)
    X_np[y_np == 1, :, :, 0] += 150                    # class 1 is red
    r = cnn.train_fast(X_np[:500], y_np[:500], X_np[500:], y_np[500:], widths=(8, 16, 16), epochs=2,
                       batch_size=50, dev="cpu", amp=None, verbose=False)
    assert r["test_acc"] > 0.9 and len(r["log"]) == 2 and r["log"][-1]["time_s"] > 0
    b = cnn.train_fast(X_np[:500], y_np[:500], X_np[500:], y_np[500:], widths=(8, 16, 16), epochs=None,
                       budget_s=15.0, batch_size=50, dev="cpu", amp=None, verbose=False)
    assert b["steps"] > 0   # a budgeted run trains and stops by itself (no wall-clock assertion: load varies)


def test_budget_table_and_auto_amp():
    log = [{"time_s": 30, "test_acc": 0.5}, {"time_s": 90, "test_acc": 0.7}, {"time_s": 400, "test_acc": 0.8}]
    assert cnn.budget_table(log, (20, 60, 120, 600)) == {20: None, 60: 0.5, 120: 0.7, 600: 0.8}
    assert cnn.auto_amp("cpu") in (None, "bf16")


def test_checkers_accept_right_and_reject_wrong_answers(capsys):
    assert cnn.check_conv_output_size(lambda n, k, p, s: (n + 2 * p - k) // s + 1)
    assert not cnn.check_conv_output_size(lambda n, k, p, s: (n + p - k) // s + 1)
    assert "both sides" in capsys.readouterr().out

    def right(kernel, h, w, c):
        return kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1).T
    assert cnn.check_keras_dense_to_torch(right)
    assert not cnn.check_keras_dense_to_torch(lambda kernel, h, w, c: kernel.T)
    assert "H,W,C" in capsys.readouterr().out

    def stub(*a):
        raise NotImplementedError
    assert not cnn.check_conv_output_size(stub)
