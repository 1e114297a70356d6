"""What notebook 09 (remaining useful life on NASA C-MAPSS FD001) must record in quick mode."""
NOTEBOOK = "09_case_remaining_useful_life"

SENSORS = ["s2", "s3", "s4", "s7", "s8", "s9", "s11", "s12", "s13", "s14", "s15", "s17", "s20", "s21"]


def check(results: dict):
    r = results
    assert r["quick"]
    assert r["device"]
    # the data as the mirror holds it (a generated stand-in, offline, has the same shapes)
    assert r["n_train_rows"] == 20_631 and r["n_test_rows"] == 13_096
    if r["standin"]:
        return check_standin(r)
    assert r["engine_life_range"] == [128, 362]
    # the standard preparation: 14 informative sensors, 20 whole engines held out, 30-cycle windows
    assert r["sensors_kept"] == SENSORS
    assert r["n_val_engines"] == 20
    n, window, features = r["train_windows_shape"]
    assert (window, features) == (30, 14) and 10_000 < n < 20_631 - 100 * 29
    assert r["test_windows_shape"] == [100, 30, 14]
    # the NASA score: 10 cycles late costs e - 1, more than 10 early (e^(10/13) - 1)
    late, early = r["nasa_late_vs_early_10"]
    assert abs(late - 1.718281828459045) < 1e-9 and abs(early - 1.158105533948445) < 1e-9
    res = r["results"]
    assert set(res) == {"constant", "ridge", "LSTM", "1-D CNN", "LSTM + CNN"}
    assert 38 < res["constant"]["test_rmse"] < 46                       # predicts the mean label
    # ridge is deterministic up to BLAS rounding (reference without smoothing: 16.21 against raw RUL)
    assert 14.0 < res["ridge"]["test_rmse"] < 17.0 and 250 < res["ridge"]["nasa"] < 550
    for k in ("LSTM", "1-D CNN", "LSTM + CNN"):                        # quick mode: they learned
        assert res[k]["test_rmse"] < res["constant"]["test_rmse"] - 10, k
        assert res[k]["val_rmse"] < 0.75 * res["constant"]["val_rmse"], k
        assert res[k]["test_rmse_capped"] <= res[k]["test_rmse"] + 1e-9, k
        assert res[k]["nasa_capped"] <= res[k]["nasa"] + 1e-9, k
        assert r["train_seconds"][k] > 0, k
    assert r["best_model"] in ("LSTM", "1-D CNN", "LSTM + CNN")
    assert abs(r["best_test_rmse"] - res[r["best_model"]]["test_rmse"]) < 1e-3
    assert abs(r["best_test_rmse_capped_truth"] - res[r["best_model"]]["test_rmse_capped"]) < 1e-3
    seeds = r["capped_rmse_over_seeds"]          # quick mode: one seed a network
    assert set(seeds) == {"LSTM", "1-D CNN", "LSTM + CNN"} and all(len(v["per_seed"]) == 1 for v in seeds.values())
    assert abs(r["capped_rmse_mean_over_seeds"] - seeds[r["best_model"]]["mean"]) < 1e-9
    assert abs(seeds[r["best_model"]]["mean"] - r["best_test_rmse_capped_truth"]) < 1e-3    # one seed: the same
    # the convention: test truth capped at 125; 11 engines lie above the cap, up to 145 cycles
    assert r["test_engines_above_cap"] == 11
    assert 3.0 < r["raw_rmse_of_perfect_capped"] < 4.5
    # the pull rule: a margin from validation errors; the oracle misses nothing; the test has 10 engines due
    pull = r["pull_rule"]
    assert r["pull_margin"] > 0 and pull["inspection"] == 15 and pull["due"] == 10
    rules = pull["rules"]
    oracle = rules["oracle (true RUL)"]
    assert oracle["pulled"] == 10 and oracle["missed"] == 0 and 10 <= oracle["wasted_cycles"] <= 150
    margin_rule = [v for k, v in rules.items() if k.startswith("margin")][0]
    assert margin_rule["missed"] <= rules["no margin"]["missed"] <= 10
    assert margin_rule["pulled"] >= rules["no margin"]["pulled"]
    # ridge before its clip: far more FD003 engines outside [0, 125] than FD001 ones
    ridge_raw = r["ridge_unclipped"]
    assert ridge_raw["FD003"]["clipped"] > 2 * ridge_raw["FD001"]["clipped"] and ridge_raw["FD003"]["max"] > 200
    # a change of fault mode (FD003's fan degradation) hurts the FD001 model
    assert r["fd003_best_rmse"] > r["best_test_rmse"]
    assert set(r["fd003"]) == {"ridge", "LSTM", "1-D CNN", "LSTM + CNN"}
    assert r["fd003"]["ridge"]["rmse"] > res["ridge"]["test_rmse"] + 10


def check_standin(r: dict):
    """What a quick run on the generated stand-in (no mirror, no network) can promise: shapes and mechanics."""
    assert r["sensors_kept"] == SENSORS and r["n_val_engines"] == 20
    n, window, features = r["train_windows_shape"]
    assert (window, features) == (30, 14) and n > 10_000
    assert r["test_windows_shape"] == [100, 30, 14]
    late, early = r["nasa_late_vs_early_10"]
    assert abs(late - 1.718281828459045) < 1e-9 and abs(early - 1.158105533948445) < 1e-9
    res = r["results"]
    assert set(res) == {"constant", "ridge", "LSTM", "1-D CNN", "LSTM + CNN"}
    for k in ("ridge", "LSTM", "1-D CNN", "LSTM + CNN"):               # the stand-in's engines do wear out
        assert res[k]["val_rmse"] < res["constant"]["val_rmse"], k
    assert r["best_model"] in ("LSTM", "1-D CNN", "LSTM + CNN")
    assert set(r["fd003"]) == {"ridge", "LSTM", "1-D CNN", "LSTM + CNN"}
