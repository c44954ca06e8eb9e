"""The attention figure of softmax_pkg.viz, both faces, against softmax_pkg computed here.

Live: moving a control (what a reader's drag does) sets the heat map to the attention weights of
the figure's queries and keys at that key dimension, scale and mask, computed here with
``softmax_pkg.softmax`` on ``-inf`` logits rather than with the figure's own code. Static: the
payload holds those weights at every position of the controls. The browser side is covered by
test_widgets_site.py (static page) and test_jupyterlab.py (live widget).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from softmax_pkg import softmax

viz = pytest.importorskip("softmax_pkg.viz")
from test_viz import WIDGET_VIEW, decode, payload_of, png_pixels  # noqa: E402


def expected_mask(kind: str, T: int = 6, padding: int = 2) -> np.ndarray:
    rows, cols = np.indices((T, T))
    return {"none": rows >= 0, "padding": cols < T - padding, "causal": cols <= rows}[kind]


def expected_weights(figure, d: int, scaled: bool, kind: str) -> np.ndarray:
    """softmax of the scores with -inf at the masked keys: the chapter's first formulation."""
    Z = figure.Q[:, :d] @ figure.K[:, :d].T / (np.sqrt(d) if scaled else 1.0)
    return softmax(np.where(expected_mask(kind), Z, -np.inf))


def jacobian_norm(A: np.ndarray) -> float:
    return float(np.mean([np.linalg.norm(np.diag(S) - np.outer(S, S)) for S in A]))


@pytest.fixture(scope="module")
def figure():
    return viz.attention_widget()


@pytest.fixture(scope="module")
def payload():
    """The static payload of a figure at its defaults, before any control has moved."""
    return payload_of(viz.attention_widget().static_html())


def test_controls_set_the_heat_map_to_the_attention_weights():
    figure = viz.attention_widget(d=64, scaled=True, mask="none")
    moves = [("d", 256.0), ("scaled", 0.0), ("mask", 2.0), ("d", 4.0), ("mask", 1.0)]
    for name, value in moves:
        before = figure.image.value
        figure.sliders[name].value = value
        d, scaled = int(figure.values["d"]), bool(figure.values["scaled"])
        kind = ("none", "padding", "causal")[int(figure.values["mask"])]
        A = expected_weights(figure, d, scaled, kind)
        shown = figure.heat.get_array()
        np.testing.assert_allclose(shown.data, A, rtol=1e-13, atol=1e-300)
        np.testing.assert_array_equal(shown.mask, ~expected_mask(kind))
        texts = {key: label.get_text() for key, label in figure.labels.items()}
        assert texts[(0, 5)] == ("" if kind != "none" else f"{A[0, 5]:.2f}")
        assert texts[(5, 0)] == f"{A[5, 0]:.2f}"
        assert figure.stats.get_text() == (
            f"largest weight {A.max():.3f}, mean ‖J‖ of a row {jacobian_norm(A):.3f}"
        )
        assert figure.image.value != before, f"moving {name} did not change the PNG"
    assert figure.ax_title.get_text() == "softmax(QKᵀ·s), d = 4, s = 1, mask: padding"


def test_without_the_scale_the_weights_saturate_and_the_jacobian_vanishes(figure):
    """What the figure is for: at d = 256 the unscaled softmax is nearly one-hot."""
    _, A_scaled, top_scaled, norm_scaled = figure.data({"d": 256, "scaled": 1, "mask": 0})
    _, A_raw, top_raw, norm_raw = figure.data({"d": 256, "scaled": 0, "mask": 0})
    assert top_raw > 0.99 and top_scaled < 0.9
    assert norm_raw < 0.3 * norm_scaled


def test_the_blitted_png_equals_a_full_redraw(figure):
    figure.sweep(positions=3)
    figure.sliders["mask"].value = 2.0
    figure.sliders["d"].value = 8.0
    fast = png_pixels(figure.image.value)
    full = io.BytesIO()
    figure.figure.savefig(full, format="png")
    differs = np.any(np.abs(fast - png_pixels(full.getvalue())) > 8, axis=-1)
    assert differs.mean() < 0.001, f"{differs.mean():.2%} of the pixels differ"


def test_mimebundle_offers_the_live_widget_and_the_static_html(figure):
    bundle = figure._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == figure.widget.model_id
    html = bundle["text/html"]
    assert 'data-kind="attention"' in html and "Static version" in html
    assert html.count("</script>") == 2
    assert len(html.encode("utf-8")) < 2_000_000


def test_static_payload_holds_the_weights_at_every_position(figure, payload):
    # figure: the same seeded queries and keys as the payload's figure
    A = decode(payload["arrays"]["A"])
    stats = decode(payload["arrays"]["stats"])
    masks = decode(payload["arrays"]["mask"])
    controls = payload["controls"]
    assert [c["name"] for c in controls] == ["d", "scaled", "mask"]
    assert A.shape == (9, 2, 3, 6, 6) and stats.shape == (9, 2, 3, 2)
    assert controls[2]["text"] == ["none", "padding", "causal"]
    for k, kind in enumerate(controls[2]["text"]):
        np.testing.assert_array_equal(masks[k], expected_mask(kind))
    for a, d in enumerate(controls[0]["values"]):
        for b, scaled in enumerate(controls[1]["values"]):
            for k, kind in enumerate(controls[2]["text"]):
                expected = expected_weights(figure, int(d), bool(scaled), kind)
                np.testing.assert_allclose(A[a, b, k], expected, atol=0.5e-3 + 1e-12)
                np.testing.assert_allclose(
                    stats[a, b, k], [expected.max(), jacobian_norm(expected)], atol=0.5e-3 + 1e-12
                )
    # The initial position is the figure's: d = 64, scaled, no mask.
    assert [c["index"] for c in controls] == [6, 1, 0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="mask must be one of"):
        viz.attention_widget(mask="diagonal")
    with pytest.raises(ValueError, match="not in values"):
        viz.attention_widget(d=3)
    with pytest.raises(ValueError, match="padding"):
        viz.attention_widget(padding=6)
