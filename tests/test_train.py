"""helpers.train: the loop learns, callbacks stop it, checkpoints are atomic, safe to load and resume exactly."""
import copy
import importlib
import pickle
import random

import numpy as np
import pytest
import torch
from torch import nn

from helpers.train import (Callback, EarlyStopping, History, batches, evaluate, fit, load_checkpoint,
                           rng_state, save_checkpoint, set_rng_state)

ht = importlib.import_module("helpers.train")
hd = importlib.import_module("helpers.device")
CPU = torch.device("cpu")


def blobs(n=96, seed=0):
    """Two Gaussian blobs in 4-d, labels 0/1: a problem a small net solves in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 4, generator=g) + 2.0 * (2 * y[:, None] - 1).float()
    return X, y


def assert_same_history(a, b, skip=()):
    """Same metrics, same epochs, values equal to 1e-12 (a replay of the same float operations)."""
    assert set(a) == set(b)
    for k in set(a) - set(skip):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=0, err_msg=k)


def mlp(seed=0, p_drop=0.0):
    """A small MLP (dropout draws from torch's global generator)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(p_drop), nn.Linear(16, 2))


def test_loss_falls_and_history_keys():
    X, y = blobs()
    model = mlp()
    epochs = 4
    gen = torch.Generator().manual_seed(0)
    h = fit(model, lambda: batches(X, y, 16, generator=gen), nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1), epochs,
            val=lambda: batches(X, y, 32, shuffle=False), dev=CPU, progress=False)
    assert isinstance(h, History)
    assert set(h) == {"train_loss", "train_acc", "val_loss", "val_acc", "epoch_time"}
    assert all(len(v) == epochs for v in h.values())
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0], h["train_loss"]
    assert h.last("val_acc") > 0.9
    assert h.last("val_loss") == pytest.approx(evaluate(model, lambda: batches(X, y, 32, False),
                                                        nn.CrossEntropyLoss())["loss"], rel=1e-6)


def test_regression_targets_have_no_accuracy():
    X = torch.randn(32, 4)
    y = X.sum(1, keepdim=True)
    model = nn.Linear(4, 1)
    h = fit(model, lambda: batches(X, y, 8), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05), 3,
            val=lambda: batches(X, y, 32, False), dev=CPU, progress=False)
    assert set(h) == {"train_loss", "val_loss", "epoch_time"}
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_val_loss_fn_keeps_the_penalty_out_of_val_loss():
    X, y = blobs(32)
    ce = nn.CrossEntropyLoss()

    def penalised(out, t):
        return ce(out, t) + 10.0

    runs = {}
    for name, vfn in [("default", None), ("plain", ce)]:
        model = mlp()
        runs[name] = fit(model, lambda: batches(X, y, 16), penalised, torch.optim.SGD(model.parameters(), lr=0.01),
                         1, val=lambda: batches(X, y, 32, False), dev=CPU, progress=False, val_loss_fn=vfn)
    assert runs["default"]["val_loss"][0] > 10.0, "without val_loss_fn the training loss (with penalty) is used"
    assert runs["plain"]["val_loss"][0] < 2.0
    assert runs["plain"]["val_loss"][0] == pytest.approx(runs["default"]["val_loss"][0] - 10.0, abs=1e-5)
    assert runs["plain"]["train_loss"][0] > 10.0, "train_loss is what was minimised"


def test_step_scheduler_per_batch_and_clip_grad():
    X, y = blobs(64)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), opt, 1, scheduler=sched,
        step_scheduler_per_batch=True, clip_grad=1e-3, dev=CPU, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 ** 4, rel=1e-12), "4 batches: 4 scheduler steps"
    moved = torch.cat([p.detach().flatten() for p in model.parameters()]) - before
    # lrs 1, 1/2, 1/4, 1/8 times a gradient of norm <= 1e-3: the weights move at most 1.875e-3
    assert 0 < moved.norm() <= 1.875e-3 * (1 + 1e-5)


def test_reduce_on_plateau_gets_the_val_loss():
    X, y = blobs(16)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    fit(model, lambda: batches(X, y, 16), lambda out, t: (out * 0).sum() + 1.0, opt, 3, scheduler=sched,
        val=lambda: batches(X, y, 16, False), dev=CPU, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025, rel=1e-12), "flat loss: halved after epochs 2 and 3"


# ---------------------------------------------------------------------------------------- callbacks
def test_early_stopping_rule_and_restore():
    model = nn.Linear(1, 1, bias=False)
    es = EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01)
    stops = []
    for epoch, loss in enumerate([3.0, 2.0, 1.995, 2.5, 1.0], start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        stops.append(es.on_epoch_end(epoch, {"val_loss": loss}, model))
        if stops[-1]:
            break
    assert stops == [False, False, False, True], "1.995 is within min_delta of 2.0: no improvement"
    assert es.best_epoch == 2 and es.stopped_epoch == 4 and es.best == pytest.approx(2.0)
    es.on_train_end(model, {})
    assert model.weight.item() == 2, "restore_best puts epoch 2's weights back"
    up = EarlyStopping(monitor="val_acc", mode="max", patience=1)
    assert [up.on_epoch_end(e, {"val_acc": a}, model) for e, a in [(1, 0.5), (2, 0.6), (3, 0.6)]] == \
        [False, False, True]
    with pytest.raises(ValueError):
        EarlyStopping(mode="lowest")
    with pytest.raises(KeyError, match="val_loss"):
        EarlyStopping().on_epoch_end(1, {"train_loss": 1.0}, model)


def test_fit_stops_early_and_restores_best_weights(tmp_path):
    X, y = blobs(64)
    model = mlp()
    snapshots, seen = {}, []

    def snapshot(epoch, metrics, m):
        snapshots[epoch] = copy.deepcopy(m.state_dict())

    class Spy(Callback):
        def on_epoch_end(self, epoch, metrics, m):
            seen.append(epoch)

    # train_loss falls, so in "max" mode epoch 1 stays best and patience 1 stops after epoch 2
    es = EarlyStopping(monitor="train_loss", mode="max", patience=1)
    ckpt = tmp_path / "es.pt"
    h = fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            10, dev=CPU, progress=False, callbacks=[snapshot, es, Spy()], checkpoint=ckpt)
    assert len(h["train_loss"]) == 2 and seen == [1, 2] and es.stopped_epoch == 2
    assert all(torch.equal(v, snapshots[1][k]) for k, v in model.state_dict().items())
    assert not all(torch.equal(v, snapshots[2][k]) for k, v in model.state_dict().items())
    # a finished (stopped) run does not train on when started again from its checkpoint
    es2, model2 = EarlyStopping(monitor="train_loss", mode="max", patience=1), mlp(seed=5)
    h2 = fit(model2, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), torch.optim.SGD(model2.parameters(), lr=0.1),
             10, dev=CPU, progress=False, callbacks=[es2], checkpoint=ckpt)
    assert len(h2["train_loss"]) == 2 and es2.best_epoch == 1
    assert all(torch.equal(v, snapshots[1][k]) for k, v in model2.state_dict().items())


def test_function_callback_stops():
    X, y = blobs(16)
    model = mlp()
    h = fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            5, dev=CPU, progress=False, callbacks=[lambda epoch, metrics, m: epoch == 3])
    assert len(h["train_loss"]) == 3


# ----------------------------------------------------------------------------------------- precision
def test_fit_follows_the_precision_policy_on_cpu(monkeypatch):
    X, y = blobs(16)
    monkeypatch.setattr(hd, "cpu_flags", lambda: {"avx2", "fma"})
    for amp, want in [(None, torch.float32), ("auto", torch.float32), ("bf16", torch.bfloat16)]:
        model, dtypes = mlp(), []
        model[0].register_forward_hook(lambda mod, inp, out: dtypes.append(out.dtype))
        h = fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                1, dev=CPU, progress=False, amp=amp)
        assert dtypes == [want], (amp, dtypes)
        assert np.isfinite(h["train_loss"][0])


def test_fit_asks_the_policy_for_scaler_and_autocast(monkeypatch):
    calls = []
    real_scaler, real_autocast = ht.grad_scaler, ht.autocast
    monkeypatch.setattr(ht, "grad_scaler", lambda dev, amp: calls.append(("scaler", dev.type, amp))
                        or real_scaler(dev, amp))
    monkeypatch.setattr(ht, "autocast", lambda dev, amp: calls.append(("autocast", dev.type, amp))
                        or real_autocast(dev, amp))
    X, y = blobs(16)
    model = mlp()
    fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
        1, dev=CPU, progress=False, amp="fp16")
    assert calls[0] == ("scaler", "cpu", "fp16") and ("autocast", "cpu", "fp16") in calls


@pytest.fixture
def t4(monkeypatch):
    """A faked pre-Ampere CUDA GPU (compute capability 7.5, a T4)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (7, 5))


def test_scaler_on_faked_t4(t4):
    cuda = torch.device("cuda")
    assert not hd.grad_scaler(cuda, None).is_enabled(), "amp=None is fp32: no loss scaling"
    assert hd.grad_scaler(cuda, "fp16").is_enabled()
    assert hd.grad_scaler(cuda, "auto").is_enabled(), "auto on a T4 is fp16, which needs loss scaling"
    assert not hd.grad_scaler(cuda, "bf16").is_enabled()


# --------------------------------------------------------------------------------------- checkpoints
def test_rng_state_round_trip(tmp_path):
    gen = torch.Generator().manual_seed(3)

    def draws():
        return (torch.rand(3).tolist(), np.random.rand(3).tolist(), np.random.normal(), random.random(),
                random.gauss(0, 1), torch.rand(3, generator=gen).tolist())

    np.random.normal()  # leaves a cached Gaussian in NumPy's state
    state = load_checkpoint(save_checkpoint(tmp_path / "rng.pt", rng_state(gen)))
    first = draws()
    set_rng_state(state, gen)
    np.testing.assert_allclose(np.hstack(draws()), np.hstack(first), rtol=1e-12, atol=0,
                               err_msg="every generator must repeat its draws")


def test_checkpoint_round_trip_is_plain_data(tmp_path):
    X, y = blobs(32)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)
    ckpt = tmp_path / "sub" / "run.pt"
    h = fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), opt, 2, dev=CPU, progress=False,
            scheduler=sched, checkpoint=ckpt, generator=torch.Generator())
    state = torch.load(ckpt, weights_only=True)  # the strict loader accepts it: no pickled objects
    assert set(state) == {"model", "optimizer", "scheduler", "scaler", "callbacks", "history", "epoch",
                          "stopped", "rng"}
    assert set(state["rng"]) >= {"torch", "numpy", "python", "generator"}
    assert state["epoch"] == 2 and state["stopped"] is False
    assert_same_history(state["history"], h)
    assert all(torch.equal(v, state["model"][k]) for k, v in model.state_dict().items())
    assert state["scheduler"]["last_epoch"] == 2
    assert list(tmp_path.joinpath("sub").iterdir()) == [ckpt], "no temporary files left behind"
    weights = copy.deepcopy(model.state_dict())
    h2 = fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), opt, 2, dev=CPU, progress=False,
             scheduler=sched, checkpoint=ckpt)
    assert_same_history(h2, h)
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_resume_restores_the_loss_scaler(tmp_path, monkeypatch):
    scalers = []

    def growing_scaler(dev, amp):  # an enabled scaler on the CPU whose scale doubles every step
        scalers.append(torch.amp.GradScaler("cpu", init_scale=2.0 ** 7, growth_interval=1))
        return scalers[-1]

    monkeypatch.setattr(ht, "grad_scaler", growing_scaler)
    X, y = blobs(32)
    for epochs in (1, 2):   # two batches per epoch; the second call resumes after epoch 1
        model = mlp()
        fit(model, lambda: batches(X, y, 16), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            epochs, dev=CPU, progress=False, checkpoint=tmp_path / "run.pt")
    assert [s.get_scale() for s in scalers] == pytest.approx([2.0 ** 9, 2.0 ** 11], rel=1e-12), \
        "the resumed run continues from the saved scale"


class Evil:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_load_checkpoint_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)


def test_save_is_atomic_and_leaves_other_files_alone(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    (tmp_path / "run.pt.tmp").write_text("another process's file")
    real_save = torch.save

    def crash(obj, f, *a, **k):
        real_save({"epoch": 2, "w": torch.zeros(3)}, f)
        f.truncate(10)  # half-written, then the machine dies
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3)})
    monkeypatch.setattr(torch, "save", real_save)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(3)), "the old checkpoint survives a crash"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt", "run.pt.tmp"]
    assert (tmp_path / "run.pt.tmp").read_text() == "another process's file"


class Interrupt(Exception):
    """Stands for Ctrl-C or a killed job in the middle of an epoch."""


def _resumable_run(tmp_path, epochs, interrupt_at=None, seed=0):
    """Train with dropout, shuffling, NumPy and Python noise, Adam and OneCycleLR; maybe die mid-epoch."""
    X, y = blobs(48)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = mlp(seed=seed, p_drop=0.3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=epochs * 3)
    gen = torch.Generator().manual_seed(seed)
    started = []

    def train():
        started.append(1)
        for i, (xb, yb) in enumerate(batches(X, y, 16, generator=gen)):
            if interrupt_at is not None and len(started) == interrupt_at and i == 1:
                raise Interrupt
            noise = torch.from_numpy(np.random.normal(0, 0.1, xb.shape).astype(np.float32))
            yield xb * (1 + random.random()) + noise, yb

    h = fit(model, train, nn.CrossEntropyLoss(), opt, epochs, dev=CPU, progress=False, scheduler=sched,
            step_scheduler_per_batch=True, checkpoint=tmp_path / "run.pt", generator=gen)
    return model, h


def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ref_model, ref_h = _resumable_run(tmp_path / "a", epochs=5)
    with pytest.raises(Interrupt):
        _resumable_run(tmp_path / "b", epochs=5, interrupt_at=3)   # dies inside epoch 3
    assert load_checkpoint(tmp_path / "b" / "run.pt")["epoch"] == 2
    model, h = _resumable_run(tmp_path / "b", epochs=5, seed=1)    # fresh process, other seeds: state comes from disk
    for k, v in ref_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    assert_same_history(h, ref_h, skip=["epoch_time"])  # epochs 3-5 were timed again


class TwoInputs(nn.Module):
    """A model of two inputs, e.g. token ids and lengths: features scaled by a per-row second input."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x, scale):
        return self.net(x * scale[:, None])


def test_tuple_inputs_are_batched_together_and_passed_as_arguments():
    X, y = blobs()
    scale = torch.linspace(0.5, 1.5, len(y))
    got = list(batches((X, scale), y, 10, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert all(isinstance(xb, tuple) and len(xb) == 2 for xb, _ in got)
    xs, ss = torch.cat([xb[0] for xb, _ in got]), torch.cat([xb[1] for xb, _ in got])
    rows = {tuple(r) for r in torch.cat([X, scale[:, None]], 1).tolist()}
    assert {tuple(r) for r in torch.cat([xs, ss[:, None]], 1).tolist()} == rows, "rows stay together when shuffled"
    model = TwoInputs()
    data = lambda: batches((X, scale), y, 16, generator=torch.Generator().manual_seed(1))  # noqa: E731
    hist = fit(model, data, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 1e-2), 5,
               val=lambda: batches((X, scale), y, 32, shuffle=False), dev=CPU, progress=False)
    assert hist["train_loss"][-1] < hist["train_loss"][0] and hist.last("val_acc") > 0.9
    res = evaluate(model, [((X, scale), y)], nn.CrossEntropyLoss(), dev=CPU)
    with torch.no_grad():
        direct = nn.CrossEntropyLoss()(model(X, scale), y).item()
    assert abs(res["loss"] - direct) < 1e-6, "evaluate calls model(*xb)"
