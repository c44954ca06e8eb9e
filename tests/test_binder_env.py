"""What a Binder user gets: a fresh environment made from requirements.txt alone runs every chapter.

Binder runs ``pip install -r requirements.txt`` in the repository root and starts each notebook's
kernel in the notebook's own folder. This test does the same in a new virtual environment that
cannot see the packages of the environment running the tests, then executes every notebook of
the table of contents with that environment's kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO, need, toc_sources, zh_toc_sources

pytestmark = [pytest.mark.venv, pytest.mark.slow]

# What pip prints when it cannot reach the index at all (not when a pin does not exist).
OFFLINE_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
)

# Runs inside the new environment: execute one notebook with nbclient in its own folder, with the
# kernel of that environment, and report where the kernel's Python and softmax_pkg came from.
RUNNER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    notebook = Path(sys.argv[1])
    nb = nbformat.read(notebook, as_version=4)
    probe = nbformat.v4.new_code_cell(
        "import json as _j, sys as _s, softmax_pkg as _p, softmax_pkg.i18n as _i; "
        "print(_j.dumps({'prefix': _s.prefix, 'package': _p.__file__, 'edition': _i.edition()}))"
    )
    nb.cells.append(probe)
    spec = KernelSpecManager().get_kernel_spec(nb.metadata["kernelspec"]["name"])
    client = NotebookClient(
        nb, timeout=600, resources={"metadata": {"path": str(notebook.parent)}}
    )
    client.execute()
    seen = json.loads(nb.cells[-1].outputs[0]["text"])
    print(json.dumps({"kernel_argv": spec.argv, **seen}))
    """
)


def toc_notebooks() -> list[Path]:
    """Every notebook of both editions (the Chinese ones run in book/zh/, as Binder opens them)."""
    return [source for source in toc_sources() + zh_toc_sources() if source.suffix == ".ipynb"]


def clean_environment(env_dir: Path, home: Path) -> dict[str, str]:
    """The variables of a Binder-like session: this venv first on PATH, nothing from outside."""
    # pip's own settings (certificates, mirrors, timeouts) stay: they say how to reach PyPI, and
    # pip installs into the new environment whatever they say.
    leaks = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "JUPYTER", "CONDA")
    env = {key: value for key, value in os.environ.items() if not key.startswith(leaks)}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PYTHONNOUSERSITE"] = "1"
    # Jupyter's per-user folders may hold a "python3" kernel of another Python: use empty ones.
    env["JUPYTER_DATA_DIR"] = str(home / "jupyter-data")
    env["JUPYTER_CONFIG_DIR"] = str(home / "jupyter-config")
    env["IPYTHONDIR"] = str(home / "ipython")
    env["MPLCONFIGDIR"] = str(home / "matplotlib")
    return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A new virtual environment with ``pip install -r requirements.txt`` run in the repo root."""
    root = tmp_path_factory.mktemp("binder")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    env = clean_environment(env_dir, root)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip"]
    # pip keeps its cache (~/.cache/pip) so a second run does not download again.
    done = subprocess.run(
        [*pip, "install", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    offline = any(sign in done.stderr for sign in OFFLINE_SIGNS)
    need(done.returncode == 0 or not offline, "access to PyPI")
    assert done.returncode == 0, f"pip install -r requirements.txt failed:\n{done.stderr[-5000:]}"
    yield env_dir, env
    shutil.rmtree(env_dir, ignore_errors=True)  # about a gigabyte


def test_binder_uses_the_python_this_test_uses():
    """Binder reads the Python version from runtime.txt; the pins in requirements.txt need 3.11+."""
    runtime = (REPO / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}"


def test_binder_installs_the_cjk_font_the_chinese_figures_use():
    """Binder installs Debian packages from apt.txt; the Chinese figures need Noto Sans CJK."""
    packages = (REPO / "apt.txt").read_text(encoding="utf-8").split()
    assert "fonts-noto-cjk" in packages, packages


def test_fresh_environment_has_no_outside_packages(binder_env):
    env_dir, env = binder_env
    probe = "import json, site, sys; print(json.dumps([sys.prefix, sys.path]))"
    done = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, path = json.loads(done.stdout)
    assert Path(prefix) == env_dir
    outside = [
        entry
        for entry in path
        if entry.endswith("-packages") and not Path(entry).is_relative_to(env_dir)
    ]
    assert not outside, f"the new environment sees outside packages: {outside}"


def run_notebook(env_dir: Path, env: dict[str, str], notebook: Path) -> subprocess.CompletedProcess:
    """Execute ``notebook`` in its own folder with the fresh environment's kernel."""
    return subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", RUNNER, str(notebook)],
        cwd=notebook.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def notebook_runs(binder_env, request) -> dict[Path, subprocess.CompletedProcess]:
    """The selected notebooks (all, unless ``-k`` chose some) run in the fresh environment, one
    per core at a time.

    Each run is its own kernel in its own process, as on Binder, so running them side by side
    changes nothing but the wall-clock time; the largest notebooks start first.
    """
    env_dir, env = binder_env
    selected = {
        item.callspec.params["notebook"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_notebook_runs_in_a_fresh_binder_environment"
    }
    notebooks = sorted(selected, key=lambda path: path.stat().st_size, reverse=True)
    with ThreadPoolExecutor(max_workers=max(2, min(os.cpu_count() or 1, 4))) as pool:
        futures = {nb: pool.submit(run_notebook, env_dir, env, nb) for nb in notebooks}
        return {nb: future.result() for nb, future in futures.items()}


@pytest.mark.parametrize(
    "notebook", toc_notebooks(), ids=lambda path: path.relative_to(REPO / "book").as_posix()
)
def test_notebook_runs_in_a_fresh_binder_environment(notebook_runs, binder_env, notebook: Path):
    env_dir, _ = binder_env
    done = notebook_runs[notebook]
    assert done.returncode == 0, f"{notebook.name} failed in the fresh environment:\n{done.stderr}"
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The kernel is the venv's own Python, and it imports the package from this repository.
    assert Path(seen["prefix"]) == env_dir, seen
    assert Path(seen["package"]).resolve().is_relative_to(REPO), seen
    # A Chinese notebook knows its edition there too, so its figures show Chinese words.
    assert seen["edition"] == ("zh" if notebook.parent.name == "zh" else "en"), seen
