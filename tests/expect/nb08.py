"""What notebook 08 (predictive maintenance on AI4I 2020) must record."""
NOTEBOOK = "08_case_predictive_maintenance"

MODELS = ["majority", "logistic", "gb_raw", "gb_physics", "gb_per_mode", "mlp_unweighted", "mlp_weighted"]


def check(results: dict):
    r = results
    quick = r["quick"]
    assert r["device"]
    # the data and its documented counts
    assert r["n_rows"] == 10_000 and r["n_failures"] == 339
    assert r["mode_counts"] == {"twf": 46, "hdf": 115, "pwf": 95, "osf": 98, "rnf": 19}
    assert r["n_test"] == 2000 and r["n_test_failures"] == 68            # 80/20 stratified
    assert r["label_equals_any_mode"] > 0.99
    assert all(v == 0 for v in r["rule_mismatches"].values())           # the data are synthetic
    assert 0 < r["hdf_gap_8_6_failures"] < r["hdf_gap_8_6_rows"]         # the float-rounded boundary
    # the leakage trap: the mode columns as inputs give a near-perfect F1
    assert r["f1_leaky"] > 0.9 and r["f1_leaky"] > r["f1_gb_raw"] + 0.15
    # baselines, ordered: majority (no alarm) < logistic < trees < trees with physics
    assert abs(r["f1_majority"]) < 1e-12
    assert 0.15 < r["f1_logistic"] < r["f1_gb_raw"] < r["f1_gb_physics"]
    assert 0.9 < r["f1_ceiling_train"] < 0.93
    # one model per mode: the learnable modes rank well on validation, the random ones do not
    ap = r["validation_ap_per_mode"]
    assert min(ap["hdf"], ap["pwf"], ap["osf"]) > 0.8 and max(ap["twf"], ap["rnf"]) < 0.3
    assert r["modes_used"] == ["hdf", "pwf", "osf"]
    assert 0 < r["threshold_f1"] < 1
    assert r["f1_gb_per_mode"] > (0.8 if quick else 0.87)
    assert r["f1_gb_per_mode"] <= r["f1_ceiling_train"] + 0.03
    assert r["average_precision"]["gb_per_mode"] > r["average_precision"]["logistic"]
    # the MLP learned, and class weights raise recall at the default threshold
    assert min(r["f1_mlp_unweighted"], r["f1_mlp_weighted"]) > (0.3 if quick else 0.45)
    half = r["mlp_recall_at_half"]
    assert half["mlp_weighted"] >= half["mlp_unweighted"]
    assert r["class_weights"][1] > 10 * r["class_weights"][0]
    # the cost threshold: low (a miss is dearer than a stop) and far cheaper than never stopping
    costs = r["test_costs"]
    assert 0 < r["threshold_cost"] < 0.5
    assert costs["threshold_cost"] < 0.35 * costs["never_alarm"]
    # recall per mode at that threshold
    rec = r["recall_per_mode"]
    assert min(rec["hdf"], rec["pwf"], rec["osf"]) > 0.7 > rec["twf"]
    # a training time for every model
    assert set(MODELS) <= set(r["train_seconds"]) and set(MODELS) <= set(r["summary"])
