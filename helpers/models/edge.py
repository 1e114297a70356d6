"""ONNX Runtime on a CPU, as an edge device runs a model: sessions, the CPU's int8 instructions, acceptance checks.

int8 inference depends on the instructions of the CPU that runs it. On x86 without VNNI, ONNX Runtime
multiplies uint8 activations by int8 weights with AVX2's VPMADDUBSW, which adds two products into a
16-bit integer and saturates there; with VNNI (VPDPBUSD), AMX or ARM's dot product the sums go
straight into 32 bits. `int8_instructions()` says which this CPU has, as the CPU itself reports it.

A model folder holds `model_fp32.onnx`, `model_int8.onnx` and `reference.npz` (inputs, the float
model's logits, labels): the acceptance test shipped with the model. `check(folder)` runs it here;

    python -m helpers.models.edge check FOLDER          # prints one JSON line

runs it in a fresh process, for example under an emulated older CPU (`qemu-x86_64 -cpu Haswell`).
Imports NumPy and ONNX Runtime only, no deep-learning framework.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..device import cpu_kind, cpuid_flags, proc_flag, thread_count

MODELS = {"fp32": "model_fp32.onnx", "int8": "model_int8.onnx"}
REFERENCE = "reference.npz"


def int8_instructions() -> dict:
    """This CPU's int8 dot-product instructions (CPUID, as NumPy reads it) and whether int8 inference is fast on it."""
    f = cpuid_flags() or set()
    vnni = "avx512_vnni" in f or proc_flag("avx_vnni")
    amx = "avx512f" in f and proc_flag("amx_int8")
    dotprod = "asimddp" in f
    if vnni or amx:
        path = "VNNI" + (" and AMX" if amx else "") + ": int8 products summed in 32 bits"
    elif dotprod:
        path = "ARM dot product (SDOT/UDOT): int8 products summed in 32 bits"
    elif "avx2" in f:
        path = "AVX2 only: VPMADDUBSW sums pairs of uint8 x int8 products in 16 bits and saturates"
    else:
        path = "no int8 dot-product instructions: int8 runs on generic kernels"
    return {"kind": cpu_kind(), "vnni": vnni, "amx": amx, "dotprod": dotprod,
            "int8_fast": vnni or amx or dotprod, "path": path}


def session(path, threads: int | None = None):
    """An ONNX Runtime CPU session of the model file `path` with `threads` threads (default: DLC_THREADS or all cores)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = thread_count(threads)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run(sess, x, batch: int = 256):
    """The first output of `sess` on the float32 array x (N, ...), in batches."""
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + batch]})[0] for i in range(0, len(x), batch)])


def agreement(a, b) -> float:
    """Share of rows where two logit arrays pick the same class."""
    return float(np.mean(np.asarray(a).argmax(1) == np.asarray(b).argmax(1)))


def write_reference(folder, x, logits, labels) -> Path:
    """Save the acceptance test of a model folder: inputs x (float32), the float model's logits, the labels."""
    path = Path(folder) / REFERENCE
    np.savez_compressed(path, x=np.asarray(x, dtype=np.float32), logits=np.asarray(logits, dtype=np.float32),
                        labels=np.asarray(labels))
    return path


def check(folder, threads: int | None = None) -> dict:
    """Run the folder's fp32 and int8 models on its reference inputs here: agreement with the float logits, accuracy."""
    folder = Path(folder)
    missing = [n for n in (*MODELS.values(), REFERENCE) if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: a model folder holds "
                                f"{', '.join(MODELS.values())} and {REFERENCE} (notebook 10 writes them to MODEL_DIR)")
    ref = np.load(folder / REFERENCE)
    out = {"cpu": int8_instructions(), "n": int(len(ref["labels"]))}
    for key, name in MODELS.items():
        logits = run(session(folder / name, threads), ref["x"])
        out[key] = {"agreement": agreement(logits, ref["logits"]),
                    "accuracy": float(np.mean(logits.argmax(1) == ref["labels"]))}
    return out


def main(argv=None) -> int:
    """Command line: `python -m helpers.models.edge check FOLDER` prints check(FOLDER) as one JSON line."""
    p = argparse.ArgumentParser(prog="python -m helpers.models.edge", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="run a model folder's acceptance test on this CPU")
    c.add_argument("folder")
    c.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    print(json.dumps(check(a.folder, a.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
