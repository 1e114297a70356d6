"""CIFAR-10 time to accuracy: the seed CNN (Keras, as published), the fast recipe and a faithful airbench94 port
(bench/airbench94_reference.py), same data, same machine, same run, on each precision path.

    python bench/cifar10_time_to_accuracy.py                 # all cores, budgets 60 120 300 600 s
    python bench/cifar10_time_to_accuracy.py --threads 1     # one thread
    python bench/cifar10_time_to_accuracy.py --quick         # a tiny smoke run (about a minute)

The seed CNN trains 10 epochs once; its test accuracy is logged after every epoch against training
wall-clock, and a budget's number is the best accuracy logged within it. The fast recipe trains once
per budget, with its learning-rate schedule run on the clock so that training plus the final
test-time-augmented evaluation end within the budget. Its size is picked per budget from a short
speed probe of the candidate widths (helpers.models.fastcifar.choose_widths: the widest net that still gets
enough epochs), unless --widths fixes it. The airbench94 port runs its published schedule once per budget
with epochs chosen from its measured speed (the widest base width, 64, 32 or 16, that gets at least
--ref-min-epochs epochs), and the table gives the recipe's accuracy divided by the port's. Times exclude loading the decoded data set and starting the frameworks, and include
everything else (moving data to the device, whitening, training, final evaluation).
The recipe and the port train on each precision path: fp32 (what every AVX2-only CPU and most laptops run)
and, where the device has a native 16-bit format, bf16 or fp16 too (`--amp fp32` or `--amp auto` picks one).
Prints one table (a row per budget; recipe, port and their ratio per path) and writes JSON, by default
bench/results/cifar10_<date>_<CPU kind>.json. Numbers, not tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402  (framework-free)


def cpu_model() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load() -> str:
    """The load averages (1, 5, 15 minutes) as one string."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def budget_table(log: list, budgets_s=(60, 120, 300, 600), key: str = "test_acc") -> dict:
    """{budget: best accuracy logged at or before that many seconds} from an accuracy-vs-time log."""
    out = {}
    for b in budgets_s:
        within = [r[key] for r in log if r["time_s"] <= b]
        out[b] = max(within) if within else None
    return out


def main():
    """Parse the options, train, print the table and write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: DLC_THREADS or all cores)")
    p.add_argument("--budgets", type=float, nargs="*", default=[60, 120, 300, 600], help="seconds")
    p.add_argument("--seed-epochs", type=int, default=10)
    p.add_argument("--widths", type=str, default=None,
                   help="fast net widths for every budget, e.g. 64,256,256 (default: chosen per budget)")
    p.add_argument("--tta", default="auto", choices=["auto", "0", "1", "2"],
                   help="test-time augmentation of the fast recipe: 0 none, 1 mirror, 2 mirror + shifts "
                        "(auto: 2 when it costs under 5%% of the budget, else 1)")
    p.add_argument("--skip-seed", action="store_true", help="do not train the seed CNN")
    p.add_argument("--skip-fast", action="store_true", help="do not train the fast recipe")
    p.add_argument("--skip-reference", action="store_true", help="do not train the airbench94 port")
    p.add_argument("--ref-min-epochs", type=float, default=5.0,
                   help="the port's base width is the widest that gets at least this many epochs in a budget")
    p.add_argument("--amp", nargs="*", default=None, choices=["auto", "fp32"],
                   help="precision paths, each trained and tabled (default: fp32, and auto too where the device "
                        "has a native 16-bit format); fp32 is what an AVX2-only CPU runs")
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="tiny smoke run: 5k/2k images, small budgets")
    p.add_argument("--out", default=None,
                   help="the JSON (default bench/results/cifar10_<date>_<CPU kind>.json; --quick: build/bench/)")
    a = p.parse_args()

    threads = helpers.set_threads(a.threads)           # before torch / TensorFlow (it also preloads triton)
    import torch

    from helpers.models import fastcifar, seed_cnn as models
    from helpers.data.cifar import load_cifar10

    X, y, _ = load_cifar10("train")
    Xt, yt, _ = load_cifar10("test")
    budgets = a.budgets
    if a.quick:
        X, y = fastcifar.subset(X, y, 5000)
        Xt, yt = fastcifar.subset(Xt, yt, 2000)
        budgets = [15, 30]
        a.seed_epochs = min(a.seed_epochs, 2)
    fixed = tuple(int(v) for v in a.widths.split(",")) if a.widths else ((16, 32, 32) if a.quick else None)
    dev = helpers.device(a.device)
    from helpers.device import cpu_kind
    native = helpers.precision_name(dev, "auto")
    wanted = a.amp or (["fp32"] + (["auto"] if native != "fp32" else []))
    paths = list(dict(("fp32", None) if w == "fp32" else (native, "auto") for w in wanted).items())
    info = {"cpu": cpu_model(), "cpu_kind": cpu_kind(), "cores": os.cpu_count(), "threads": threads,
            "device": str(dev), "paths": [name for name, _ in paths], "cpu_native_bf16": helpers.cpu_has_native_bf16(),
            "python": platform.python_version(), "torch": torch.__version__,
            "train_size": len(X), "test_size": len(Xt), "quick": a.quick, "load_at_start": load(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(helpers.describe())
    print(f"{info['cpu']} ({info['cpu_kind']}), {threads} threads, load average {info['load_at_start']}, "
          f"precision paths: {', '.join(info['paths'])}", flush=True)
    if a.quick and a.out is None:
        a.out = str(ROOT / "build" / "bench" / "cifar10_quick.json")
    result = {"machine": info, "budgets_s": budgets, "seed_cnn": None, "paths": {}}

    if not a.skip_seed:
        import tensorflow as tf
        helpers.tf_gpus()
        print(f"\nseed CNN (Keras, tensorflow {tf.__version__}), {a.seed_epochs} epochs, batch 64", flush=True)
        r = models.train_seed_keras(X, y, Xt, yt, epochs=a.seed_epochs, verbose=0)
        for row in r["log"]:
            print(f"  epoch {row['epoch']:2d}  {row['time_s']:7.1f}s  test acc {row['test_acc']:.4f}", flush=True)
        result["seed_cnn"] = {"log": r["log"], "test_acc": r["test_acc"], "train_s": round(r["time_s"], 1),
                              "within": budget_table(r["log"], budgets), "tensorflow": tf.__version__}

    for name, amp in paths:
        print(f"\n=== precision path {name} ===", flush=True)
        result["paths"][name] = run_path(amp, X, y, Xt, yt, budgets, a, fixed, dev)

    info["load_at_end"] = load()
    print()
    print(table(result))
    if result["seed_cnn"]:
        sc = result["seed_cnn"]
        print(f"seed CNN after {a.seed_epochs} epochs: {sc['test_acc']:.4f} in {sc['train_s']:.0f}s of training")
    print(f"load average at the end: {info['load_at_end']}")
    out = Path(a.out or ROOT / "bench" / "results" / f"cifar10_{time.strftime('%Y-%m-%d')}_{info['cpu_kind']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


def run_path(amp, X, y, Xt, yt, budgets, a, fixed, dev) -> dict:
    """The fast recipe and the airbench94 port at every budget in one precision (amp None: fp32, "auto")."""
    from helpers.models import fastcifar
    res = {"amp": helpers.precision_name(dev, amp), "fast": [], "reference": []}
    if not a.skip_fast:
        speeds = {}
        if not fixed:
            t0 = time.perf_counter()
            speeds = {w: fastcifar.schedule_speed(w, dev, amp) for w, _ in fastcifar.WIDTH_CHOICES}
            print(f"\nspeed probe ({time.perf_counter() - t0:.1f}s, not counted in the budgets): " +
                  ", ".join(f"{w}: {v:.0f} images/s" for w, v in speeds.items()), flush=True)
            res["speed_probe_images_per_s"] = {",".join(map(str, w)): round(v) for w, v in speeds.items()}
        for b in budgets:
            w = fixed or fastcifar.choose_widths(b, len(X), amp=amp, speeds=speeds)[0]
            print(f"\nfast recipe, budget {b:.0f}s, widths {w}, load average {load()}", flush=True)
            helpers.set_seed(0)
            r = fastcifar.train(X, y, Xt, yt, epochs=None, budget_s=b, widths=w, dev=dev, amp=amp,
                               tta=a.tta if a.tta == "auto" else int(a.tta),
                               log_fn=lambda s: print("  " + s, flush=True))
            res["fast"].append({"budget_s": b, "widths": list(w), "test_acc": r["test_acc"],
                                "test_acc_no_tta": r["test_acc_plain"], "time_s": round(r["time_s"], 1),
                                "epochs": round(r["epochs"], 2), "log": r["log"], "amp": r["amp"], "tta": r["tta"],
                                "load_after": load()})
    if not a.skip_reference:
        import airbench94_reference as ref
        widths = (64, 32, 16) if not a.quick else (16,)
        ref_speed = {w: ref.speed(w, dev, amp) for w in widths}
        print("\nairbench94 port speed probe: " + ", ".join(f"width {w}: {v:.0f} images/s" for w, v in ref_speed.items()))
        res["reference_speed_images_per_s"] = {str(w): round(v) for w, v in ref_speed.items()}
        for b in budgets:
            plan = [(w, ref.epochs_for_budget(b, ref_speed[w], len(X), len(Xt))) for w in widths]
            w, ep = next(((w, ep) for w, ep in plan if ep >= a.ref_min_epochs), plan[-1])
            print(f"\nairbench94 port, budget {b:.0f}s: base width {w}, {ep} epochs, load average {load()}", flush=True)
            helpers.set_seed(0)
            r = ref.train(X, y, Xt, yt, epochs=ep, base_width=w, dev=dev, amp=amp,
                          log_fn=lambda s: print("  " + s, flush=True))
            print(f"  test accuracy {r['test_acc']:.4f} in {r['time_s']:.1f}s", flush=True)
            res["reference"].append({"budget_s": b, **r, "within_budget": r["time_s"] <= b, "load_after": load()})
    for f in res["fast"]:
        g = next((r for r in res["reference"] if r["budget_s"] == f["budget_s"]), None)
        if g:
            f["ratio_to_reference"] = round(f["test_acc"] / g["test_acc"], 4)
    return res


def table(result: dict) -> str:
    """One table: a row per budget; the seed CNN, then the recipe, the port and their ratio for each precision path."""
    paths = result["paths"]
    head = f"{'budget':>8} | {'seed CNN':>8}" + "".join(
        f" | {name + ' recipe':>12} | {name + ' port':>10} | {'ratio':>6}" for name in paths) + " | recipe widths, port width"
    lines = [head, "-" * len(head)]
    for b in result["budgets_s"]:
        s = result["seed_cnn"]["within"].get(b) if result["seed_cnn"] else None
        row = f"{b:>7.0f}s | {'-' if s is None else f'{s:.4f}':>8}"
        notes = []
        for name, res in paths.items():
            f = next((r for r in res["fast"] if r["budget_s"] == b), None)
            g = next((r for r in res["reference"] if r["budget_s"] == b), None)
            ratio = f"{f['test_acc'] / g['test_acc']:.3f}" if f and g else "-"
            row += (f" | {'-' if not f else format(f['test_acc'], '.4f'):>12} | "
                    f"{'-' if not g else format(g['test_acc'], '.4f'):>10} | {ratio:>6}")
            notes.append(f"{name}: {tuple(f['widths']) if f else '-'}, {g['base_width'] if g else '-'}")
        lines.append(row + " | " + "; ".join(notes))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
