"""What notebook 11 (day-ahead load forecasting, AEP hourly, rolling-origin backtest) must record.

A stand-in run (quick mode with no data to be had) can promise the quirks found and fixed, the
shapes of the backtest and learning, not AEP's numbers. Training times are recorded, not compared.
"""
NOTEBOOK = "11_case_demand_forecasting"

MODELS = {"persistence", "seasonal-naive", "ridge + calendar", "LSTM"}


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
    reported = r["backtest"] == "reported"
    if not standin:   # the counts documented in the mirror's MANIFEST.md
        assert (r["n_rows"], r["duplicate_stamps"], r["missing_hours"], r["n_hours"]) == (121_273, 4, 27, 121_296)
        assert 5_000 < r["steps_back"] < 5_100
        if reported:   # one filled hour (2018-03-11 03:00, the spring DST gap) lies in a forecast day
            assert r["filled_target_hours"] == 1
            assert r["test_days"] == ["2017-08-04", "2018-08-02"]
    # the backtest: 364 days, each forecast at 10:00 the day before
    assert r["n_test_origins"] == 364
    res = r["results"]
    assert set(res) == MODELS
    for name, row in res.items():
        assert 0 < row["MAE"] < row["RMSE"], name
        assert 0 < row["MAPE %"] < 30, name
    assert abs(r["snaive_mape"] - res["seasonal-naive"]["MAPE %"]) < 1e-9
    assert abs(r["persistence_mape"] - res["persistence"]["MAPE %"]) < 1e-9
    if not standin and reported:   # the baselines of the reported year (a deterministic computation on the data)
        assert abs(r["persistence_mape"] - 7.86) < 0.05 and abs(r["snaive_mape"] - 9.92) < 0.05
    # persistence copies a value two days old for the hours after the origin's hour: worse there
    one_day, two_days = r["persistence_mape_1_2_days_old"]
    assert two_days > one_day
    # the learned models beat both baselines; the LSTM learned (quick: a few epochs on 2 years)
    assert r["ridge_mape"] < 0.8 * min(r["snaive_mape"], r["persistence_mape"])
    first, best = r["lstm_val_loss_first_last"]
    assert best < first
    assert r["lstm_mape"] < (0.9 if quick else 0.7) * r["snaive_mape"], r["lstm_mape"]
    seeds = r["lstm_seed_mapes"]   # one network per seed; the target is on their mean
    assert len(seeds) == (2 if quick else 3) and len(set(seeds)) == len(seeds)
    assert abs(r["lstm_over_snaive"] - sum(seeds) / len(seeds) / r["snaive_mape"]) < 1e-9
    assert r["lstm_mape"] < max(seeds)   # the seeds' average forecast beats the worst seed
    assert r["keep_lstm"] == (r["lstm_mape"] < min(r["snaive_mape"], r["persistence_mape"]))
    assert r["lstm_beats_ridge"] == (r["lstm_mape"] < r["ridge_mape"])
    by_h = r["mape_by_horizon"]
    assert set(by_h) == MODELS and all(len(v) == 24 for v in by_h.values())
    assert 0 <= r["lstm_beats_ridge_on"]["horizons"] <= 24 and 0 <= r["lstm_beats_ridge_on"]["folds"] <= 4
    assert len(r["lstm_fold_seconds"]) == len(r["lstm_epochs"]) == 4 and min(r["lstm_fold_seconds"]) > 0
    assert set(r["train_seconds"]) == {"ridge + calendar", "LSTM"}
    assert set(r["mape_per_fold"]) == MODELS and all(len(v) == 4 for v in r["mape_per_fold"].values())
    # holidays and the day after are harder for the forecast that copies the last day
    hol = r["holiday_mape"]["persistence"]
    assert hol["holiday or day after"] > hol["other days"]
    # an asymmetric cost (a short MWh costs 3x a surplus one): the pinball-trained network aims at the 0.75 quantile
    med, qua = r["asymmetric_cost"]["LSTM, L1 (median)"], r["asymmetric_cost"]["LSTM, pinball 0.75"]
    assert qua["hours under %"] < med["hours under %"] and qua["mean bias MW"] > med["mean bias MW"]
    assert qua["cost / hour"] < med["cost / hour"] and qua["MAPE %"] > med["MAPE %"]
    assert abs(r["pinball_cost_saving"] - (1 - qua["cost / hour"] / med["cost / hour"])) < 1e-9
    if not quick:   # it learned the quantile: short in about a quarter of the hours, the median in about half
        assert abs(qua["hours under %"] - 25) < 10 and abs(med["hours under %"] - 50) < 10
    if not quick and reported:   # the target: the deep model at most 0.7 x seasonal-naive, and better than ridge
        assert r["keep_lstm"] and r["lstm_beats_ridge"] and r["lstm_over_snaive"] <= 0.7
        assert max(seeds) < r["ridge_mape"]
        assert r["lstm_beats_ridge_on"]["folds"] == 4
