"""helpers.plots: each function draws on small data (Agg backend) and draws what it says."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.plots import confusion_matrix, plot_confusion, plot_curves, show_images  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_curves_one_line_per_metric_without_epoch_time():
    hist = {"train_loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6], "epoch_time": [0.1, 0.1, 0.1]}
    ax = plot_curves(hist, title="losses")
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss", "val_loss"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3], "epochs count from 1"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), hist["val_loss"])
    assert ax.get_title() == "losses" and ax.get_xlabel() == "epoch" and ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_loss", "val_loss"]


def test_plot_curves_on_given_axes_with_chosen_keys_and_log_scale():
    fig, axes = plt.subplots(1, 2)
    ax = plot_curves({"a": [3.0, 2.0], "b": [1.0, 0.1]}, keys=["b"], ax=axes[1], logy=True)
    assert ax is axes[1] and len(axes[0].get_lines()) == 0
    assert [line.get_label() for line in ax.get_lines()] == ["b"] and ax.get_yscale() == "log"


def test_show_images_grid_titles_and_colour_maps():
    gray = np.random.default_rng(0).random((10, 6, 6))
    fig = show_images(gray, labels=list("abcdefghij"), ncols=4, suptitle="ten")
    assert len(fig.axes) == 12, "10 images in rows of 4: 3 rows"
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 10 and all(not ax.axison for ax in fig.axes)
    assert [ax.get_title() for ax in shown] == list("abcdefghij")
    assert shown[0].images[0].get_cmap().name == "gray"
    np.testing.assert_allclose(shown[3].images[0].get_array(), gray[3])
    assert fig._suptitle.get_text() == "ten"
    rgb = (np.random.default_rng(1).random((3, 5, 5, 3)) * 255).astype(np.uint8)
    fig2 = show_images(rgb, ncols=3)
    assert len(fig2.axes) == 3 and all(ax.get_title() == "" for ax in fig2.axes)
    assert fig2.axes[0].images[0].get_array().shape == (5, 5, 3)
    one_channel = show_images(np.zeros((2, 4, 4, 1)), ncols=2)
    assert one_channel.axes[1].images[0].get_array().shape == (4, 4)


def test_confusion_matrix_counts():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    cm = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert cm.dtype.kind == "i" and cm.sum() == len(y_true)
    wide = confusion_matrix(y_true, y_pred, n_classes=4)
    assert wide.shape == (4, 4) and wide[3].sum() == 0 and wide[:3, :3].tolist() == cm.tolist()


def test_plot_confusion_draws_normalised_rows_and_returns_counts():
    y_true = np.array([0, 0, 0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 1, 1])
    fig, ax = plt.subplots()
    cm = plot_confusion(y_true, y_pred, class_names=["cat", "dog"], ax=ax, title="pets")
    np.testing.assert_array_equal(cm, [[3, 1], [0, 2]])
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "1.00"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert ax.get_title() == "pets" and ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    _, ax2 = plt.subplots()
    plot_confusion(y_true, y_pred, normalize=False, ax=ax2)
    assert [t.get_text() for t in ax2.texts] == ["3", "1", "0", "2"]
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["0", "1"]
