"""helpers.models.fastcifar and helpers.models.augment: the loader, the time budget, the network and the recipe's loop."""
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers.models import augment, fastcifar, fastnet  # noqa: E402
from helpers.train import step  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def test_augmentation_keeps_shape_dtype_and_only_moves_pixels():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    assert augment.augment(x).shape == x.shape and augment.augment(x).dtype == torch.uint8
    f = augment.random_flip(x)
    same, mirrored = (f == x).flatten(1).all(1), (f == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54
    p = augment.pad_reflect(x, 2)
    assert p.shape == (64, 3, 36, 36) and torch.equal(p[..., 2:34, 2:34], x)
    assert torch.equal(p[..., 2:34, 0], x[..., :, 2]) and torch.equal(p[..., 0, 2:34], x[..., 2, :])
    t = augment.augment(x, flip=False, translate=2)      # every shifted image is a window of the padded one
    found = torch.zeros(64, dtype=torch.bool)
    shifts = set()
    for dy in range(5):
        for dx in range(5):
            hit = (t == p[..., dy:dy + 32, dx:dx + 32]).flatten(1).all(1)
            found |= hit
            shifts |= {(dy, dx)} if bool(hit.any()) else set()
    assert bool(found.all()) and len(shifts) > 10
    assert torch.equal(augment.augment(x, flip=False, translate=0), x)
    xf = augment.normalize(x, channels_last=True)
    assert xf.dtype == torch.float32 and xf.is_contiguous(memory_format=torch.channels_last)
    assert augment.resize(xf, 20, channels_last=True).shape == (64, 3, 20, 20)


def images(n=40, seed=0):
    """n random uint8 NHWC images; the label of image i is i, so a batch tells which images it holds."""
    X = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return X, np.arange(n)


def test_loader_alternate_flip_mirrors_each_image_in_every_other_epoch():
    X, y = images()
    raw = dict(mean=(0, 0, 0), std=(1, 1, 1))
    loader = fastcifar.Loader(X, y, 8, translate=0, flip="alternate", **raw)
    originals = augment.normalize(augment.to_tensors(X), **raw)
    assert len(loader) == 5
    mirrored_by_epoch = []
    for _ in range(2):
        seen, mirrored = [], {}
        for xb, yb in loader:
            assert xb.shape == (8, 3, 32, 32) and xb.dtype == torch.float32 and yb.dtype == torch.int64
            for img, i in zip(xb, yb.tolist()):
                same, flip = torch.equal(img, originals[i]), torch.equal(img, originals[i].flip(-1))
                assert same or flip
                mirrored[i] = flip
            seen += yb.tolist()
        assert sorted(seen) == list(range(40))            # every image once per epoch, shuffled
        mirrored_by_epoch.append(mirrored)
    assert loader.epoch == 2
    assert all(mirrored_by_epoch[0][i] != mirrored_by_epoch[1][i] for i in range(40))
    assert 5 < sum(mirrored_by_epoch[0].values()) < 35


def test_loader_for_evaluation_keeps_order_and_the_last_partial_batch():
    X, y = images(45)
    loader = fastcifar.Loader(X, y, 10, train=False, channels_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 5 and [len(b[1]) for b in batches] == [10, 10, 10, 10, 5]
    assert torch.equal(torch.cat([b[1] for b in batches]), torch.arange(45))
    first = batches[0][0]
    assert first.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(first, augment.normalize(augment.to_tensors(X[:10])), atol=1e-6)   # no augmentation
    train = fastcifar.Loader(X, y, 10, translate=2)
    train.size = 20                                       # progressive resizing
    xb, _ = next(iter(train))
    assert xb.shape == (10, 3, 20, 20) and len(train) == 4


def test_label_smoothing_matches_torch():
    logits, y = torch.randn(32, 10, dtype=torch.float64), torch.randint(0, 10, (32,))
    for s in (0.0, 0.2):
        ref = torch.nn.functional.cross_entropy(logits, y, label_smoothing=s)
        assert abs(float(fastcifar.smooth_cross_entropy(logits, y, s) - ref)) < 1e-10


def test_schedule_warms_up_then_decays():
    assert fastcifar.triangle(0.0) == pytest.approx(0.2)
    assert fastcifar.triangle(0.23) == pytest.approx(1.0)
    assert fastcifar.triangle(1.0) == pytest.approx(0.07)
    vals = [fastcifar.triangle(p) for p in np.linspace(0, 1, 50)]
    peak = int(np.argmax(vals))
    assert all(np.diff(vals[:peak + 1]) > 0) and all(np.diff(vals[peak:]) < 0)


def test_whitening_decorrelates_patches():
    torch.manual_seed(0)
    base = torch.randn(200, 3, 16, 16)
    x = base + 0.8 * base.roll(1, dims=-1)          # correlated neighbouring pixels
    conv = torch.nn.Conv2d(3, 24, 2)
    fastnet.init_whitening(conv, x, eps=1e-6)
    with torch.no_grad():
        z = torch.nn.functional.conv2d(x, conv.weight[:12]).flatten(2).transpose(1, 2).reshape(-1, 12)
    m = z.T @ z / len(z)
    assert (m - torch.eye(12)).abs().max() < 0.02
    assert torch.allclose(conv.weight[12:], -conv.weight[:12])


def test_network_classes_are_stable_and_a_step_leaves_the_whitening_frozen():
    assert fastnet.FastNet is fastnet.FastNet and isinstance(fastnet.FastNet((8, 8, 8))[2], fastnet.ConvGroup)
    with pytest.raises(AttributeError):
        fastcifar.NoSuchNet
    torch.manual_seed(0)
    net = fastnet.FastNet((8, 16, 16)).to(memory_format=torch.channels_last)
    opt = fastcifar.nesterov_sgd(net, batch_size=32)
    x = augment.normalize(torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8), channels_last=True)
    y = torch.randint(0, 10, (32,))
    before = [p.detach().clone() for p in net.parameters()]
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    _, loss = step(net, x, y, fastcifar.smooth_cross_entropy, opt, scaler, torch.device("cpu"))
    assert math.isfinite(float(loss.detach()))
    changed = [not torch.equal(b, p) for b, p in zip(before, net.parameters())]
    frozen = [not p.requires_grad for p in net.parameters()]
    assert all(c != f for c, f in zip(changed, frozen)) and any(frozen)   # exactly the frozen ones stay
    assert fastcifar.tta_logits(net.eval(), x, 2).shape == (32, 10)
    assert net(x[:4, :, :20, :20]).shape == (4, 10)       # the global max-pool takes any image size


class FakeClock:
    """A stand-in for time.perf_counter that moves only when told."""

    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_time_budget_counts_setup_pauses_and_the_reserve(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(fastcifar.time, "perf_counter", clock)
    b = fastcifar.TimeBudget(100.0)
    clock.t += 10                                         # setup
    b.start(reserve_s=20.0)                               # 70 s left for training
    assert b.setup_s == pytest.approx(10) and b.progress() == pytest.approx(0)
    clock.t += 35
    assert b.progress() == pytest.approx(0.5)
    with b.paused():                                      # a periodic evaluation does not count
        clock.t += 50
    assert b.training_s() == pytest.approx(35)
    for dt in (9.0, 3.0, 3.0):                            # the first (warm-up) step is left out
        with b.step():
            clock.t += dt
    assert b.steps == 3 and b.step_s == pytest.approx(3.0)
    assert b.training_s() == pytest.approx(50) and b.next_step_fits()
    clock.t += 18                                         # 68 of 70 s: a 3 s step would overrun
    assert b.progress() < 1 and not b.next_step_fits()
    assert fastcifar.TimeBudget(None).next_step_fits()


def separable(n=600, seed=0):
    """Two classes that differ in colour: any working recipe learns them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.uint8)
    X[y == 1, :, :, 0] += 150                             # class 1 is red
    return X, y


def test_recipe_learns_and_a_budgeted_run_stops_by_itself():
    X, y = separable()
    r = fastcifar.train(X[:500], y[:500], X[500:], y[500:], widths=(8, 16, 16), epochs=2, batch_size=50,
                        dev="cpu", amp=None, verbose=False)
    assert r["test_acc"] > 0.9 and len(r["log"]) == 2 and r["steps"] == 20 and r["epochs"] == pytest.approx(2)
    assert r["logits"].shape == (100, 2) and r["tta"] == 2 and r["amp"] == "fp32"
    assert [row["epoch"] for row in r["log"]] == [1, 2] and r["log"][-1]["time_s"] > 0
    b = fastcifar.train(X[:500], y[:500], X[500:], y[500:], widths=(8, 16, 16), epochs=None, budget_s=8.0,
                        batch_size=50, dev="cpu", amp=None, verbose=False)
    assert b["steps"] > 0 and b["tta"] in (1, 2)          # no wall-clock assertion: the load varies
    with pytest.raises(TypeError, match="no_such_option"):
        fastcifar.train(X, y, X, y, no_such_option=1)


@pytest.mark.parametrize("native, expected", [(False, "fp32"), (True, "bf16")])
def test_recipe_follows_the_precision_policy_on_cpu(monkeypatch, native, expected):
    device_module = importlib.import_module("helpers.device")   # (helpers.device is also a function's name)
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda flags=None: native)
    X, y = separable(200)
    r = fastcifar.train(X[:150], y[:150], X[150:], y[150:], widths=(8, 8, 8), epochs=0.5, batch_size=50,
                        dev="cpu", amp="auto", verbose=False, tta=0, res_schedule=None)
    assert r["amp"] == expected and r["steps"] == 2


def test_choose_widths_picks_the_widest_net_that_gets_its_epochs():
    choices = (((8, 8, 8), 0.0), ((16, 16, 16), 6.0), ((32, 32, 32), 10.0))
    speeds = {(8, 8, 8): 10_000.0, (16, 16, 16): 5_000.0, (32, 32, 32): 1_000.0}
    w, epochs, _ = fastcifar.choose_widths(100, 50_000, choices=choices, speeds=speeds)
    assert w == (16, 16, 16) and epochs == pytest.approx(0.9 * 100 * 5000 / 50_000)
    assert fastcifar.choose_widths(10, 50_000, choices=choices, speeds=speeds)[0] == (8, 8, 8)
    assert fastcifar.choose_widths(1000, 50_000, choices=choices, speeds=speeds)[0] == (32, 32, 32)
    ips = fastcifar.train_speed((8, 8, 8), "cpu", batch_size=16, steps=1, size=20)
    assert math.isfinite(ips) and ips > 0


def test_choose_widths_stops_probing_at_the_first_net_that_falls_short(monkeypatch):
    choices = (((8, 8, 8), 0.0), ((16, 16, 16), 6.0), ((32, 32, 32), 10.0))
    probed = []
    monkeypatch.setattr(fastcifar, "schedule_speed", lambda w, dev, amp: probed.append(w) or 1000.0 / w[0])
    w, _, speeds = fastcifar.choose_widths(60, 100, choices=choices)   # (32,32,32): 0.9*60*31.25/100 = 16.9 epochs
    assert w == (32, 32, 32) and probed == [(8, 8, 8), (16, 16, 16), (32, 32, 32)]
    probed.clear()
    w, _, speeds = fastcifar.choose_widths(60, 50_000, choices=choices)  # (16,16,16) gets 0.07 epochs: stop there
    assert w == (8, 8, 8) and probed == [(8, 8, 8), (16, 16, 16)] and set(speeds) == set(probed)


def test_schedule_speed_weights_each_image_size_by_its_share_of_training_time(monkeypatch):
    sizes = []

    def fake_speed(widths, dev, amp, batch_size, steps, channels_last, size):
        sizes.append((size, batch_size))
        return {20: 3000.0, 24: 2000.0, 32: 1000.0}[size]
    monkeypatch.setattr(fastcifar, "train_speed", fake_speed)
    v = fastcifar.schedule_speed((8, 8, 8), "cpu")
    assert v == pytest.approx(0.35 * 3000 + 0.30 * 2000 + 0.35 * 1000)
    assert sizes == [(20, 512), (24, 512), (32, 512)]
    assert fastcifar.schedule_speed((8, 8, 8), "cpu", recipe=fastcifar.RECIPE.replace(res_schedule=None)) == 1000.0


def test_subset_is_class_balanced():
    y = np.repeat(np.arange(10), 50)
    X = np.arange(500)
    Xs, ys = fastcifar.subset(X, y, 105, seed=1)
    assert len(ys) == 105 and set(np.bincount(ys)) == {10, 11} and np.array_equal(y[Xs], ys)


def test_bench_budget_table():
    spec = importlib.util.spec_from_file_location("bench_cifar", ROOT / "bench" / "cifar10_time_to_accuracy.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    log = [{"time_s": 30, "test_acc": 0.5}, {"time_s": 90, "test_acc": 0.7}, {"time_s": 400, "test_acc": 0.6}]
    assert bench.budget_table(log, (20, 60, 120, 600)) == {20: None, 60: 0.5, 120: 0.7, 600: 0.7}


def test_bench_prints_one_table_with_a_column_group_per_precision_path():
    spec = importlib.util.spec_from_file_location("bench_cifar", ROOT / "bench" / "cifar10_time_to_accuracy.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def path(acc, ref):
        return {"fast": [{"budget_s": 60, "test_acc": acc, "widths": [32, 64, 64]}],
                "reference": [{"budget_s": 60, "test_acc": ref, "base_width": 16}]}
    result = {"budgets_s": [60, 120], "seed_cnn": None, "paths": {"fp32": path(0.80, 0.78), "bf16": path(0.82, 0.84)}}
    lines = bench.table(result).splitlines()
    assert "fp32 recipe" in lines[0] and "bf16 port" in lines[0] and lines[0].count("ratio") == 2
    assert "0.8000" in lines[2] and "1.026" in lines[2] and "0.976" in lines[2]   # 0.80/0.78, 0.82/0.84
    assert lines[3].count("-") >= 4                                               # 120 s: nothing measured



def _bench_module(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_idea_of_the_equal_time_bench_is_a_recipe_change():
    ideas = _bench_module("cifar10_ideas").IDEAS
    for name, (what, changes) in ideas.items():
        changed = fastcifar.RECIPE.replace(**changes)                  # an unknown field is a TypeError
        assert changed != fastcifar.RECIPE and what, name


def test_the_equal_time_bench_tables_each_idea_against_the_recipe_mean():
    bench = _bench_module("cifar10_ideas")
    result = {"baseline": [{"seed": 0, "test_acc": 0.80, "epochs": 5.0}, {"seed": 1, "test_acc": 0.81, "epochs": 5.1}],
              "ideas": {"no_ema": {"test_acc": 0.79, "epochs": 5.2}, "batch1024": {"test_acc": 0.8155, "epochs": 6.0}}}
    lines = bench.table(result).splitlines()
    row = {line.split("|")[0].strip(): line for line in lines[2:]}
    assert "-1.50p" in row["no_ema"] and "+1.05p" in row["batch1024"]          # against the mean 0.805
    assert "spread 1.00 points" in lines[-1] and sum(line.startswith("recipe ") for line in lines) == 3


def test_the_recipe_is_one_object_of_named_fields():
    r = fastcifar.RECIPE
    assert r.replace(widths=(8, 8, 8)).widths == (8, 8, 8) and r.widths == (64, 256, 256)   # frozen: a copy changes
    with pytest.raises(TypeError):
        r.replace(no_such_setting=1)
    assert r.lr_factor(0.0) == pytest.approx(r.lr_points[0]) and r.lr_factor(r.lr_points[1]) == pytest.approx(1.0)
    assert r.ema_decay_at(1.0) == pytest.approx(r.ema_decay ** r.ema_every)
    assert dict(r.items())["label_smoothing"] == r.label_smoothing


def test_train_rejects_an_unknown_setting():
    X = np.zeros((16, 32, 32, 3), np.uint8)
    y = np.arange(16) % 2
    with pytest.raises(TypeError, match="unknown recipe options"):
        fastcifar.train(X, y, X, y, epochs=0.1, dev="cpu", no_such_setting=1)
