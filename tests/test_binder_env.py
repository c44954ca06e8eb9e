"""What a Binder user, or a reader on a fresh machine, gets: an environment made from
requirements.txt alone runs every chapter of both editions.

Binder runs ``pip install -r requirements.txt`` in the repository root and starts each notebook's
kernel in the notebook's own folder. The session fixture ``fresh_env`` (conftest.py) does the same
in a new virtual environment that cannot see the packages of the environment running the tests,
and ``book_build`` runs the README's build command in it: the build executes every notebook of
both tables of contents, each in its own folder, with that environment's kernel, and fails on any
error. These tests check that this is what happened, notebook by notebook, and that the kernel a
notebook gets there is the environment's own and knows its edition.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, BookBuild, FreshEnv, toc_sources, zh_toc_sources

pytestmark = [pytest.mark.venv, pytest.mark.slow]

# Runs inside the new environment: execute a one-cell notebook with nbclient in the folder given,
# with the kernel a chapter notebook names, and report where the kernel's Python and softmax_pkg
# came from and which edition the package sees.
PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    chapter = nbformat.read(Path(sys.argv[1]), as_version=4)
    nb = nbformat.v4.new_notebook(metadata=chapter.metadata)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _j, sys as _s, softmax_pkg as _p, softmax_pkg.i18n as _i; "
        "print(_j.dumps({'prefix': _s.prefix, 'package': _p.__file__, 'edition': _i.edition()}))"
    ))
    spec = KernelSpecManager().get_kernel_spec(nb.metadata["kernelspec"]["name"])
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": sys.argv[2]}}).execute()
    seen = json.loads(nb.cells[-1].outputs[0]["text"])
    print(json.dumps({"kernel_argv": spec.argv, **seen}))
    """
)


def toc_notebooks() -> list[Path]:
    """Every notebook of both editions (the Chinese ones run in book/zh/, as Binder opens them)."""
    return [source for source in toc_sources() + zh_toc_sources() if source.suffix == ".ipynb"]


def test_binder_uses_the_python_this_test_uses():
    """Binder reads the Python version from runtime.txt; the pins in requirements.txt need 3.11+."""
    runtime = (REPO / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}"


def test_binder_installs_the_cjk_font_the_chinese_figures_use():
    """Binder installs Debian packages from apt.txt; the Chinese figures need Noto Sans CJK."""
    packages = (REPO / "apt.txt").read_text(encoding="utf-8").split()
    assert "fonts-noto-cjk" in packages, packages


def test_fresh_environment_has_no_outside_packages(fresh_env: FreshEnv):
    probe = "import json, site, sys; print(json.dumps([sys.prefix, sys.path]))"
    done = subprocess.run(
        [fresh_env.bin("python"), "-c", probe],
        env=fresh_env.env,
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, path = json.loads(done.stdout)
    assert Path(prefix) == fresh_env.env_dir
    outside = [
        entry
        for entry in path
        if entry.endswith("-packages") and not Path(entry).is_relative_to(fresh_env.env_dir)
    ]
    assert not outside, f"the new environment sees outside packages: {outside}"


@pytest.mark.parametrize("edition", ["en", "zh"])
def test_a_notebooks_kernel_is_the_fresh_environments_own_and_knows_its_edition(
    fresh_env: FreshEnv, edition: str
):
    folder = REPO / "book" if edition == "en" else REPO / "book" / "zh"
    chapters = [path for path in toc_notebooks() if path.parent == folder]
    # Every notebook of the edition names the kernel probed here, so each one ran with it.
    kernels = {nbformat.read(path, as_version=4).metadata["kernelspec"]["name"] for path in chapters}
    assert len(kernels) == 1, f"the {edition} notebooks name several kernels: {kernels}"
    chapter = chapters[0]
    done = subprocess.run(
        [fresh_env.bin("python"), "-c", PROBE, str(chapter), str(folder)],
        cwd=folder,
        env=fresh_env.env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The kernel is the venv's own Python, and it imports the package from this repository.
    assert Path(seen["prefix"]) == fresh_env.env_dir, seen
    assert Path(seen["package"]).resolve().is_relative_to(REPO), seen
    # A Chinese notebook knows its edition there too, so its figures show Chinese words.
    assert seen["edition"] == edition, seen


@pytest.mark.parametrize(
    "notebook", toc_notebooks(), ids=lambda path: path.relative_to(REPO / "book").as_posix()
)
def test_notebook_runs_in_a_fresh_binder_environment(book_build: BookBuild, notebook: Path):
    # The book was built in the fresh environment (conftest.build_book), where myst-nb ran this
    # notebook in its own folder ("local CWD") with the kernel probed above, and reports
    # "Executed notebook" only when every cell ran (execution_raise_on_error).
    log = book_build.zh_log if notebook.parent.name == "zh" else book_build.log
    said = [line for line in log.splitlines() if line.startswith(f"{notebook}: ")]
    assert f"{notebook}: Executing notebook using local CWD [mystnb]" in said, said
    assert any(line.startswith(f"{notebook}: Executed notebook in ") for line in said), (
        f"{notebook.name} did not run to its end in the fresh environment:\n" + "\n".join(said)
    )
