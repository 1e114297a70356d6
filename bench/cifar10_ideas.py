"""CIFAR-10 ideas at equal time: the fast recipe with one change at a time against the recipe as it is,
every run on the same wall-clock budget, widths and precision path.

    python bench/cifar10_ideas.py                          # 120 s, native precision, all ideas
    python bench/cifar10_ideas.py --budget 300 --amp fp32  # another budget, the fp32 path
    python bench/cifar10_ideas.py --ideas batch1024 no_ema --seeds 0 1

An idea is a set of `fastcifar.Recipe` fields (IDEAS below). The recipe as it is trains once per seed
in --seeds (the spread of those runs is the noise an idea must beat); each idea trains with the first
seed. A change that makes steps cheaper (progressive resizing, batch size) buys more epochs in the same
budget, so it is judged by the accuracy it reaches in that time, not per epoch. Prints one table and
writes JSON, by default bench/results/cifar10_ideas_<date>_<CPU kind>.json. Numbers, not tests.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import helpers  # noqa: E402  (framework-free)
from cifar10_time_to_accuracy import cpu_model, load  # noqa: E402

# name: (what it changes, Recipe fields)
IDEAS = {
    "batch1024": ("the port's batch of 1024 (the recipe's: 512)", dict(batch_size=1024)),
    "batch256": ("batch 256: more steps for the same images", dict(batch_size=256)),
    "no_ema": ("no weight averaging (Lookahead/EMA off)", dict(ema=False)),
    "ema_late": ("weight averaging from 50% of training (recipe: 30%)", dict(ema_start=0.5)),
    "no_smoothing": ("label smoothing 0 (recipe: 0.2)", dict(label_smoothing=0.0)),
    "no_tta": ("no test-time augmentation: its evaluation time goes to training", dict(tta=0)),
    "tta2": ("six test-time views always (recipe: only when they cost under 5% of the budget)", dict(tta=2)),
    "full_size": ("no progressive resizing: 32 px throughout", dict(res_schedule=None)),
    "contiguous": ("NCHW memory format instead of channels_last", dict(channels_last=False)),
}


def table(result: dict) -> str:
    """One row per run: the idea, its test accuracy, the difference from the recipe (points) and epochs."""
    base = result["baseline"]
    mean = statistics.mean(r["test_acc"] for r in base)
    head = f"{'idea':<14} | {'test acc':>8} | {'vs recipe':>9} | {'epochs':>6} | what it changes"
    lines = [head, "-" * len(head)]
    for r in base:
        lines.append(f"{'recipe':<14} | {r['test_acc']:8.4f} | {'':>9} | {r['epochs']:6.2f} | seed {r['seed']}")
    for name, r in result["ideas"].items():
        lines.append(f"{name:<14} | {r['test_acc']:8.4f} | {100 * (r['test_acc'] - mean):+8.2f}p | "
                     f"{r['epochs']:6.2f} | {IDEAS[name][0]}")
    spread = 100 * (max(r["test_acc"] for r in base) - min(r["test_acc"] for r in base))
    lines.append(f"recipe mean {mean:.4f} over {len(base)} seed(s), spread {spread:.2f} points")
    return "\n".join(lines)


def main():
    """Parse the options, train the recipe and each idea on the same budget, print the table, write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=120.0, help="seconds per run (setup, training, final eval)")
    p.add_argument("--ideas", nargs="*", default=list(IDEAS), choices=list(IDEAS))
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1], help="seeds of the recipe as it is")
    p.add_argument("--widths", type=str, default=None, help="e.g. 32,64,64 (default: chosen for the budget)")
    p.add_argument("--amp", default="auto", choices=["auto", "fp32"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="tiny smoke run: 5k/2k images, 15 s, widths 16,32,32")
    p.add_argument("--out", default=None)
    a = p.parse_args()

    threads = helpers.set_threads(a.threads)
    from helpers.data.cifar import load_cifar10
    from helpers.device import cpu_kind
    from helpers.models import fastcifar

    X, y, _ = load_cifar10("train")
    Xt, yt, _ = load_cifar10("test")
    if a.quick:
        X, y = fastcifar.subset(X, y, 5000)
        Xt, yt = fastcifar.subset(Xt, yt, 2000)
        a.budget, a.widths = 15.0, a.widths or "16,32,32"
    dev, amp = helpers.device("auto"), (None if a.amp == "fp32" else "auto")
    widths = (tuple(int(v) for v in a.widths.split(",")) if a.widths
              else fastcifar.choose_widths(a.budget, len(X), dev, amp)[0])
    info = {"cpu": cpu_model(), "cpu_kind": cpu_kind(), "threads": threads, "device": str(dev),
            "precision": helpers.precision_name(dev, amp), "budget_s": a.budget, "widths": list(widths),
            "train_size": len(X), "load_at_start": load(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(helpers.describe())
    print(f"{info['cpu']} ({info['cpu_kind']}), {info['precision']}, budget {a.budget:.0f}s, widths {widths}", flush=True)

    def run(seed, **changes):
        """One run of the recipe (with changes) on the budget; the row for the table."""
        helpers.set_seed(seed)
        r = fastcifar.train(X, y, Xt, yt, epochs=None, budget_s=a.budget, widths=widths, dev=dev, amp=amp,
                            seed=seed, verbose=False, **changes)
        row = {"seed": seed, "test_acc": r["test_acc"], "test_acc_no_tta": r["test_acc_plain"],
               "epochs": round(r["epochs"], 2), "time_s": round(r["time_s"], 1), "tta": r["tta"], "load_after": load()}
        print(f"  {changes or 'recipe'}: test acc {r['test_acc']:.4f}, {row['epochs']} epochs, {row['time_s']}s", flush=True)
        return row

    result = {"machine": info, "baseline": [run(s) for s in a.seeds], "ideas": {}}
    for name in a.ideas:
        result["ideas"][name] = {**run(a.seeds[0], **IDEAS[name][1]), "changes": IDEAS[name][1]}
    print()
    print(table(result))
    default = ROOT / ("build/bench" if a.quick else "bench/results")
    out = Path(a.out or default / f"cifar10_ideas_{time.strftime('%Y-%m-%d')}_{info['cpu_kind']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
