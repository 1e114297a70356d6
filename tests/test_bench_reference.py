"""The airbench94 port in bench/: the published facts it promises (schedule, whitening, data order, net) and a short run that learns."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
torch = pytest.importorskip("torch")
import airbench94_reference as ref  # noqa: E402


def test_triangle_schedule_matches_the_published_points():
    f = ref.triangle(1000)
    assert f(0) == pytest.approx(0.2) and f(230) == pytest.approx(1.0) and f(1000) == pytest.approx(0.07)
    assert f(115) == pytest.approx(0.6) and f(100) < f(200) and f(500) > f(900)


def test_net_shape_widths_and_frozen_parts():
    net = ref.make_net(16)
    out = ref.forward(net, torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    assert net[0].weight.shape == (24, 3, 2, 2) and not net[0].weight.requires_grad
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][1:]
    assert [c.out_channels for c in convs] == [16, 16, 64, 64, 64, 64]
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not b.weight.requires_grad and b.bias.requires_grad and b.momentum == pytest.approx(0.4) for b in bns)
    assert torch.equal(convs[1].weight[:16, :, 1, 1], torch.eye(16))      # Dirac: identity on the first cin filters


def test_whitening_decorrelates_patches():
    x = torch.randn(64, 3, 16, 16) @ torch.randn(16, 16)                 # correlated along rows
    conv = torch.nn.Conv2d(3, 24, 2, bias=False)
    ref.init_whitening(conv, x)
    z = torch.nn.functional.conv2d(x, conv.weight)[:, :12]               # the + half of the filters
    flat = z.permute(1, 0, 2, 3).reshape(12, -1)
    cov = flat @ flat.T / flat.shape[1]
    assert torch.allclose(cov, torch.eye(12), atol=0.05)
    assert torch.allclose(conv.weight[:12], -conv.weight[12:])


def test_batches_alternate_flips_and_drop_the_partial_batch():
    torch.manual_seed(0)
    images = torch.randn(2500, 3, 32, 32)
    b = ref.Batches(images, torch.arange(2500), 1024)
    assert len(b) == 2 and sum(len(yb) for _, yb in b) == 2048


def test_a_short_run_learns():
    from helpers.data.cifar import standin_images
    classes = [str(i) for i in range(10)]
    X, y, _ = standin_images("train", classes, 2048)
    Xt, yt, _ = standin_images("test", classes, 500)
    r = ref.train(X, y, Xt, yt, epochs=4, base_width=8, dev="cpu", amp=None)
    assert r["test_acc"] > 0.3 and r["steps"] == 8 and r["amp"] == "fp32"


def test_epochs_for_budget_grows_with_budget_and_speed():
    assert ref.epochs_for_budget(600, 1000) > ref.epochs_for_budget(120, 1000) > 0
    assert ref.epochs_for_budget(120, 2000) > ref.epochs_for_budget(120, 1000)
