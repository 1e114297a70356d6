"""TensorFlow's data parallelism: a Keras model under tf.distribute.MirroredStrategy, checked against one device.

On a CPU-only machine the "devices" are logical CPUs: `split_cpu(n)` must run before TensorFlow
initialises its runtime (before any op), so call it first in a fresh process. On GPUs,
`tf.distribute.MirroredStrategy()` with no arguments takes every GPU.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def split_cpu(n: int = 2) -> list[str]:
    """Split the physical CPU into n logical devices (before TF's first op); return their names."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) != n:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def tiny_model(n_features: int, n_classes: int, seed: int = 0):
    """A small Keras MLP classifier with seeded initial weights."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(32, activation="relu"),
                             keras.layers.Dense(n_classes)])


def mirrored_vs_single(n_devices: int = 2, global_batch: int = 64, epochs: int = 3, n: int = 1024,
                       seed: int = 0) -> dict:
    """Train the same model from the same weights on one device and mirrored on n logical CPUs; compare."""
    tf.get_logger().setLevel("ERROR")                      # no INFO line per all-reduce
    devices = split_cpu(n_devices)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20)).astype("float32")
    y = (X[:, :3].sum(1) > 0).astype("int64") + (X[:, 3] > 1).astype("int64")     # 3 classes
    data = tf.data.Dataset.from_tensor_slices((X, y)).batch(global_batch, drop_remainder=True)
    init = tiny_model(20, 3, seed).get_weights()

    def run(strategy):
        """Compile and fit under `strategy`; return (final weights, per-epoch losses)."""
        with strategy.scope():
            model = tiny_model(20, 3, seed)
            model.set_weights(init)
            model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        hist = model.fit(data, epochs=epochs, verbose=0, shuffle=False)
        return model.get_weights(), hist.history["loss"]

    # on CPUs the default cross-device reduction needs NCCL; reduce on one device instead
    mirrored = tf.distribute.MirroredStrategy(devices[:n_devices],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    w_one, loss_one = run(tf.distribute.OneDeviceStrategy(devices[0]))
    w_mir, loss_mir = run(mirrored)
    return {"replicas": mirrored.num_replicas_in_sync, "devices": devices, "loss_one": loss_one,
            "loss_mirrored": loss_mir, "max_weight_diff": max(float(np.max(np.abs(a - b)))
                                                              for a, b in zip(w_one, w_mir)),
            "max_weight_change": max(float(np.max(np.abs(a - b))) for a, b in zip(init, w_mir))}
