"""The live path, end to end, as a Binder reader takes it: JupyterLab on 127.0.0.1 with a token,
the interactive-figures notebook opened in headless Chromium, Run All Cells, then a slider moved
with the keyboard; the figure the kernel sends back must change. A screenshot of the live
widget goes to ``_build/jupyterlab/``.

The server runs on a temporary copy of the notebook (JupyterLab saves open notebooks, and a run
would otherwise write outputs into the repository), with its settings and workspaces in
temporary folders and every request outside 127.0.0.1 blocked.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BUILD_DIR, REPO, block_outside_world, import_or_need, launch_chromium, need

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Chapters, as a Binder reader opens them, and the page that gathers every figure. The number is
# how many figures each shows, each an ipywidgets.Image holding the PNG the kernel drew; the
# first figure of 01 and of the page is the temperature figure, that of 12 the attention figure.
NOTEBOOKS = {"book/01_softmax.ipynb": 1, "book/interactive.ipynb": 5, "book/12_attention.ipynb": 1}
# The sliders of the first figure that the test moves (by position), each one step to the right
# with the keyboard, and the value each must then show.
MOVES = {
    "book/01_softmax.ipynb": [(0, "1.5")],  # a1: 1.0 -> 1.5
    "book/interactive.ipynb": [(0, "1.5")],
    "book/12_attention.ipynb": [(0, "128"), (2, "padding")],  # d: 64 -> 128; mask: none -> padding
}
# Not in _build/screenshots/, which test_site.py empties when it starts.
SCREENSHOTS = BUILD_DIR / "jupyterlab"
# User settings, in a temporary folder: never save the notebook (nothing is written back), and
# start the notebook's own kernel without asking which one.
SETTINGS = {
    "docmanager-extension/plugin": '{"autosave": false}',
    "notebook-extension/tracker": '{"autoStartDefaultKernel": true}',
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(params=sorted(NOTEBOOKS))
def notebook(request) -> str:
    return request.param


@pytest.fixture
def jupyter_lab(tmp_path: Path, notebook: str):
    """JupyterLab serving a copy of the notebook; yields (base URL, token)."""
    jupyter = shutil.which("jupyter") or str(Path(sys.executable).parent / "jupyter")
    need(Path(jupyter).exists(), "the jupyter command (pip install -r requirements.txt)")
    root = tmp_path / "root"
    (root / "book").mkdir(parents=True)
    shutil.copy(REPO / notebook, root / notebook)
    for plugin, text in SETTINGS.items():
        path = tmp_path / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    argv = [
        jupyter,
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # CI containers run as root
        argv.append("--allow-root")
    log = tmp_path / "jupyter-lab.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            argv, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", process, log, seconds=60)
        yield base, token
    finally:
        # The server's own shutdown request stops its kernels and exits at once (SIGINT, twice,
        # took it 20 s); a server that does not answer is killed.
        request = urllib.request.Request(
            f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        with contextlib.suppress(OSError):  # it may close the connection without an answer
            urllib.request.urlopen(request, timeout=10).close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_slider_moved_in_jupyterlab_changes_the_figure(jupyter_lab, notebook):
    import_or_need("playwright")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    base, token = jupyter_lab
    blocked: list[str] = []

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        block_outside_world(page, blocked)
        page.set_default_timeout(90_000)
        page.goto(f"{base}/lab/tree/{notebook}?token={token}")
        page.locator(".jp-Notebook").first.wait_for()
        # Should JupyterLab still ask which kernel to start, take the notebook's own.
        choose = page.locator(".jp-Dialog").get_by_role("button", name="Select")
        try:
            choose.wait_for(timeout=5_000)
            choose.click()
        except PlaywrightTimeout:
            pass
        # A kernel is attached and idle before anything runs.
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()

        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        images = page.locator(".jp-OutputArea-output img.widget-image")
        page.wait_for_function(
            "document.querySelectorAll('.jp-OutputArea-output img.widget-image').length"
            f" >= {NOTEBOOKS[notebook]}",
            timeout=240_000,  # chapter 12 computes for a while before its figure
        )
        # Every cell has run: the kernel is free to answer the sliders at once.
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
            timeout=240_000
        )
        first = images.first
        first.scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=first.element_handle()
        )
        before = first.get_attribute("src")
        # JupyterLab chose the live widget view; the static HTML version is not shown.
        assert page.locator(".jp-OutputArea-output .smx-viz").count() == 0
        # Each static figure (softmax_pkg.viz.show) is seen once, in its light version: the
        # dark one waits for the book theme's data-theme="dark", which JupyterLab never sets.
        seen = page.evaluate(
            """() => Array.from(document.querySelectorAll(".jp-OutputArea-output img.smx-figure"))
                 .filter((img) => img.offsetParent !== null)
                 .map((img) => img.classList.contains("smx-figure-light"))"""
        )
        light = page.locator(".jp-OutputArea-output img.smx-figure-light").count()
        assert seen and seen == [True] * light, f"figures seen: {seen}, figures: {light}"

        # Each slider to move: focus its handle, press →, wait for the kernel's new figure.
        widget = page.locator(".jp-OutputArea-output .widget-vbox").first
        after, readouts = before, []
        for position, _ in MOVES[notebook]:
            shown = after
            widget.locator(".noUi-handle").nth(position).focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([img, src]) => img.src !== src && img.complete && img.naturalWidth > 0",
                arg=[first.element_handle(), shown],
                timeout=30_000,
            )
            after = first.get_attribute("src")
            readouts.append(widget.locator(".widget-readout").nth(position).inner_text().strip())
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        widget.screenshot(path=str(SCREENSHOTS / f"live__{Path(notebook).stem}.png"))
        browser.close()

    assert after != before, "the live figure did not change after the slider moved"
    expected = [text for _, text in MOVES[notebook]]
    assert readouts == expected, f"the sliders show {readouts}, not the next values {expected}"
    assert not blocked, f"JupyterLab asked for the outside world: {blocked[:5]}"
