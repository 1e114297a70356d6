"""What notebook 06 (LSTMs and sequences) must record.

Quick mode trains on 2,000 articles for 2 epochs: it can promise parity of the LSTM cell and of
the two frameworks, the vanishing-gradient ordering, and learning clearly above chance (0.25 for
AG News' four classes), not the full-mode accuracies. Wall-clock times are recorded, never compared.
"""
NOTEBOOK = "06_lstms_and_sequences"


def check(results: dict):
    r = results
    quick, standin = r["quick"], r["standin"]
    assert r["device"]
    assert not standin or quick, "a full run never uses stand-in data"
    k = r["n_classes"]
    chance = 1 / k
    if r["corpus"] == "ag_news" and not standin:
        assert k == 4 and r["corpus_size"] in (7_600, 120_000)
        if r["corpus_size"] == 7_600:                      # offline: the test split as the whole corpus
            assert r["split_sizes"] == [5_320, 760, 1_520]
    # one vocabulary for both frameworks
    assert r["keras_ids_equal"] is True
    assert 100 < r["vocab_size"] <= 20_000 and 0 <= r["truncated_fraction"] <= 1
    # the LSTM cell from its equations = torch (float64) = Keras (float32); Keras weights copied into torch
    assert r["lstm_numpy_vs_torch"] < 1e-12
    assert r["lstm_numpy_vs_keras"] < 1e-5 and r["lstm_keras_to_torch"] < 1e-5
    # vanishing gradients: the RNN's gradient falls faster with distance than the LSTM's
    assert r["bptt_decay10_rnn"] < 0.1 * r["bptt_decay10_lstm"]
    assert 0 < r["bptt_per_step_rnn"] < r["bptt_per_step_lstm"] < 1
    # baselines
    assert r["tfidf_acc"] > chance + (0.3 if quick else 0.5), r["tfidf_acc"]
    assert r["boe_acc"] > chance + (0.2 if quick else 0.45), r["boe_acc"]
    if not standin and r["corpus"] == "ag_news" and r["corpus_size"] == 7_600 and not quick:
        # the reference fit on all 6,080 training + validation articles of the offline split (88.7% measured)
        assert abs(r["tfidf_trainval_acc"] - 0.893) < 0.02, r["tfidf_trainval_acc"]
    if not r["bbc_standin"]:
        assert r["bbc_tfidf_acc"] > 0.95, r["bbc_tfidf_acc"]                          # 98.7% measured
    # the seed's erratum, and its fix
    assert r["seed_erratum_raises"] is True and r["seed_loss_fix_diff"] < 1e-5
    # parameter counts: Embedding V x 64, LSTM 128, LSTM 64, Dense; PyTorch adds one bias per gate row
    v = r["vocab_size"]
    keras_params = v * 64 + 4 * 128 * (64 + 128 + 1) + 4 * 64 * (128 + 64 + 1) + 64 * k + k
    assert r["seed_params_keras"] == keras_params
    assert r["seed_params_torch"] == keras_params + 4 * 128 + 4 * 64
    # output parity after copying the trained Keras weights: exact where both see the same steps
    assert r["parity_masked_diff"] < 1e-4
    assert r["parity_n_unpadded"] == 0 or r["parity_unpadded_diff"] < 1e-4
    assert r["parity_n_padded"] == 0 or r["parity_padded_diff"] > 100 * r["parity_masked_diff"]
    # the seed model learns, in both frameworks
    floor = chance + (0.1 if quick else 0.45)
    assert r["seed_keras_acc"] > floor, r["seed_keras_acc"]
    assert r["seed_torch_acc"] > floor, r["seed_torch_acc"]
    assert len(r["seed_keras_val_acc"]) >= 2
    assert r["seed_claim_85_met"] in (True, False) and r["lstm_beats_tfidf"] in (True, False)
    assert len(r["lstm_per_class_acc"]) == k and all(0 <= a <= 1 for a in r["lstm_per_class_acc"].values())
    assert len(r["lstm_top_confusion"]) == 2 and r["lstm_n_wrong"] >= 0
    # where the pads go: the same network, budget and initial weights; pre-padding learns faster than
    # post-padding in the first epoch (full mode 82.1% vs 68.9% validation; quick mode, seeds 1-4, by 8-20 points)
    pad = r["padding"]
    assert set(pad) == {"packed (masked)", "post-padded, unmasked", "pre-padded, unmasked"}
    assert all(len(v["val_acc"]) >= 2 and 0 <= v["test_acc"] <= 1 for v in pad.values())
    assert pad["pre-padded, unmasked"]["val_acc"][0] > pad["post-padded, unmasked"]["val_acc"][0], pad
    for key in ["tfidf_time_s", "boe_time_s", "seed_keras_time_s", "seed_torch_time_s"]:
        assert r[key] > 0
