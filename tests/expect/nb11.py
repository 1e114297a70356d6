"""What notebook 11 (day-ahead load forecasting, AEP hourly, rolling-origin backtest) must record.

A stand-in run (quick mode with no data to be had) can promise the quirks found and fixed, the
shapes of the backtest and learning, not AEP's numbers. Training times are recorded, not compared.
"""
NOTEBOOK = "11_case_demand_forecasting"

MODELS = {"same hour yesterday", "same hour last week", "ridge + calendar", "LSTM"}


def check(results: dict):
    r = results
    quick, standin = r["quick"], r["standin"]
    assert r["device"]
    assert not standin or quick, "a full run never uses stand-in data"
    # the quirks, found and fixed
    assert r["steps_back"] > 0 and r["duplicate_stamps"] > 0 and r["missing_hours"] > 0
    assert r["n_hours"] == r["n_rows"] - r["duplicate_stamps"] + r["missing_hours"]
    assert r["n_filled"] == r["missing_hours"]
    assert r["gaps_on_dst_months"] > 0.8
    assert r["working_day_over_off_day"] > 1.02
    if not standin:   # the counts documented in the mirror's MANIFEST.md
        assert (r["n_rows"], r["duplicate_stamps"], r["missing_hours"], r["n_hours"]) == (121_273, 4, 27, 121_296)
        # one filled hour (2018-03-11 03:00, the spring DST gap) lies in the backtest year: 24 forecasts reach it
        assert r["filled_target_hours"] == 24
        assert 5_000 < r["steps_back"] < 5_100
    # the backtest: the last year, every hour an origin
    assert 8_700 <= r["n_test_origins"] <= 8_737
    res = r["results"]
    assert set(res) == MODELS
    for name, row in res.items():
        assert 0 < row["MAE"] < row["RMSE"], name
        assert 0 < row["MAPE %"] < 30, name
    assert abs(r["snaive_mape"] - res["same hour yesterday"]["MAPE %"]) < 1e-9
    if not standin:   # the reference points (a deterministic computation on the data)
        assert abs(r["snaive_mape"] - 6.24) < 0.1 and abs(r["weekly_naive_mape"] - 9.90) < 0.1
    # the learned models beat seasonal-naive; the LSTM learned (quick: a few epochs on 2 years)
    assert r["ridge_mape"] < 0.8 * r["snaive_mape"]
    first, best = r["lstm_val_loss_first_last"]
    assert best < first
    assert r["lstm_mape"] < (0.9 if quick else 0.7) * r["snaive_mape"], r["lstm_mape"]
    assert abs(r["lstm_over_snaive"] - r["lstm_mape"] / r["snaive_mape"]) < 1e-9
    assert r["keep_lstm"] == (r["lstm_mape"] < r["snaive_mape"])
    assert r["lstm_beats_ridge"] == (r["lstm_mape"] < r["ridge_mape"])
    h1, h24 = r["lstm_mape_1h_24h"]
    assert h1 < h24
    by_h = r["mape_by_horizon"]
    assert set(by_h) == MODELS and all(len(v) == 24 for v in by_h.values())
    assert max(by_h["same hour yesterday"]) - min(by_h["same hour yesterday"]) < 0.2   # every forecast is 24 h old
    assert 0 <= r["lstm_beats_ridge_on"]["horizons"] <= 24 and 0 <= r["lstm_beats_ridge_on"]["folds"] <= 4
    assert len(r["lstm_fold_seconds"]) == len(r["lstm_epochs"]) == 4 and min(r["lstm_fold_seconds"]) > 0
    assert set(r["train_seconds"]) == {"ridge + calendar", "LSTM"}
    assert set(r["mape_per_fold"]) == MODELS and all(len(v) == 4 for v in r["mape_per_fold"].values())
    # holidays and the day after are harder for the forecast that copies yesterday
    hol = r["holiday_mape"]["same hour yesterday"]
    assert hol["holiday or day after"] > hol["other days"]
    if not quick:   # the target: the deep model at most 0.7 x seasonal-naive, and better than ridge
        assert r["keep_lstm"] and r["lstm_beats_ridge"] and r["lstm_over_snaive"] <= 0.7
        assert r["lstm_beats_ridge_on"]["folds"] == 4
