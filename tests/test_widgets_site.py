"""The static versions of the interactive figures on the built site, operated in headless Chromium
with the network cut off: each slider moved changes what is drawn, to the numbers the package
computes, and no page ships a dead ipywidget.

A screenshot of each static figure, before and after its sliders move, goes to
``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import BUILD_DIR, BookBuild, block_outside_world, import_or_need, launch_chromium
from softmax_pkg import cross_entropy, softmax, softmax_jacobian
from test_site import html_pages, notebook_of, site  # noqa: F401 - site: a fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = "book/interactive.html"
KINDS = ["bars", "heatmap", "lossgrad", "classifier", "attention"]
SCREENSHOTS = BUILD_DIR / "screenshots"
# What the site must never contain: ipywidgets' own markup, which no widget manager would bring
# to life on a page without a kernel.
DEAD_WIDGET = ("application/vnd.jupyter.widget-view+json", "jupyter-widgets", "widget-state+json")

# Everything the test reads from one figure: slider positions and texts, and what the SVG shows.
READ = r"""
(root) => ({
  inputs: Array.from(root.querySelectorAll("input[type=range]")).map((input) => ({
    name: input.dataset.name, value: Number(input.value), max: Number(input.max),
  })),
  outputs: Array.from(root.querySelectorAll("output")).map((output) => output.textContent),
  svg: root.querySelector("svg.smx-viz-figure").innerHTML,
  texts: Array.from(root.querySelectorAll("svg.smx-viz-figure text")).map((t) => t.textContent),
  banner: root.querySelector(".smx-viz-banner").innerText,
  binder: (root.querySelector(".smx-viz-banner a") || {}).href || null,
})
"""
MOVE = r"""
(root, [name, value]) => {
  const input = root.querySelector(`input[data-name="${name}"]`);
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
}
"""


@pytest.fixture(scope="module")
def browser_page(site: str):  # noqa: F811 - the fixture imported from test_site
    """The interactive-figures page, open in headless Chromium with the outside world blocked."""
    import_or_need("playwright")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        block_outside_world(page, problems)  # a blocked request is a problem too
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(site + PAGE, wait_until="load")
        page.wait_for_load_state("networkidle")
        yield page, problems
        browser.close()


def figure(page, kind: str):
    roots = page.locator(f'.smx-viz[data-kind="{kind}"]')
    assert roots.count() == 1, f"{PAGE} should show one {kind} figure"
    return roots.first


def read(root) -> dict:
    return root.evaluate(READ)


def move(root, name: str, value: int) -> dict:
    root.evaluate(MOVE, [name, value])
    return read(root)


def numbers(texts: list[str]) -> list[float]:
    return [float(t) for t in texts if re.fullmatch(r"-?\d+\.\d{3}", t)]


def test_the_page_holds_every_static_figure_and_no_error(browser_page):
    page, problems = browser_page
    for kind in KINDS:
        root = figure(page, kind)
        state = read(root)
        assert state["inputs"] and state["svg"], f"the {kind} figure drew nothing"
        assert root.locator(".smx-viz-nojs").count() == 0, "the no-JavaScript note is still there"
        root.screenshot(path=str(SCREENSHOTS / f"widgets__{kind}.png"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_the_banner_says_static_and_links_to_the_live_version_on_binder(browser_page, kind):
    page, _ = browser_page
    state = read(figure(page, kind))
    assert state["banner"].startswith("Static version")
    assert "precomputed in Python" in state["banner"] and "offline" in state["banner"]
    assert state["binder"] and state["binder"].startswith("https://mybinder.org/v2/")
    assert state["binder"].endswith("urlpath=lab/tree/book/interactive.ipynb")


@pytest.mark.parametrize("kind", KINDS)
def test_moving_each_slider_changes_what_is_drawn(browser_page, kind):
    page, problems = browser_page
    root = figure(page, kind)
    start = read(root)
    for control in start["inputs"]:
        before = read(root)
        value = control["max"] if control["value"] == 0 else 0
        after = move(root, control["name"], value)
        assert after["svg"] != before["svg"], f"{kind}: moving {control['name']} changed nothing"
        assert after["outputs"] != before["outputs"], f"{kind}: {control['name']} shows no value"
    root.screenshot(path=str(SCREENSHOTS / f"widgets__{kind}__moved.png"))
    for control in start["inputs"]:  # back where it started
        move(root, control["name"], control["value"])
    assert read(root)["svg"] == start["svg"]
    assert not problems, "\n".join(problems)


def test_the_keyboard_moves_a_slider(browser_page):
    page, _ = browser_page
    root = figure(page, "bars")
    before = read(root)
    slider = root.locator('input[data-name="temperature"]')
    slider.focus()
    page.keyboard.press("ArrowLeft")
    after = read(root)
    assert after["inputs"][3]["value"] == before["inputs"][3]["value"] - 1
    assert after["svg"] != before["svg"]
    page.keyboard.press("ArrowRight")
    assert read(root)["svg"] == before["svg"]


def test_static_temperature_figure_shows_softmax_at_the_slider_values(browser_page):
    page, _ = browser_page
    root = figure(page, "bars")
    state = move(root, "a0", 2)  # a1 = -2.0
    state = move(root, "temperature", 3)  # tau = 0.5
    logits = [float(v) for v in state["outputs"][:3]]
    tau = float(state["outputs"][3])
    assert (logits, tau) == ([-2.0, 2.0, 3.0], 0.5)
    expected = softmax(np.array(logits), temperature=tau)
    np.testing.assert_allclose(numbers(state["texts"]), expected, atol=0.5e-3)
    assert "S(a/τ) at τ = 0.5" in state["texts"]


def test_static_jacobian_figure_shows_softmax_jacobian_at_the_slider_values(browser_page):
    page, _ = browser_page
    root = figure(page, "heatmap")
    state = move(root, "a2", 4)  # a3 = -1.0
    logits = [float(v) for v in state["outputs"]]
    expected = softmax_jacobian(np.array(logits)).ravel()
    np.testing.assert_allclose(numbers(state["texts"]), expected, atol=0.5e-3)
    # As in the PNG: numbers on dark cells (|value| > 0.15) are white, the others black.
    fills = root.evaluate(
        """(root) => Array.from(root.querySelectorAll("svg text"))
             .filter((t) => /^-?\\d+\\.\\d{3}$/.test(t.textContent))
             .map((t) => getComputedStyle(t).fill)"""
    )
    white = ["rgb(255, 255, 255)" if abs(v) > 0.15 else "rgb(0, 0, 0)" for v in expected]
    assert fills == white


def test_static_loss_figure_shows_the_cross_entropy_at_the_slider_values(browser_page):
    page, _ = browser_page
    root = figure(page, "lossgrad")
    move(root, "k", 2)
    state = move(root, "a_k", 15)  # a3 = -2.5
    assert state["outputs"] == ["a₃", "-2.5"]
    title = next(t for t in state["texts"] if t.startswith("L = "))
    loss = float(cross_entropy(np.array([1.0, 2.0, -2.5]), 0))
    assert title == f"L = {loss:.3f} at a₃ = -2.5"


def test_static_attention_figure_shows_the_weights_at_the_slider_values(browser_page):
    page, _ = browser_page
    root = figure(page, "attention")
    move(root, "d", 8)  # d = 256
    move(root, "scaled", 0)  # s = 1
    state = move(root, "mask", 2)  # causal
    assert state["outputs"] == ["256", "1", "causal"]
    attention = pytest.importorskip("softmax_pkg.viz").attention_widget()  # the same seeded Q, K
    Z = attention.Q[:, :256] @ attention.K[:, :256].T
    causal = np.tril(np.ones((6, 6), dtype=bool))
    A = softmax(np.where(causal, Z, -np.inf))
    cells = [float(t) for t in state["texts"] if re.fullmatch(r"\d\.\d{2}", t)]
    np.testing.assert_allclose(cells, A[causal], atol=0.5e-2 + 1e-12)  # masked cells: no number
    J = [np.linalg.norm(np.diag(S) - np.outer(S, S)) for S in A]
    stats = f"largest weight {A.max():.3f}, mean ‖J‖ of a row {np.mean(J):.3f}"
    assert stats in state["texts"]
    assert "softmax(QKᵀ·s), d = 256, s = 1, mask: causal" in state["texts"]
    # Masked cells are grey: as many grey cells as masked entries.
    fills = root.evaluate(
        """(root) => Array.from(root.querySelectorAll("svg rect"))
             .map((r) => r.getAttribute("fill")).filter((f) => f === "#c8c8c8").length"""
    )
    assert fills == int((~causal).sum())


def test_no_page_of_the_site_ships_a_dead_widget(book_build: BookBuild):
    assert book_build.html_dir.joinpath(PAGE).exists(), "the site was not built"
    problems = []
    for page in html_pages(book_build.html_dir):
        text = (book_build.html_dir / page).read_text(encoding="utf-8")
        problems += [f"{page}: {marker}" for marker in DEAD_WIDGET if marker in text]
    assert not problems, "\n".join(problems)


def test_each_static_figure_weighs_under_2_mb(book_build: BookBuild):
    html = (book_build.html_dir / PAGE).read_text(encoding="utf-8")
    snippets = re.findall(r'<div class="smx-viz .*?</script></div>', html, flags=re.DOTALL)
    assert len(snippets) == len(KINDS)
    sizes = [len(snippet.encode("utf-8")) for snippet in snippets]
    assert max(sizes) < 2_000_000, sizes


# Every interactive figure of the chapters, where the reader meets it.
ENGLISH_CHAPTER_FIGURES = {
    "book/01_softmax.html": "bars",
    "book/03_softmax_derivative.html": "heatmap",
    "book/10_softmax_ce_gradient.html": "lossgrad",
    "book/11_classifier.html": "classifier",
    "book/12_attention.html": "attention",
}
# Every chapter is translated: each figure is checked on its Chinese twin (zh/<page>) too.
CHAPTER_FIGURES = {
    **ENGLISH_CHAPTER_FIGURES,
    **{"zh/" + page.removeprefix("book/"): kind for page, kind in ENGLISH_CHAPTER_FIGURES.items()},
}
# The Chinese interactive-figures page shows every figure, as the English one does; each is
# checked there as a chapter's figure is (static, its own notebook on Binder, every slider moved).
ZH_PAGE = "zh/interactive.html"
FIGURES_ON_PAGES = sorted(CHAPTER_FIGURES.items()) + [(ZH_PAGE, kind) for kind in KINDS]


def test_every_page_with_a_figure_is_covered(book_build: BookBuild):
    pages = {
        page
        for page in html_pages(book_build.html_dir)
        if 'class="smx-viz' in (book_build.html_dir / page).read_text(encoding="utf-8")
    }
    assert pages == set(CHAPTER_FIGURES) | {PAGE, ZH_PAGE}


@pytest.mark.parametrize(("chapter", "kind"), FIGURES_ON_PAGES)
def test_chapter_figures_work_offline_and_link_to_their_own_notebook(
    browser_page, site, chapter, kind  # noqa: F811 - site: the fixture imported from test_site
):
    # Runs after the tests above: the shared page leaves the demo page for the chapters.
    page, problems = browser_page
    problems.clear()
    page.goto(site + chapter, wait_until="load")
    page.wait_for_load_state("networkidle")
    roots = page.locator(f'.smx-viz[data-kind="{kind}"]')
    assert roots.count() == 1, f"{chapter} should show one {kind} figure"
    root = roots.first
    start = read(root)
    assert state_is_static(start)
    notebook = notebook_of(chapter)
    assert start["binder"].endswith(f"urlpath=lab/tree/{notebook}")
    for control in start["inputs"]:
        before = read(root)
        value = control["max"] if control["value"] == 0 else 0
        after = move(root, control["name"], value)
        assert after["svg"] != before["svg"], f"{chapter}: {control['name']} changed nothing"
    shot = chapter.removesuffix(".html").replace("/", "__")
    shot += f"__{kind}" if chapter == ZH_PAGE else ""
    root.screenshot(path=str(SCREENSHOTS / f"widgets__{shot}.png"))
    assert not problems, "\n".join(problems)


def state_is_static(state: dict) -> bool:
    # The banner in the page's edition: English, or Chinese on the Chinese pages.
    return bool(state["inputs"] and state["svg"]) and state["banner"].startswith(
        ("Static version", "静态版本")
    )
