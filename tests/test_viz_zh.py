"""softmax_pkg.viz in the Chinese edition (issue 14): every word a reader sees is Chinese.

Each interactive figure is made in a folder named book/zh holding the edition's label tables, as
the Chinese notebooks make it, and its static page, the data its static page draws words from,
its matplotlib figure (the PNG frames) and its live sliders are searched for English words. That
every label() of the package has a Chinese entry is checked in test_i18n.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from softmax_pkg import cross_entropy

from conftest import REPO, import_or_need, need  # noqa: E402

viz = import_or_need("softmax_pkg.viz")
import_or_need("ipywidgets")  # the live sliders
from test_viz import payload_of  # noqa: E402


# -- the Chinese edition: every word a reader sees is the edition's ---------------------------------

# English words the figures used to show, one or more per figure; none may be left in Chinese.
ENGLISH_WORDS = (
    "static version", "precomputed", "needs javascript", "for the live version", "open this page",
    "probability", "jacobian", "input", "output", "column", "row", "moving logit", "its value",
    "other logits fixed", "cross-entropy", "true class", "gradient", "component", "learning rate",
    "strength", "epoch", "epochs", "feature", "decision regions", "objective", "accuracy",
    "key dimension", "scale", "mask", "none", "padding", "causal", "query", "key",
    "attention weight", "largest weight", "mean", "class",
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _payload_texts(value) -> list[str]:
    """Every string of a static payload's meta (colours aside): what viz.js writes on the SVG."""
    if isinstance(value, str):
        return [] if value.startswith("#") else [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _payload_texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _payload_texts(item)]
    return []


def visible_texts(figure) -> dict[str, list[str]]:
    """What a reader sees of a figure: its static page (outside the scripts), the data the static
    page draws its words from, the matplotlib figure (the PNG frames) and the live sliders."""
    import html as html_module

    from matplotlib.text import Text

    page = figure.static_html()
    payload = payload_of(page)
    outside = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.DOTALL)
    attributes = re.findall(r'data-(?:before|link|after|jupyter)="([^"]*)"', outside)
    sliders = figure.sliders.values()
    return {
        "page": [html_module.unescape(re.sub(r"<[^>]+>", "", outside))]
        + [html_module.unescape(text) for text in attributes],
        "payload": [c["label"] for c in payload["controls"]]
        + [text for c in payload["controls"] for text in c["text"]]
        + _payload_texts(payload["meta"]),
        "figure": [t.get_text() for t in figure.figure.findobj(Text) if t.get_text()],
        "sliders": [s.description for s in sliders] + [t for s in sliders for t, _ in s.options],
    }


@pytest.fixture(scope="module")
def chinese_figures(tmp_path_factory) -> dict:
    """One figure of each kind made in the Chinese edition's folder (a copy of its label tables),
    as the Chinese notebooks make them; matplotlib's settings are restored afterwards."""
    import shutil

    import matplotlib
    from matplotlib import font_manager

    from softmax_pkg import i18n

    try:
        font_manager.findfont(i18n.CJK_FONT, fallback_to_default=False)
        has_font = True
    except ValueError:
        has_font = False
    need(has_font, f"the font {i18n.CJK_FONT} (Debian's fonts-noto-cjk)")
    zh = tmp_path_factory.mktemp("edition") / "book" / "zh"
    shutil.copytree(REPO / "book" / "zh" / "_translations", zh / "_translations")
    with pytest.MonkeyPatch.context() as monkeypatch, matplotlib.rc_context():
        monkeypatch.chdir(zh)
        assert i18n.edition() == "zh"
        i18n.use_edition_fonts()
        built = {
            "temperature": viz.temperature_widget(),
            "jacobian": viz.jacobian_widget(),
            "loss": viz.loss_gradient_widget(),
            "classifier": viz.classifier_widget(
                learning_rates=(0.1, 1.0), l2_strengths=(0.01,), epoch_counts=(1, 10), epochs=1
            ),
            "attention": viz.attention_widget(mask="padding"),
        }
        for figure in built.values():
            figure.png()  # the PNG frame: a glyph missing from the fonts would warn (an error here)
            figure.sweep(2)  # and the frames after a move, with the titles that moves write
        yield {name: (figure, visible_texts(figure)) for name, figure in built.items()}


@pytest.mark.parametrize("name", ["temperature", "jacobian", "loss", "classifier", "attention"])
def test_in_the_chinese_edition_a_figure_shows_no_english_word(chinese_figures, name):
    figure, seen = chinese_figures[name]
    for where, texts in seen.items():
        # The temperature's and the Jacobian's sliders are named by symbols alone (a₁, τ).
        assert where == "sliders" or any(CHINESE.search(text) for text in texts), (where, texts)
        for text in texts:
            shown = re.sub(r"\{\w+\}", "", text)  # a template's {placeholder} is filled by viz.js
            left = [w for w in ENGLISH_WORDS if re.search(rf"\b{w}\b", shown, flags=re.IGNORECASE)]
            assert not left, f"{name}, {where}: {text!r} still says {left}"
    # The static page's banner, as a reader meets it first.
    assert '<p class="smx-viz-banner"' in figure.static_html()
    assert "<strong>静态版本</strong>" in figure.static_html()


def test_the_chinese_titles_keep_the_numbers_of_the_english_ones(chinese_figures):
    """The templates are filled with the same numbers: only the words change."""
    temperature, _ = chinese_figures["temperature"]
    assert temperature.ax_title.get_text() == "τ = 1 时的 S(a/τ)"
    loss, _ = chinese_figures["loss"]
    a_k = loss.values["a_k"]
    expected = cross_entropy(np.r_[a_k, 2.0, 3.0], 0)
    assert loss.loss_title.get_text() == f"a₁ = {a_k:.1f} 时 L = {expected:.3f}"
    classifier, seen = chinese_figures["classifier"]
    assert classifier.map_title.get_text() == "训练 1 轮后的决策区域"
    meta = payload_of(classifier.static_html())["meta"]
    assert meta["map_title"] == ["训练 {epochs} 轮后的决策区域"] * 2
    assert meta["loss_title"] == "目标函数值 {objective}，准确率 {accuracy}"
    attention, seen = chinese_figures["attention"]
    assert [t for t, _ in attention.sliders["mask"].options] == ["无", "填充", "因果"]
    assert attention.ax.get_xlabel() == "键 j（列）；填充掩码屏蔽键 5-6"
