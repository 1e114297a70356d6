"""The seed models and their framework twins: the seed Keras CNN and its PyTorch twin, parameter
tables, the Keras -> PyTorch weight copy (with the Flatten reorder), and training each as published.

Shared by notebooks/05_cnns_on_cifar10.ipynb and bench/cifar10_time_to_accuracy.py. torch is
imported at the top; Keras only by the functions that build or train the Keras twin.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from ..device import device as pick_device
from ..train import fit
from . import count_params  # noqa: F401  (one name for both frameworks, kept beside the seed's tables)
from .fastcifar import Loader

# ---------------------------------------------------------------- the seed CNN in two frameworks

def _keras():
    """Keras, imported on first use: this module also serves torch-only callers (the bench), who never load TensorFlow."""
    import keras  # local: torch-only callers of this module (the bench) never load TensorFlow
    return keras


def seed_keras_cnn(n_classes: int = 10):
    """The seed's Keras CNN (004 §4): Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10 softmax."""
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(n_classes, activation="softmax"),
    ], name="seed_cnn")


def seed_torch_cnn(n_classes: int = 10, batchnorm: bool = False):
    """The PyTorch twin of the seed CNN (NCHW input, logits out); batchnorm=True adds BN after each conv."""

    def conv(cin, cout):
        """A 3x3 valid convolution (then BatchNorm if asked) and a ReLU."""
        return [nn.Conv2d(cin, cout, 3), *([nn.BatchNorm2d(cout)] if batchnorm else []), nn.ReLU()]
    return nn.Sequential(
        *conv(3, 32), nn.MaxPool2d(2),
        *conv(32, 64), nn.MaxPool2d(2),
        *conv(64, 64),
        nn.Flatten(),            # NCHW flatten: index c*16 + h*4 + w (Keras: h*256 + w*64 + c)
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, n_classes),
    )


def keras_param_table(model) -> list:
    """[(layer name, output shape, parameters)] of a built Keras model, for a printed table."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        rows.append((layer.__class__.__name__, shape, int(layer.count_params())))
    return rows


def torch_param_table(model) -> list:
    """[(module type, parameter shapes, parameters)] of the PyTorch modules that own parameters."""
    rows = []
    for m in model.modules():
        own = list(m.parameters(recurse=False))
        if own:
            rows.append((m.__class__.__name__, [tuple(p.shape) for p in own], sum(p.numel() for p in own)))
    return rows


def copy_keras_weights_to_torch(keras_model, torch_model, fix_flatten: bool = True):
    """Copy the seed CNN's weights from Keras (NHWC, HWIO kernels) into its PyTorch twin (NCHW, OIHW).

    fix_flatten=False skips the reordering of the first Dense layer's rows: the classic bug, for the lesson.
    """
    targets = iter([m for m in torch_model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))])
    flat_hwc = None                                      # (H, W, C) that Keras' Flatten saw
    for layer in keras_model.layers:
        kind = layer.__class__.__name__
        if kind == "Flatten":
            flat_hwc = tuple(layer.input.shape[1:])
            continue
        if not layer.get_weights():
            continue
        w, b = layer.get_weights()
        if kind == "Conv2D":                             # (kh, kw, in, out) -> (out, in, kh, kw)
            w = w.transpose(3, 2, 0, 1)
        elif kind == "Dense":                            # (in, out) -> (out, in)
            if flat_hwc is not None and fix_flatten:     # rows come in H,W,C order; torch wants C,H,W
                h, wd, c = flat_hwc
                w = w.reshape(h, wd, c, -1).transpose(2, 0, 1, 3).reshape(h * wd * c, -1)
            flat_hwc = None
            w = w.T
        else:
            raise ValueError(f"no rule to copy a Keras {kind} layer")
        target = next(targets)
        if tuple(target.weight.shape) != w.shape:
            raise ValueError(f"{layer.name}: Keras shape {w.shape} vs torch {tuple(target.weight.shape)}")
        with torch.no_grad():
            target.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            target.bias.copy_(torch.from_numpy(b))
    return torch_model


def keras_logits(keras_model, x):
    """The logits (pre-softmax outputs) of a Keras classifier whose last Dense has a softmax."""
    w, b = keras_model.layers[-1].get_weights()
    return np.asarray(keras_outputs(keras_model, x)[-2]) @ w + b


def keras_outputs(keras_model, x) -> list:
    """The output of every layer of a Keras Sequential model for input x (inference mode)."""
    outs = []
    for layer in keras_model.layers:
        x = layer(x, training=False)
        outs.append(x)
    return outs


def keras_clock():
    """A Keras callback that logs test accuracy against training wall-clock (validation time excluded)."""
    keras = _keras()

    class Clock(keras.callbacks.Callback):
        """Training seconds (validation excluded) and test accuracy after each epoch, in self.log."""
        def on_train_begin(self, logs=None):
            """Empty log, clock at 0."""
            self.log, self.clock, self._t = [], 0.0, time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            """Start the clock."""
            self._t = time.perf_counter()

        def on_test_begin(self, logs=None):
            """Validation runs inside the epoch: stop the clock."""
            self.clock += time.perf_counter() - self._t

        def on_epoch_end(self, epoch, logs=None):
            """Log the epoch's clock and test (validation) accuracy."""
            logs = logs or {}
            if "val_accuracy" not in logs:
                self.clock += time.perf_counter() - self._t
            self.log.append({"epoch": epoch + 1, "time_s": round(self.clock, 2),
                             "test_acc": float(logs.get("val_accuracy", float("nan")))})
    return Clock()


def train_seed_keras(X, y, X_test, y_test, *, epochs: int = 10, batch_size: int = 64, seed: int = 0,
                     verbose: int = 0) -> dict:
    """Train the seed Keras CNN as published (x/255, one-hot, Adam, categorical cross-entropy); log accuracy vs time."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    model = seed_keras_cnn(int(y.max()) + 1)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    xtr, xte = X / 255.0, X_test / 255.0
    ytr, yte = keras.utils.to_categorical(y), keras.utils.to_categorical(y_test)
    clock = keras_clock()
    hist = model.fit(xtr, ytr, epochs=epochs, batch_size=batch_size, validation_data=(xte, yte),
                     callbacks=[clock], verbose=verbose)
    return {"model": model, "history": hist.history, "log": clock.log, "time_s": clock.clock,
            "test_acc": clock.log[-1]["test_acc"]}


def train_seed_torch(X, y, X_test, y_test, *, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                     augment_data: bool = False, batchnorm: bool = False, channels_last: bool = False,
                     dev=None, amp=None, seed: int = 0, verbose: bool = True) -> dict:
    """Train the seed CNN's PyTorch twin with Adam (helpers.train.fit) on uint8 NHWC arrays held on the device.

    Pixels are divided by 255, as in the seed; augment_data adds random flips and shifts of up to 2
    pixels. Returns the model, the final test accuracy, the training seconds, a per-epoch log
    [{"epoch", "time_s", "test_acc"}] and fit's History.
    """

    dev = torch.device(dev) if dev is not None else pick_device()
    torch.manual_seed(seed)
    net = seed_torch_cnn(int(y.max()) + 1, batchnorm=batchnorm)
    raw = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), channels_last=channels_last)   # x/255 only
    train = Loader(X, y, batch_size, dev, flip=augment_data, translate=2 if augment_data else 0, seed=seed, **raw)
    test = Loader(X_test, y_test, 1000, dev, train=False, **raw)
    hist = fit(net, train, torch.nn.functional.cross_entropy, torch.optim.Adam(net.parameters(), lr=lr), epochs,
               val=test, dev=dev, amp=amp, channels_last=channels_last, progress=verbose)
    clock = [sum(hist["epoch_time"][:i + 1]) for i in range(len(hist["epoch_time"]))]
    log = [{"epoch": i + 1, "time_s": round(t, 2), "test_acc": a} for i, (t, a) in enumerate(zip(clock, hist["val_acc"]))]
    return {"model": net, "test_acc": hist["val_acc"][-1], "time_s": clock[-1], "log": log, "history": hist}
