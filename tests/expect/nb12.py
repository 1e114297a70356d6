"""What notebook 12 (scaling out: DDP with torchrun, tf.distribute, checkpoint and resume,
the learning-rate scaling rule, mixed precision under DDP, ZeRO's memory arithmetic) must record."""
NOTEBOOK = "12_scaling_out"


def check(results: dict):
    r = results
    quick = r["quick"]
    assert r["device"]
    # the ring all-reduce picture: 2(N-1) steps for N = 4
    assert r["ring_steps"] == 6
    lr = r["lr_table"]
    assert abs(lr["8 GPUs"] / lr["1 GPU"] - 8) < 1e-9 and abs(lr["2 GPUs, accumulate 4"] / lr["1 GPU"] - 4) < 1e-9
    assert lr["1 GPU"] == 1.0 or quick                     # the table scales from the runs' own lr for batch 256
    # the linear scaling rule, tried: at 2x and 4x the batch the scaled rate learns more per epoch than
    # the same rate, and ends closer to the small batch's loss
    loss = r["rule_loss"]
    for k in ("2x", "4x"):
        same, scaled = loss[f"{k} batch, same lr"], loss[f"{k} batch, {k} lr"]
        assert scaled < same and abs(scaled - loss["1x batch"]) < abs(same - loss["1x batch"]), loss
    # 1 and 2 processes ran; throughput is measured and recorded, never asserted beyond sanity
    ips = r["images_per_s"]
    assert set(ips) == {"1 process", "2 processes", "1 process, 2 threads"} and min(ips.values()) > 0
    assert r["speedup_2_processes"] > 0                    # a measurement of the machine, not asserted
    assert r["allreduce_ms"] > 0
    assert r["replica_spread"] == 0.0                       # DDP keeps the replicas bit-identical ...
    assert r["step_spread_max"] == 0.0                      # ... after every step
    for coverage in r["coverage"].values():                 # each epoch trains on every image at most once
        assert all(distinct == trained and total - trained < 256 for distinct, trained, total in coverage)
    acc = r["test_acc"]
    floor = 0.2 if quick or r["standin"] else 0.45         # chance is 0.1
    assert min(acc.values()) > floor, acc
    # bf16 under DDP where the workers' hardware has it: replicas still bit-identical, and it learned
    bf16 = r["bf16_ddp"]
    if bf16 is not None:
        assert bf16["step_spread_max"] == 0.0 and bf16["images_per_s"] > 0 and bf16["test_acc"] > 0.2
    # ZeRO's arithmetic for 7B on 8 workers, and PyTorch's accounting of Adam's state (8 bytes per
    # trainable parameter), sharded over 2 ranks by ZeRO stage 1 without a byte lost or held twice
    assert [round(g, 2) for g in r["zero_7b_gb"]] == [112.0, 38.5, 26.25, 14.0]
    assert sum(r["zero1_state_bytes"]) == r["adam_state_bytes"] and max(r["zero1_state_bytes"]) < 0.75 * r["adam_state_bytes"]
    # the kill mid-epoch: a non-zero exit, a checkpoint inside an epoch, an exact resume
    assert r["killed_returncode"] != 0
    epoch, step_in_epoch, global_step = r["checkpoint_position"]
    assert step_in_epoch > 0 and global_step > 0
    assert r["resume_identical"] is True
    # TensorFlow: two mirrored replicas agree with one device up to float32 rounding
    assert r["tf_replicas"] == 2 and r["tf_max_weight_diff"] < 1e-5
    if not quick:
        assert not r["standin"]
