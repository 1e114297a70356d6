"""Plots the notebooks share: training curves, image grids, confusion matrices."""
from __future__ import annotations


def _plt():
    import matplotlib.pyplot as plt
    return plt


def plot_curves(history: dict, keys=None, title: str = "", ax=None, logy: bool = False):
    """Plot per-epoch metric lists from a dict such as helpers.train.History."""
    plt = _plt()
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    for k in keys or [k for k in history if k != "epoch_time"]:
        ax.plot(range(1, len(history[k]) + 1), history[k], marker=".", label=k)
    ax.set_xlabel("epoch")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def show_images(images, labels=None, ncols: int = 8, size: float = 1.3, cmap=None, suptitle: str = ""):
    """Show a grid of images (N,H,W[,C] uint8 or float in [0,1]) with optional titles."""
    import numpy as np
    plt = _plt()
    images = np.asarray(images)
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = images[i]
            ax.imshow(img.squeeze(), cmap=cmap or ("gray" if img.ndim == 2 or img.shape[-1] == 1 else None))
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, n_classes: int | None = None):
    """Return the confusion matrix as an int array: rows are true classes, columns predictions."""
    import numpy as np
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = n_classes or int(max(y_true.max(), y_pred.max()) + 1)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion(y_true, y_pred, class_names=None, normalize: bool = True, ax=None, title: str = ""):
    """Draw a confusion matrix (row-normalised by default) and return the raw counts."""
    import numpy as np
    plt = _plt()
    k = len(class_names) if class_names is not None else None
    cm = confusion_matrix(y_true, y_pred, k)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    k = cm.shape[0]
    ax = ax or plt.subplots(figsize=(0.5 * k + 2.5, 0.5 * k + 2))[1]
    ax.imshow(shown, cmap="Blues")
    names = class_names if class_names is not None else range(k)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]), ha="center", va="center",
                    fontsize=7, color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return cm
