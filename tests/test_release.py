"""Releases: one version number everywhere, the errata path, and the wheel a reader installs.

- ``pyproject.toml`` holds the version; ``CITATION.cff``, the top entry of ``CHANGELOG.md``, the
  installed package's ``__version__`` and the footer of every page of the site must all agree.
- Every page's footer names the commit the site was built from and links a prefilled errata issue
  whose fields exist in ``.github/ISSUE_TEMPLATE/errata.yml`` (checked in ``test_site.py``, which
  visits every page once).
- ``python -m build`` makes an sdist and a wheel; the wheel, installed into a new virtual
  environment with NumPy alone, imports, runs the docstring examples of the core functions, and
  says how to get the ``viz`` extra when ``softmax_pkg.viz`` is imported without it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
import venv
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SETUPTOOLS_IN_CHECKOUT, import_or_need, need, toc_files

ERRATA_FORM = REPO / ".github" / "ISSUE_TEMPLATE" / "errata.yml"
VIZ_HINT = 'pip install "softmax-pkg[viz]"'
# The core functions whose docstring examples must run from the installed wheel.
CORE = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_jacobian",
    "softmax_jvp",
    "softmax_vjp",
    "cross_entropy",
    "cross_entropy_grad",
    "one_hot",
    "numerical_gradient",
]


def project_version() -> str:
    with open(REPO / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def repository_url() -> str:
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def head_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    need(done.returncode == 0, "a git checkout (the footer names the commit)")
    return done.stdout.strip()


# --- one version number ------------------------------------------------------------------------


def test_citation_and_changelog_carry_the_package_version():
    version = project_version()
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(citation["version"]) == version
    assert citation["cff-version"] == "1.2.0" and citation["title"] and citation["authors"]
    assert citation["repository-code"].rstrip("/") == repository_url()
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d\d-\d\d)$", changelog, re.MULTILINE)
    assert releases, "CHANGELOG.md has no '## [x.y.z] - YYYY-MM-DD' entry"
    assert releases[0][0] == version, "the newest CHANGELOG entry is not pyproject's version"
    assert str(citation["date-released"]) == releases[0][1]
    # Newest first, each version once, each with its compare/tag link at the bottom.
    numbers = [tuple(map(int, v.split("."))) for v, _ in releases]
    assert numbers == sorted(set(numbers), reverse=True)
    for v, _ in releases:
        assert re.search(rf"^\[{re.escape(v)}\]: {re.escape(repository_url())}/", changelog, re.M)


# --- the errata path ----------------------------------------------------------------------------


def errata_form_fields() -> dict[str, dict]:
    form = yaml.safe_load(ERRATA_FORM.read_text(encoding="utf-8"))
    return {item["id"]: item for item in form["body"] if "id" in item}


def test_errata_form_asks_for_version_chapter_place_error_and_correction():
    fields = errata_form_fields()
    assert list(fields) == ["version", "chapter", "location", "wrong", "correction"]
    assert all(field["validations"]["required"] for field in fields.values())
    assert "errata" in yaml.safe_load(ERRATA_FORM.read_text(encoding="utf-8"))["labels"]


def test_errata_page_is_in_the_reference_part_of_the_toc():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    reference = [part for part in toc["parts"] if part["caption"] == "Reference"]
    assert reference and "book/errata" in toc_files(reference[0])
    text = (REPO / "book" / "errata.md").read_text(encoding="utf-8")
    assert text.startswith("# Errata and changes\n")
    assert "## Version 0.2.0" in text and "## Version 0.1.0" in text


# --- the wheel ----------------------------------------------------------------------------------

# Runs inside the new environment, where only NumPy and the wheel are installed.
PROBE = textwrap.dedent(
    """
    import importlib.metadata as metadata, json, sys
    import softmax_pkg
    try:
        import softmax_pkg.viz
        viz_error = None
    except ImportError as error:
        viz_error = str(error)
    extra_errors = {}  # each optional part, used without its extra
    for extra, use in [
        ("reference", "import softmax_pkg.reference as m; m.exact('softmax', [0.0])"),
        ("benchmark", "import softmax_pkg.benchmark"),
        ("symbolic", "import softmax_pkg.symbolic as m; m.symbolic_softmax([0])"),
    ]:
        try:
            exec(use)
            extra_errors[extra] = None
        except ImportError as error:
            extra_errors[extra] = str(error)
    # softmax_pkg.formulas has no docstring examples: check from the wheel that each formula
    # agrees with the fast function it specifies.
    import numpy as np
    from softmax_pkg import formulas as f
    a = np.array([[2.0, 0.5, -1.0], [10.0, 20.0, 30.0]])
    y = softmax_pkg.one_hot([0, 2], 3)
    g = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    S, J = softmax_pkg.softmax(a), softmax_pkg.softmax_jacobian(a)
    pairs = {
        "naive_softmax": (f.naive_softmax(a), S),
        "shifted_softmax": (f.shifted_softmax(a), S),
        "online_softmax": (np.stack([f.online_softmax(row) for row in a]), S),  # 1-D only
        "logsumexp": (f.logsumexp(a), softmax_pkg.logsumexp(a)),
        "log_softmax": (f.log_softmax(a), softmax_pkg.log_softmax(a)),
        "softmax_jacobian_loop": (np.stack([f.softmax_jacobian_loop(row) for row in a]), J),
        "softmax_jacobian": (f.softmax_jacobian(a), J),
        "softmax_vjp": (f.softmax_vjp(a, g), softmax_pkg.softmax_vjp(a, g)),
        "cross_entropy": (f.cross_entropy(a, y).mean(), softmax_pkg.cross_entropy(a, y)),
        "cross_entropy_grad": (
            f.cross_entropy_grad(a, y) / len(a), softmax_pkg.cross_entropy_grad(a, y)
        ),
    }
    formulas = {k: bool(np.allclose(x, z, rtol=1e-12, atol=1e-15)) for k, (x, z) in pairs.items()}
    print(json.dumps({
        "formulas": formulas,
        "formulas_all": sorted(f.__all__),
        "version": softmax_pkg.__version__,
        "file": softmax_pkg.__file__,
        "distributions": sorted(d.metadata["Name"].lower() for d in metadata.distributions()),
        "viz_error": viz_error,
        "extra_errors": extra_errors,
        "prefix": sys.prefix,
    }))
    """
)


def pinned(requirements: Path, name: str) -> str:
    """The ``name==version`` line of a requirements file (the versions the project tests with)."""
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if re.match(rf"{re.escape(name)}==", line.strip(), re.IGNORECASE):
            return line.split("#")[0].strip()
    raise AssertionError(f"{requirements.name} pins no {name}")


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict:
    """Build the sdist and the wheel, and install the wheel into a new venv with NumPy alone."""
    import_or_need("build")
    import json

    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    # The sdist first, then the wheel built from the unpacked sdist (what `python -m build` does
    # by default), so a file missing from the sdist breaks the wheel too.
    with SETUPTOOLS_IN_CHECKOUT:  # not while pip installs the checkout into the fresh env
        run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)])
    version = project_version()
    sdists = list(dist.glob(f"softmax_pkg-{version}.tar.gz"))
    wheels = list(dist.glob(f"softmax_pkg-{version}-py3-none-any.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in dist.iterdir())

    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    leaks = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
    env["PYTHONNOUSERSITE"] = "1"
    numpy = pinned(REPO / "requirements.txt", "numpy")
    run([python, "-m", "pip", "install", "-q", "--no-input", numpy, str(wheels[0])], env=env)
    probe = run([python, "-c", PROBE], env=env, cwd=work)  # cwd: not the checkout
    return {
        "python": python,
        "env": env,
        "work": work,
        "wheel": wheels[0],
        "sdist": sdists[0],
        "probe": json.loads(probe.stdout),
    }


@pytest.mark.venv
@pytest.mark.slow
def test_wheel_installs_with_numpy_alone_and_has_the_project_version(wheel_env: dict):
    probe = wheel_env["probe"]
    assert probe["version"] == project_version()
    assert Path(probe["file"]).is_relative_to(probe["prefix"]), "imported from outside the venv"
    assert set(probe["distributions"]) - {"pip", "setuptools"} == {"numpy", "softmax-pkg"}
    import zipfile

    names = set(zipfile.ZipFile(wheel_env["wheel"]).namelist())
    for required in ("softmax_pkg/py.typed", "softmax_pkg/formulas.py", "softmax_pkg/viz/static/viz.js"):
        assert required in names, f"the wheel lacks {required}"
    assert not any(name.startswith(("tests/", "book/")) for name in names)


@pytest.mark.venv
@pytest.mark.slow
def test_wheel_runs_the_docstring_examples_of_the_core_functions(wheel_env: dict):
    python, env, work = wheel_env["python"], wheel_env["env"], wheel_env["work"]
    # The examples use pytest's NUMBER option (floats compared to the digits shown), as the
    # project's own doctest run does, so pytest joins the venv now, after the NumPy-only checks.
    run([python, "-m", "pip", "install", "-q", "--no-input",
         pinned(REPO / "tests" / "requirements.txt", "pytest")], env=env)
    config = work / "pytest.ini"
    config.write_text(
        "[pytest]\ndoctest_optionflags = NORMALIZE_WHITESPACE NUMBER ELLIPSIS\n", encoding="utf-8"
    )
    done = subprocess.run(
        [python, "-m", "pytest", "-c", str(config), "--rootdir", str(work), "-p",
         "no:cacheprovider", "--doctest-modules", "-v", "--pyargs",
         "softmax_pkg._softmax", "softmax_pkg._jacobian", "softmax_pkg._losses",
         "softmax_pkg._gradcheck", "softmax_pkg.formulas"],
        capture_output=True, text=True, timeout=600, env=env, cwd=work,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = set(re.findall(r"::softmax_pkg\.(?:[\w.]+\.)?(\w+) PASSED", done.stdout))
    missing = set(CORE) - passed
    assert not missing, f"no passing doctest for {sorted(missing)}:\n{done.stdout[-3000:]}"
    # softmax_pkg.formulas has no docstring examples yet (any added later run above); the probe
    # run in the venv checked each formula against the fast function it specifies.
    probe = wheel_env["probe"]
    assert set(probe["formulas"]) == set(probe["formulas_all"]), "a formula is not checked"
    wrong = [name for name, agrees in probe["formulas"].items() if not agrees]
    assert not wrong, f"formulas disagree with the package, from the wheel: {wrong}"


@pytest.mark.venv
@pytest.mark.slow
def test_importing_viz_without_the_extra_says_how_to_install_it(wheel_env: dict):
    message = wheel_env["probe"]["viz_error"]
    assert message is not None, "softmax_pkg.viz imported without matplotlib and ipywidgets"
    assert VIZ_HINT in message, f"the ImportError does not say {VIZ_HINT!r}: {message!r}"


@pytest.mark.venv
@pytest.mark.slow
@pytest.mark.parametrize("extra", ["reference", "benchmark", "symbolic"])
def test_each_optional_part_without_its_extra_says_how_to_install_it(wheel_env: dict, extra):
    message = wheel_env["probe"]["extra_errors"][extra]
    assert message is not None, f"softmax_pkg.{extra} worked without its extra"
    hint = f'pip install "softmax-pkg[{extra}]"'
    assert hint in message and f"softmax_pkg.{extra}" in message, message
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    extras = declared["project"]["optional-dependencies"]
    assert extra in extras and any(extra in spec for spec in extras["all"]), extras
