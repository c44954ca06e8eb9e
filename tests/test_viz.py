"""softmax_pkg.viz: each interactive figure shows what the package computes, live and static.

Live: setting a slider's value (what a reader's drag does) updates the matplotlib artists, and
their data is compared with softmax_pkg computed here, independently of the figure's code.
Static: the JSON payload embedded in the HTML holds, at every slider position, the values the
package computes there. The browser side of both is tested in test_widgets_site.py (the static
page) and test_jupyterlab.py (the live widget).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import softmax_pkg
from softmax_pkg import (
    SoftmaxRegression,
    cross_entropy,
    cross_entropy_grad,
    numerical_gradient,
    softmax,
    softmax_jacobian,
)

from conftest import REPO, import_or_need  # noqa: E402

viz = import_or_need("softmax_pkg.viz")
import_or_need("ipywidgets")  # the live half of every figure
# What the figures document, restated here rather than read from private modules: the MIME type
# of a widget view, the confidence bins of the classifier's map, and the JSON array format.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CONFIDENCE_EDGES = (0.5, 0.7, 0.9)
SHADES = (0.15, 0.3, 0.5, 0.75)


def decode(entry: dict) -> np.ndarray:
    """An array of the static payload: {shape, scale, data} (data / scale) or {shape, runs}
    (value, count pairs over the flattened array), as viz.js reads it."""
    shape = tuple(entry["shape"])
    if "runs" in entry:
        runs = entry["runs"]
        flat = [value for value, count in zip(runs[::2], runs[1::2]) for _ in range(count)]
        return np.array(flat, dtype=np.int64).reshape(shape)
    return (np.array(entry["data"], dtype=np.float64) / entry["scale"]).reshape(shape)

MAX_BYTES = 2_000_000


def move(figure, name: str, value: float) -> None:
    """What a reader's drag does: set the live slider's value."""
    figure.sliders[name].value = value


def payload_of(html: str) -> dict:
    """The JSON the static HTML embeds (as viz.js reads it)."""
    match = re.search(r'<script type="application/json" class="smx-viz-data">(.*?)</script>', html)
    assert match, "no data in the static HTML"
    return json.loads(match.group(1))


def png_pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def figures() -> dict:
    """One figure of each kind at its defaults, with its static payload, built once."""
    built = {
        "temperature": viz.temperature_widget(),
        "jacobian": viz.jacobian_widget(),
        "loss": viz.loss_gradient_widget(),
        "classifier": viz.classifier_widget(),
    }
    return {name: (figure, payload_of(figure.static_html())) for name, figure in built.items()}


# -- the package's core stays free of the optional extra ------------------------------------------


def test_softmax_pkg_imports_without_matplotlib_or_ipywidgets():
    code = textwrap.dedent("""
        import sys
        sys.modules["matplotlib"] = None   # any import of them now fails
        sys.modules["ipywidgets"] = None
        import softmax_pkg
        from softmax_pkg import SoftmaxRegression, softmax
        assert "softmax_pkg.viz" not in sys.modules
        print(softmax([0.0, 0.0]))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "viz" not in softmax_pkg.__all__


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    import os

    environ = {k: v for k, v in os.environ.items() if k != "SOFTMAX_BOOK_CI"} | env
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, cwd=REPO, env=environ,
    )


def test_import_viz_without_matplotlib_says_which_extra_to_install():
    done = run_python("""
        import sys
        sys.modules["matplotlib"] = None
        try:
            import softmax_pkg.viz
        except ImportError as exc:
            print(exc)
        """)
    assert done.returncode == 0, done.stderr
    assert 'pip install "softmax-pkg[viz]"' in done.stdout and "matplotlib" in done.stdout


def test_static_html_needs_no_ipywidgets_and_the_live_figure_says_which_extra():
    done = run_python("""
        import sys
        sys.modules["ipywidgets"] = None
        from softmax_pkg.viz import jacobian_widget
        figure = jacobian_widget()
        bundle = figure._repr_mimebundle_()
        assert sorted(bundle) == ["text/html", "text/plain"], sorted(bundle)
        assert bundle["text/html"] == figure.static_html() and "smx-viz-data" in figure.static_html()
        try:
            figure.sliders
        except ImportError as exc:
            print(exc)
        """)
    assert done.returncode == 0, done.stderr
    assert 'pip install "softmax-pkg[viz]"' in done.stdout and "ipywidgets" in done.stdout


WITHOUT_EXTRAS = """
    import sys
    for name in ("matplotlib", "ipywidgets", "PIL", "scipy", "mpmath", "sklearn", "torch"):
        sys.modules[name] = None  # not installed, as far as any import can tell
    import pytest
    sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", "-m", "not slow",
                          "softmax_pkg/viz/_figure.py", "softmax_pkg/benchmark.py",
                          "softmax_pkg/reference.py", "softmax_pkg/_classifier.py",
                          "tests/test_reference.py", "tests/test_viz.py"]))
    """


def test_pytest_without_the_extras_skips_with_reasons_and_fails_in_ci():
    done = run_python(WITHOUT_EXTRAS)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "error" not in out.lower().replace("importerror", ""), out
    for reason in ("'matplotlib'", "'scipy'", "'mpmath'", "'sklearn'"):
        assert re.search(f"SKIPPED .*prerequisite missing.*{reason}", out), (reason, out)
    assert 'pip install "softmax-pkg[viz]"' in out and 'softmax-pkg[reference]' in out
    # In CI nothing may skip: the same run fails.
    ci = run_python(WITHOUT_EXTRAS, SOFTMAX_BOOK_CI="1")
    assert ci.returncode != 0 and "tests may not skip in CI" in ci.stdout + ci.stderr


# -- live: sliders update the figure's artists with the package's values --------------------------


def test_temperature_sliders_set_the_bars_to_softmax_at_that_temperature():
    figure = viz.temperature_widget(logits=[1.0, 2.0, 3.0], temperature=1.0)
    for name, value in [("temperature", 0.5), ("a0", -2.5), ("a2", 0.0), ("temperature", 3.0)]:
        before = figure.image.value
        move(figure, name, value)
        logits = np.array([figure.values[f"a{j}"] for j in range(3)])
        expected = softmax(logits, temperature=figure.values["temperature"])
        heights = np.array([bar.get_height() for bar in figure.bars])
        np.testing.assert_allclose(heights, expected, rtol=1e-15)
        assert [label.get_text() for label in figure.labels] == [f"{p:.3f}" for p in expected]
        assert figure.image.value != before, "the PNG shown by the widget did not change"
    assert figure.values == {"a0": -2.5, "a1": 2.0, "a2": 0.0, "temperature": 3.0}
    assert figure.ax_title.get_text() == "S(a/τ) at τ = 3"


def test_jacobian_slider_sets_the_heat_map_to_softmax_jacobian():
    figure = viz.jacobian_widget(logits=[1.0, 2.0, 3.0])
    for name, value in [("a2", -1.5), ("a0", 3.0)]:
        move(figure, name, value)
        logits = np.array([figure.values[f"a{j}"] for j in range(3)])
        J = softmax_jacobian(logits)
        np.testing.assert_allclose(figure.heat.get_array(), J, rtol=1e-15)
        assert figure.labels[(0, 1)].get_text() == f"{J[0, 1]:.3f}"
    assert figure.ax_title.get_text() == "Jacobian DS at a = (3.0, 2.0, -1.5)"
    # The colour scale is fixed and symmetric, so colours compare across positions.
    assert figure.heat.get_clim() == (-0.25, 0.25)


def test_jacobian_works_for_four_logits():
    figure = viz.jacobian_widget(logits=[0.0, 1.0, -1.0, 2.0], values=np.arange(-2.0, 2.5, 1.0))
    move(figure, "a3", -2.0)
    expected = softmax_jacobian(np.array([0.0, 1.0, -1.0, -2.0]))
    np.testing.assert_allclose(figure.heat.get_array(), expected, rtol=1e-15)
    payload = payload_of(figure.static_html())
    assert decode(payload["arrays"]["J"]).shape == (5, 5, 5, 5, 4, 4)


def test_loss_slider_moves_the_marker_and_the_gradient_bars():
    logits, label = np.array([1.0, 2.0, 3.0]), 0
    figure = viz.loss_gradient_widget(logits=logits, label=label, k=0)
    for name, value in [("a_k", -2.3), ("k", 2.0), ("a_k", 0.7), ("k", 1.0)]:
        move(figure, name, value)
        k, a_k = int(figure.values["k"]), figure.values["a_k"]
        row = logits.copy()
        row[k] = a_k
        (x,), (y,) = figure.loss_dot.get_data()
        assert x == a_k
        np.testing.assert_allclose(y, cross_entropy(row, label), rtol=1e-14)
        heights = [bar.get_height() for bar in figure.bars]
        np.testing.assert_allclose(heights, cross_entropy_grad(row, label), rtol=1e-12, atol=1e-15)
        # The curves are those of the logit that moves now.
        xs, losses = figure.loss_line.get_data()
        rows = np.tile(logits, (len(xs), 1))
        rows[:, k] = xs
        targets = np.full(len(xs), label)
        np.testing.assert_allclose(losses, cross_entropy(rows, targets, reduction="none"))
        grads = cross_entropy_grad(rows, targets, reduction="none")
        for j, line in enumerate(figure.grad_lines):
            np.testing.assert_allclose(line.get_ydata(), grads[:, j], atol=1e-15)
    assert figure.xlabels[0].get_text() == "a₂ (the other logits fixed)"


def test_loss_and_gradient_is_the_gradient_of_the_loss():
    logits, label, k = np.array([0.5, -1.0, 2.0, 0.0]), 2, 1
    values = np.linspace(-3.0, 3.0, 7)
    loss, grad = viz.loss_and_gradient(logits, label, k, values)
    for a_k, g in zip(values, grad):
        row = logits.copy()
        row[k] = a_k
        np.testing.assert_allclose(
            g, numerical_gradient(lambda z: float(cross_entropy(z, label)), row), atol=1e-8
        )
    np.testing.assert_allclose(loss[3], cross_entropy(np.array([0.5, 0.0, 2.0, 0.0]), label))


def independent_fit(X, y, learning_rate, l2, epochs):
    """The model the figure should show, fitted here with max_iter=epochs (no callback)."""
    return SoftmaxRegression(l2=l2, learning_rate=learning_rate, max_iter=epochs, tol=0.0).fit(X, y)


def map_codes(model, points) -> np.ndarray:
    p = model.predict_proba(points.reshape(-1, 2))
    level = np.searchsorted(CONFIDENCE_EDGES, p.max(axis=1))
    return (p.argmax(axis=1) * len(SHADES) + level).reshape(points.shape[:2])


def test_classifier_sliders_show_the_model_trained_with_those_hyper_parameters():
    figure = viz.classifier_widget(learning_rate=0.1, l2=0.01, epochs=10)
    for name, value in [("epochs", 3.0), ("learning_rate", 1.0), ("l2", 0.1), ("epochs", 50.0)]:
        before = figure.image.value
        move(figure, name, value)
        lr, l2, epochs = (
            figure.values["learning_rate"],
            figure.values["l2"],
            figure.values["epochs"],
        )
        model = independent_fit(figure.X, figure.y, lr, l2, int(epochs))
        regions = figure.regions.get_array()
        np.testing.assert_array_equal(regions, figure.palette[map_codes(model, figure.points)])
        xs, losses = figure.curve.get_data()
        np.testing.assert_array_equal(xs, np.arange(1, int(epochs) + 1))
        np.testing.assert_allclose(losses, model.loss_curve_, rtol=1e-12)
        accuracy = model.score(figure.X, figure.y)
        assert figure.loss_title.get_text().endswith(f"accuracy {accuracy:.3f}")
        assert figure.image.value != before


def test_three_blobs_is_seeded_and_has_three_classes():
    X, y = viz.three_blobs()
    X2, y2 = viz.three_blobs()
    np.testing.assert_array_equal(X, X2)
    assert X.shape == (90, 2) and np.bincount(y).tolist() == [30, 30, 30]


def test_train_snapshots_equals_separate_fits():
    X, y = viz.three_blobs(n_per_class=10, seed=1)
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 5), np.linspace(-3, 3, 4)), axis=-1)
    run = viz.train_snapshots(X, y, learning_rate=0.3, l2=0.001, epochs=[2, 7], grid=grid)
    for e, epochs in enumerate([2, 7]):
        model = independent_fit(X, y, 0.3, 0.001, epochs)
        np.testing.assert_array_equal(run.maps[e], map_codes(model, grid))
        assert run.accuracy[e] == model.score(X, y)
    np.testing.assert_allclose(run.loss_curve, independent_fit(X, y, 0.3, 0.001, 7).loss_curve_)


@pytest.mark.parametrize("name", ["temperature", "jacobian", "loss", "classifier"])
def test_the_blitted_png_equals_a_full_redraw(figures, name):
    """Only the changing artists are redrawn on a saved background; the result must be the
    figure, as a full draw makes it."""
    figure, _ = figures[name]
    figure.sweep(positions=3)
    last = list(figure.sliders)[-1]
    slider = figure.sliders[last]
    slider.index = (slider.index + 1) % len(slider.options)
    fast = png_pixels(figure.image.value)
    full = io.BytesIO()
    figure.figure.savefig(full, format="png")
    differs = np.any(np.abs(fast - png_pixels(full.getvalue())) > 8, axis=-1)
    assert differs.mean() < 0.001, f"{differs.mean():.2%} of the pixels differ"


@pytest.mark.parametrize("name", ["temperature", "jacobian", "loss", "classifier"])
def test_each_update_is_recorded_and_changes_the_image(figures, name):
    figure, _ = figures[name]
    for slider in figure.sliders.values():
        start = slider.index
        before = figure.image.value
        slider.index = (start + 1) % len(slider.options)
        assert figure.image.value != before
        slider.index = start
    times = figure.sweep(positions=3)
    assert len(times) > 0 and np.all(times > 0)


# -- one object, two worlds -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["temperature", "jacobian", "loss", "classifier"])
def test_mimebundle_offers_the_live_widget_and_the_static_html(figures, name):
    figure, _ = figures[name]
    bundle = figure._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == figure.widget.model_id
    html = bundle["text/html"]
    assert html == figure.static_html()
    assert "Static version" in html and "precomputed in Python" in html
    assert "window.softmaxViz.mount" in html
    # No network: nothing is loaded from anywhere.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.count("</script>") == 2, "the JSON must not close its script element early"
    assert set(figure._repr_mimebundle_(include=["text/html"])) == {"text/html"}


def test_static_html_says_which_version_it_is_and_has_no_widget_markup(figures):
    figure, _ = figures["temperature"]
    html = figure.static_html()
    assert html.startswith('<div class="smx-viz')
    assert "widget-view" not in html and "widget-state" not in html
    assert "needs JavaScript" in html  # what a reader without JavaScript sees instead of sliders


# -- static: the payload holds the package's values at every slider position ---------------------


def test_payload_arrays_are_scaled_integers_or_runs(figures):
    for name, (_, payload) in figures.items():
        for key, entry in payload["arrays"].items():
            size = int(np.prod(entry["shape"]))
            if "runs" in entry:
                assert sum(entry["runs"][1::2]) == size, (name, key)
                assert all(isinstance(v, int) for v in entry["runs"]), (name, key)
            else:
                assert len(entry["data"]) == size and entry["scale"] >= 1000, (name, key)
                assert all(isinstance(v, int) for v in entry["data"][:100]), (name, key)
    assert "runs" in figures["classifier"][1]["arrays"]["map"]


def positions(payload: dict, count: int, seed: int = 0):
    """Slider positions to check: the initial one, the corners, and some at random."""
    sizes = [len(c["values"]) for c in payload["controls"]]
    rng = np.random.default_rng(seed)
    chosen = [tuple(c["index"] for c in payload["controls"]), tuple(0 for _ in sizes)]
    chosen.append(tuple(n - 1 for n in sizes))
    chosen += [tuple(int(rng.integers(n)) for n in sizes) for _ in range(count)]
    for index in chosen:
        yield index, [c["values"][i] for c, i in zip(payload["controls"], index)]


def test_static_temperature_payload_holds_softmax_at_every_position(figures):
    figure, payload = figures["temperature"]
    p = decode(payload["arrays"]["p"])
    assert p.shape == (13, 13, 13, 11, 3)
    for index, (a0, a1, a2, tau) in positions(payload, 200):
        expected = softmax(np.array([a0, a1, a2]), temperature=tau)
        np.testing.assert_allclose(p[index], expected, atol=0.5e-3 + 1e-12)
    assert payload["controls"][3]["text"][5] == "1"


def test_static_jacobian_payload_holds_softmax_jacobian_at_every_position(figures):
    figure, payload = figures["jacobian"]
    J = decode(payload["arrays"]["J"])
    assert J.shape == (13, 13, 13, 3, 3)
    for index, values in positions(payload, 200):
        np.testing.assert_allclose(J[index], softmax_jacobian(np.array(values)), atol=0.5e-3)


def test_static_loss_payload_holds_the_loss_and_gradient_curves(figures):
    figure, payload = figures["loss"]
    loss, grad = decode(payload["arrays"]["loss"]), decode(payload["arrays"]["grad"])
    xs = np.array(payload["controls"][1]["values"])
    assert loss.shape == (3, xs.size) and grad.shape == (3, xs.size, 3)
    for k in range(3):
        rows = np.tile(figure.logits, (xs.size, 1))
        rows[:, k] = xs
        targets = np.zeros(xs.size, dtype=int)
        np.testing.assert_allclose(
            loss[k], cross_entropy(rows, targets, reduction="none"), atol=5e-4
        )
        np.testing.assert_allclose(
            grad[k], cross_entropy_grad(rows, targets, reduction="none"), atol=5e-4
        )


def test_static_classifier_payload_holds_separately_trained_models(figures):
    figure, payload = figures["classifier"]
    maps = decode(payload["arrays"]["map"])
    loss, accuracy = decode(payload["arrays"]["loss"]), decode(payload["arrays"]["accuracy"])
    assert maps.shape[:3] == (5, 5, 8) and loss.shape == (5, 5, 100)
    for index, (lr, l2, epochs) in positions(payload, 3):
        model = independent_fit(figure.X, figure.y, lr, l2, int(epochs))
        np.testing.assert_array_equal(maps[index], map_codes(model, figure.points))
        assert abs(accuracy[index] - model.score(figure.X, figure.y)) <= 0.5e-3
        np.testing.assert_allclose(loss[index[:2]][: int(epochs)], model.loss_curve_, atol=0.5e-4)


@pytest.mark.parametrize("name", ["temperature", "jacobian", "loss", "classifier"])
def test_static_html_is_under_2_mb(figures, name):
    figure, _ = figures[name]
    assert len(figure.static_html().encode("utf-8")) < MAX_BYTES


BLOBS = None


def blobs():
    global BLOBS
    if BLOBS is None:
        BLOBS = viz.three_blobs(n_per_class=4)
    return BLOBS


BAD_VIZ_ARGUMENTS = [
    # (call, error, what the message must name)
    (
        lambda: viz.temperature_widget(temperature=0.25),
        ValueError,
        "temperature=0.25 is not one of the 11 positions of temperatures",
    ),
    (lambda: viz.temperature_widget(temperature="hot"), TypeError, "temperature must be a real"),
    (lambda: viz.temperature_widget(temperatures=[1.0, -1.0]), ValueError, "temperatures must"),
    (lambda: viz.temperature_widget(temperatures=[]), ValueError, "temperatures must be a non-empty"),
    (lambda: viz.temperature_widget(logits=[1.0]), ValueError, "logits must be a 1-d sequence"),
    (lambda: viz.temperature_widget(logits="abc"), TypeError, "logits must be an array of real"),
    (lambda: viz.temperature_widget(values=[0.0, np.nan]), ValueError, "values must hold finite"),
    (lambda: viz.jacobian_widget(logits=[0.1, 0.0, 0.0]), ValueError, "logits[0]=0.1 is not one"),
    (lambda: viz.jacobian_widget(logits=[0.0] * 10), ValueError, "2 to 9 numbers"),
    (lambda: viz.jacobian_widget(values=[[0.0, 1.0]]), ValueError, "values must be a non-empty 1-d"),
    (lambda: viz.jacobian_widget(values=[0.0, 0.0]), ValueError, "values must not repeat"),
    (lambda: viz.loss_gradient_widget(label=3), ValueError, "label must be an index in range(3)"),
    (lambda: viz.loss_gradient_widget(label=1.0), TypeError, "label must be an integer"),
    (lambda: viz.loss_gradient_widget(k=-1), ValueError, "k must be an index in range(3)"),
    (lambda: viz.loss_gradient_widget(logits=[1.0, np.inf]), ValueError, "logits must be finite"),
    (lambda: viz.loss_gradient_widget(logits=[1.05, 0.0]), ValueError, "logits[0]=1.05 is not"),
    (lambda: viz.loss_and_gradient([1.0, 2.0], 0, 2, [0.0]), ValueError, "k must be an index"),
    (lambda: viz.loss_and_gradient([1.0, 2.0], 0, 1, ["x"]), TypeError, "a_k must be an array"),
    (lambda: viz.classifier_widget(blobs()[0]), ValueError, "X and y go together"),
    (lambda: viz.classifier_widget(blobs()[0][:, :1], blobs()[1]), ValueError, "X must have two"),
    (lambda: viz.classifier_widget(blobs()[0], blobs()[1][:-1]), ValueError, "y must hold one label"),
    (lambda: viz.classifier_widget(blobs()[0], 0 * blobs()[1]), ValueError, "2 to 6 classes"),
    (lambda: viz.classifier_widget(*blobs(), learning_rate=0.5), ValueError, "learning_rate=0.5"),
    (lambda: viz.classifier_widget(*blobs(), l2_strengths=[-1.0]), ValueError, "l2_strengths must"),
    (lambda: viz.classifier_widget(*blobs(), epoch_counts=[1, 2.5]), TypeError, "epoch_counts[1]"),
    (lambda: viz.classifier_widget(*blobs(), epochs=7), ValueError, "epochs=7 is not one"),
    (lambda: viz.classifier_widget(*blobs(), resolution=1), ValueError, "resolution must be"),
    (lambda: viz.classifier_widget(*blobs(), feature_names="ab"), TypeError, "feature_names must"),
    (lambda: viz.classifier_widget(*blobs(), colour="red"), TypeError, "colour"),
    (lambda: viz.three_blobs(n_per_class=0), ValueError, "n_per_class must be an integer >= 1"),
    (lambda: viz.three_blobs(seed=1.5), TypeError, "seed must be an integer"),
    (
        lambda: viz.train_snapshots(*blobs(), learning_rate=0.0, l2=0.0, epochs=[1],
                                    grid=np.zeros((2, 2, 2))),
        ValueError,
        "learning_rate must be a finite number > 0",
    ),
    (
        lambda: viz.train_snapshots(*blobs(), learning_rate=0.1, l2=-1.0, epochs=[1],
                                    grid=np.zeros((2, 2, 2))),
        ValueError,
        "l2 must be a finite number >= 0",
    ),
    (
        lambda: viz.train_snapshots(*blobs(), learning_rate=0.1, l2=0.0, epochs=[],
                                    grid=np.zeros((2, 2, 2))),
        TypeError,
        "epochs must be a non-empty sequence",
    ),
    (
        lambda: viz.train_snapshots(*blobs(), learning_rate=0.1, l2=0.0, epochs=[1],
                                    grid=np.zeros((2, 2))),
        ValueError,
        "grid must be a finite array of shape (H, W, 2)",
    ),
]


@pytest.mark.parametrize("index", range(len(BAD_VIZ_ARGUMENTS)))
def test_bad_viz_arguments_raise_an_error_naming_them(index):
    call, error, words = BAD_VIZ_ARGUMENTS[index]
    with pytest.raises(error, match=re.escape(words)):
        call()


def test_classifier_takes_its_own_data_grids_and_axis_names():
    X, y = viz.three_blobs(n_per_class=10, seed=2)
    figure = viz.classifier_widget(
        X,
        y,
        learning_rate=1.0,
        l2=0.01,
        epochs=5,
        learning_rates=(0.1, 1.0),
        l2_strengths=(0.01,),
        epoch_counts=(1, 5),
        resolution=20,
        feature_names=("flavanoids", "proline"),
    )
    payload = payload_of(figure.static_html())
    assert decode(payload["arrays"]["map"]).shape == (2, 1, 2, 20, 20)
    assert (payload["meta"]["xlabel"], payload["meta"]["ylabel"]) == ("flavanoids", "proline")
    assert figure.axes[0].get_xlabel() == "flavanoids"
    model = independent_fit(X, y, 1.0, 0.01, 5)
    np.testing.assert_array_equal(
        decode(payload["arrays"]["map"])[1, 0, 1], map_codes(model, figure.points)
    )


def test_temperature_figure_with_its_own_grids_shows_the_formula_everywhere():
    from softmax_pkg import formulas

    figure = viz.temperature_widget(
        logits=[0.0, 1.0], temperature=0.5, values=[-1.0, 0.0, 1.0], temperatures=[0.5, 2.0]
    )
    heights = np.array([bar.get_height() for bar in figure.bars])
    np.testing.assert_allclose(heights, formulas.shifted_softmax(np.array([0.0, 1.0]) / 0.5))
    payload = payload_of(figure.static_html())
    p = decode(payload["arrays"]["p"])
    assert p.shape == (3, 3, 2, 2)
    for a0, a1, tau in np.ndindex(3, 3, 2):
        a = np.array([[-1.0, 0.0, 1.0][a0], [-1.0, 0.0, 1.0][a1]])
        want = formulas.shifted_softmax(a / [0.5, 2.0][tau])
        np.testing.assert_allclose(p[a0, a1, tau], want, atol=0.5e-3 + 1e-12)
    assert [c["values"] for c in payload["controls"]][-1] == [0.5, 2.0]


def test_loss_figure_with_its_own_grid_label_and_moving_logit_shows_the_formulas():
    from softmax_pkg import formulas

    logits, label, k = np.array([0.5, -1.0, 2.0]), 2, 1
    grid = [-2.0, -1.0, 0.0, 1.5]
    figure = viz.loss_gradient_widget(logits=logits, label=label, k=k, values=grid)
    assert figure.values == {"k": 1.0, "a_k": -1.0}
    payload = payload_of(figure.static_html())
    loss, grad = decode(payload["arrays"]["loss"]), decode(payload["arrays"]["grad"])
    assert loss.shape == (3, 4) and grad.shape == (3, 4, 3)
    y = np.eye(3)[label]
    for moving, m in np.ndindex(3, 4):
        row = logits.copy()
        row[moving] = grid[m]
        np.testing.assert_allclose(loss[moving, m], formulas.cross_entropy(row, y), atol=0.5e-3)
        np.testing.assert_allclose(grad[moving, m], formulas.cross_entropy_grad(row, y), atol=0.5e-3)


@pytest.mark.parametrize("n_per_class, seed", [(1, 0), (7, 5)])
def test_three_blobs_size_and_seed(n_per_class, seed):
    X, y = viz.three_blobs(n_per_class=n_per_class, seed=seed)
    assert X.shape == (3 * n_per_class, 2)
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], n_per_class))
    again, _ = viz.three_blobs(n_per_class=n_per_class, seed=seed)
    other, _ = viz.three_blobs(n_per_class=n_per_class, seed=seed + 1)
    np.testing.assert_array_equal(X, again)
    assert not np.array_equal(X, other)
    # Independent: centres on a circle of radius 1.6 at 90, 210 and 330 degrees, noise 0.75.
    rng = np.random.default_rng(seed)
    angles = np.deg2rad([90.0, 210.0, 330.0])
    centres = 1.6 * np.column_stack([np.cos(angles), np.sin(angles)])
    np.testing.assert_allclose(X, centres[y] + rng.normal(scale=0.75, size=X.shape), rtol=1e-15)


# --- softmax_pkg.viz.show: a chapter figure with its alt text, in a light and a dark version ------

# The text colour of the book site's dark theme (pydata-sphinx-theme's --pst-color-text-base).
DARK_TEXT = (0xCE, 0xD6, 0xDD)


def _shown(monkeypatch, draw, alt="A test figure: a black line and a label.") -> dict:
    """Draw a figure with ``draw(fig, ax)``, show it, and return the bundle Jupyter would get."""
    import IPython.display
    import matplotlib.pyplot as plt

    bundles = []
    monkeypatch.setattr(
        IPython.display, "display", lambda obj: bundles.append(obj._repr_mimebundle_())
    )
    fig, ax = plt.subplots(figsize=(3, 2))
    draw(fig, ax)
    viz.show(alt, fig)
    assert not plt.fignum_exists(fig.number), "show closes the figure, as plt.show() does"
    assert len(bundles) == 1, "one output per figure"
    return bundles[0]


def _pngs(bundle: dict) -> dict[str, np.ndarray]:
    """The two PNGs of the HTML output, as RGBA arrays, by version."""
    import base64

    from PIL import Image

    found = re.findall(r'<img class="smx-figure smx-figure-(light|dark)[^>]*src="data:image/png;'
                       r'base64,([^"]+)"', bundle["text/html"])
    return {version: np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))
            for version, data in found}


def _line_and_label(fig, ax):
    ax.plot([0, 1], [0, 1], color="black", linewidth=4)
    ax.plot([0, 1], [1, 0], color="tab:orange", linewidth=4)
    ax.set_title("Title")


def test_show_outputs_both_versions_with_the_alt_text_and_hides_the_dark_one(monkeypatch):
    alt = 'Two lines, "black" & orange <crossing>.'
    bundle = _shown(monkeypatch, _line_and_label, alt)
    html = bundle["text/html"]
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 2
    escaped = 'alt="Two lines, &quot;black&quot; &amp; orange &lt;crossing&gt;."'
    assert all(escaped in tag for tag in images)
    light, dark = images
    assert "smx-figure-light" in light and "display:none" not in light
    assert "smx-figure-dark" in dark and 'style="display:none"' in dark  # seen once without CSS
    assert 'html[data-theme="dark"] img.smx-figure-dark{display:inline!important' in html
    assert bundle["text/plain"] == alt
    assert bundle["image/png"].startswith(b"\x89PNG")
    pngs = _pngs(bundle)
    assert set(pngs) == {"light", "dark"} and pngs["light"].shape == pngs["dark"].shape


def test_the_dark_version_is_transparent_with_light_ink_and_the_data_colours_kept(monkeypatch):
    pngs = _pngs(_shown(monkeypatch, _line_and_label))
    light, dark = pngs["light"], pngs["dark"]
    assert light[0, 0, 3] == 255 and tuple(light[0, 0, :3]) == (255, 255, 255)
    assert dark[0, 0, 3] == 0  # the page's own background shows through
    opaque = dark[dark[..., 3] == 255][:, :3].astype(int)
    # the black line and the frame turned to the dark theme's text colour ...
    assert np.sum(np.all(np.abs(opaque - DARK_TEXT) <= 2, axis=1)) > 200
    assert np.sum(np.all(opaque <= 10, axis=1)) == 0  # ... and nothing stayed black
    # ... while the orange line kept its colour (tab:orange, #ff7f0e)
    assert np.sum(np.all(np.abs(opaque - (0xFF, 0x7F, 0x0E)) <= 2, axis=1)) > 200


def test_the_dark_version_leaves_what_is_drawn_on_a_picture_alone(monkeypatch):
    def picture(fig, ax):
        ax.imshow(np.full((4, 4), 0.9), cmap="Greys_r", vmin=0, vmax=1)  # a light image
        ax.text(1.5, 1.5, "■", color="black", fontsize=40, ha="center", va="center")
        ax.axis("off")

    pngs = _pngs(_shown(monkeypatch, picture))
    for version in ("light", "dark"):
        pixels = pngs[version][..., :3].reshape(-1, 3).astype(int)
        black = np.sum(np.all(pixels <= 10, axis=1))
        assert black > 100, f"the black mark on the image is gone in the {version} version"


def test_show_needs_an_alt_text(monkeypatch):
    with pytest.raises(ValueError, match="alt"):
        _shown(monkeypatch, _line_and_label, alt="  ")
    with pytest.raises(TypeError, match="alt"):
        _shown(monkeypatch, _line_and_label, alt=None)


def test_every_chapter_figure_is_shown_with_show_and_an_alt_text():
    """No chapter calls plt.show(): each figure goes through show(label("...")) (or a table of
    such texts), so that it has its alt text and its dark version."""
    import ast

    problems = []
    for path in sorted((REPO / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            lines = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                              for line in source.splitlines())
            for node in ast.walk(ast.parse(lines)):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                if name == "plt.show":
                    problems.append(f"{path.name} cell {index}: plt.show()")
                elif name in ("show", "viz.show") and not (
                    node.args and isinstance(node.args[0], (ast.Call, ast.Subscript))
                ):
                    problems.append(f"{path.name} cell {index}: show() without label(...)")
    assert not problems, "\n".join(problems)


def test_the_dark_version_turns_a_black_marker_light(monkeypatch):
    """A marker drawn in the line's colour ("k." in a chapter) follows the line, once."""
    pngs = _pngs(_shown(monkeypatch, lambda fig, ax: (ax.plot([0.5], [0.5], "k.", markersize=40),
                                                      ax.axis("off"))))
    opaque = pngs["dark"][pngs["dark"][..., 3] == 255][:, :3].astype(int)
    assert np.sum(np.all(np.abs(opaque - DARK_TEXT) <= 2, axis=1)) > 100
