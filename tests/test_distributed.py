"""DDP under torchrun (gloo, 2 processes of one thread each) and tf.distribute on 2 logical CPUs.

Runs the real launcher: `torchrun --standalone` (a free port per run, so tests may run side by side)
on generated images and a narrow FastNet, so that each launch costs a few seconds.
"""
import json
import subprocess
import sys

import pytest

from helpers.models import distributed as D

# One worker runs this module: its module-scoped fixture then runs once (pytest -n N --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_distributed")

BASE = ["--data", "synthetic", "--subset", "768", "--test-subset", "256", "--widths", "8", "16", "16",
        "--epochs", "2", "--batch", "64"]                       # 12 steps per epoch
SAVE_EVERY, CRASH_STEP = 5, 17           # checkpoints at steps 5, 10, 12 (epoch end), 15; killed after 17


def _launch(nproc, *args, tmp, name):
    """torchrun with nproc workers; results in tmp/name.json, final weights in tmp/name.pt."""
    proc = D.launch(nproc, [*BASE, *args, "--out", tmp / f"{name}.json", "--final", tmp / f"{name}.pt"],
                    timeout=240, quiet=True)
    out = tmp / f"{name}.json"
    proc.results = json.loads(out.read_text()) if out.exists() else None
    return proc


def _weights(path):
    """The final weights a run saved (weights_only load)."""
    from helpers.train import load_checkpoint
    return load_checkpoint(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The launches every test below reads: each one once."""
    tmp = tmp_path_factory.mktemp("ddp")
    plain = ["--no-batchnorm", "--lr", "0.1"]   # BatchNorm statistics are per replica on CPU: 1 vs 2 processes differ there
    resume = ["--augment", "--save-every", str(SAVE_EVERY)]
    r = {"one": _launch(1, *plain, tmp=tmp, name="one"),
         "two": _launch(2, *plain, "--check-sync", tmp=tmp, name="two"),
         "zero": _launch(2, "--optimizer", "adam", "--lr", "0.003", "--zero", "--subset", "770", tmp=tmp, name="zero"),
         "whole": _launch(2, *resume, "--checkpoint", tmp / "whole.ckpt", tmp=tmp, name="whole"),
         "killed": _launch(2, *resume, "--checkpoint", tmp / "cut.ckpt", "--crash-rank", "1",
                           "--crash-step", str(CRASH_STEP), "--crash-how", "kill", tmp=tmp, name="killed")}
    r["cut_checkpoint"] = _weights(tmp / "cut.ckpt") if (tmp / "cut.ckpt").exists() else None
    r["resumed"] = _launch(2, *resume, "--checkpoint", tmp / "cut.ckpt", tmp=tmp, name="resumed")
    r["tmp"] = tmp
    return r


def _ok(proc):
    """Assert a launch succeeded, showing torchrun's report when it did not."""
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.results


def test_two_replicas_stay_identical_and_match_one_process(runs):
    one, two = _ok(runs["one"]), _ok(runs["two"])
    assert (one["world_size"], two["world_size"], two["local_batch"]) == (1, 2, 32)
    assert two["backend"] == "gloo" and two["steps"] == one["steps"] == 24
    # the all-reduce hands every rank the same averaged gradient: the replicas agree bit for bit
    assert two["replica_spread"] == 0.0
    # a 64-image mean gradient vs the mean of two 32-image means: the same number up to float32
    # rounding (sums in another order: about 1e-7 here after 24 steps; a gentle learning rate keeps
    # such differences from growing); 1e-5 leaves room for other CPUs' kernels
    w1, w2 = _weights(runs["tmp"] / "one.pt"), _weights(runs["tmp"] / "two.pt")
    import torch
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    print(f"largest weight difference, 1 vs 2 processes: {diff:.2e}")
    assert diff < 1e-5, diff
    assert one["history"]["loss"][1] < one["history"]["loss"][0]       # it trained
    assert abs(one["history"]["loss"][1] - two["history"]["loss"][1]) < 1e-5
    assert not all(torch.equal(w1[k], torch.zeros_like(w1[k])) for k in w1)


def test_every_step_leaves_the_replicas_equal_and_an_epoch_trains_each_image_once(runs):
    one, two = _ok(runs["one"]), _ok(runs["two"])
    assert len(two["step_spread"]) == 24 and max(two["step_spread"]) == 0.0      # after every step
    assert one["step_spread"] == []                                               # only when asked
    # 768 images, 2 ranks x 32 x 12 steps: every image once per epoch, none twice, on either rank count
    assert two["coverage"] == one["coverage"] == [[768, 768, 768]] * 2


def test_zero_shards_adams_state_over_the_ranks(runs):
    z = _ok(runs["zero"])
    per_rank = z["optimizer_state_bytes"]
    # Adam keeps two float32 moments per trainable parameter: 8 bytes, split between the ranks
    assert sum(per_rank) == 8 * z["n_trainable"] and z["n_trainable"] < z["n_params"]   # whitening is frozen
    assert len(per_rank) == 2 and max(per_rank) < 0.75 * sum(per_rank)
    assert z["replica_spread"] == 0.0 and z["history"]["loss"][1] < z["history"]["loss"][0]
    # 770 images: the 2 left over after 12 steps of 64 are the ones an epoch does not reach
    assert all(c == [768, 768, 770] for c in z["coverage"])
    assert _ok(runs["one"])["optimizer_state_bytes"] == [4 * _ok(runs["one"])["n_trainable"]]   # SGD: momentum


def test_zero_refuses_a_checkpoint():
    import torch
    args = D.parse_args(["--zero", "--checkpoint", "x.ckpt"])
    with pytest.raises(ValueError, match="leave out --checkpoint or --zero"):
        D._optimizer(args, [torch.nn.Parameter(torch.zeros(2))])


def test_a_killed_rank_stops_the_launcher_with_a_clear_report(runs):
    killed = runs["killed"]
    assert killed.returncode != 0 and killed.results is None
    report = D.failure_summary(killed.stderr)
    assert "rank      : 1" in report and ("SIGKILL" in report or "-9" in report), killed.stderr[-3000:]
    assert f"injected failure (kill) after step {CRASH_STEP}" in killed.stdout


def test_checkpoint_is_mid_epoch_with_every_rank_rng(runs):
    ck = runs["cut_checkpoint"]
    assert ck is not None
    last = CRASH_STEP // SAVE_EVERY * SAVE_EVERY                              # 15: epoch 2, step 3
    assert (ck["global_step"], ck["epoch"], ck["step_in_epoch"]) == (last, 1, last - 12)
    assert ck["world_size"] == 2 and len(ck["ranks"]) == 2
    assert all("generator" in r["rng"] and r["partial_loss"] > 0 for r in ck["ranks"])
    assert ck["ranks"][0]["rng"]["generator"].tolist() != ck["ranks"][1]["rng"]["generator"].tolist()


def test_resume_after_a_kill_mid_epoch_equals_the_uninterrupted_run(runs):
    whole, resumed = _ok(runs["whole"]), _ok(runs["resumed"])
    assert "resumed from" in runs["resumed"].stdout
    # same machine, same kernels, same thread count, same data order and augmentation draws: the
    # resumed run repeats the lost steps exactly, so the weights agree bit for bit
    import torch
    a, b = _weights(runs["tmp"] / "whole.pt"), _weights(runs["tmp"] / "resumed.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["history"]["loss"] == pytest.approx(whole["history"]["loss"], rel=1e-12)
    assert resumed["history"]["test_acc"] == whole["history"]["test_acc"]
    assert resumed["replica_spread"] == 0.0


def test_resume_refuses_another_world_size_or_batch(runs):
    ck = runs["cut_checkpoint"]
    D.check_resumable(ck, 2, 64)
    for world, batch in [(1, 64), (4, 64), (2, 128)]:
        with pytest.raises(ValueError, match="resume it with the same"):
            D.check_resumable(ck, world, batch)


def test_torchrun_commands():
    one = D.torchrun_command(2, ["--epochs", 1])
    assert "--standalone" in one and "--nproc-per-node=2" in one and one[-2:] == ["--epochs", "1"]
    multi = D.torchrun_command(8, nnodes=2, node_rank=1, endpoint="node0:29400")
    assert "--standalone" not in multi and "--node-rank=1" in multi and "--rdzv-endpoint=node0:29400" in multi


def test_mirrored_strategy_matches_one_device():
    # a fresh process: TensorFlow's logical devices must be set before its runtime starts
    code = ("import helpers, json; helpers.set_threads(1)\n"
            "from helpers.models.tfdistribute import mirrored_vs_single\n"
            "print('RESULT', json.dumps(mirrored_vs_single(2, global_batch=64, epochs=2, n=512)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert res["replicas"] == 2
    # same global batch, same initial weights: the mirrored run equals one device up to float32 rounding
    assert res["max_weight_diff"] < 1e-5 < res["max_weight_change"]
    assert res["loss_mirrored"] == pytest.approx(res["loss_one"], rel=1e-5)
