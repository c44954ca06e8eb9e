"""The book as its source and its build: the README command builds it with zero warnings, every
notebook is committed clean and listed in the table of contents, and CI runs the README's tests.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import REPO, BookBuild, import_or_need, readme_commands, toc_sources, zh_toc_sources

BOOK = REPO / "book"
ZH = BOOK / "zh"  # the Chinese edition, generated from the English pages (tests/test_i18n.py)

# Sphinx and docutils report problems as "path:line: WARNING: ..." (or ERROR, CRITICAL, SEVERE).
# A kernel's own log lines, "[IPKernelApp] WARNING | ..." or "ERROR:tornado.general:..." on a
# shutdown race, are not build warnings (a failing cell makes myst-nb warn in Sphinx's format).
SPHINX_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE): ")


def load_yaml(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text(encoding="utf-8"))


def book_notebooks(folder: Path = BOOK) -> list[Path]:
    """The notebooks of one edition: book/ without book/zh/, or book/zh/."""
    return sorted(
        path
        for path in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts and (folder == ZH or ZH not in path.parents)
    )


@pytest.mark.slow
def test_book_builds_with_the_readme_command_and_zero_warnings(book_build: BookBuild):
    problems = [line for line in book_build.log.splitlines() if SPHINX_PROBLEM.search(line)]
    assert book_build.returncode == 0, f"`{book_build.command}` failed:\n{book_build.log[-5000:]}"
    assert not problems, "the build reported:\n" + "\n".join(problems)
    assert "build succeeded." in book_build.log, book_build.log[-2000:]
    assert (book_build.html_dir / "book" / "index.html").exists()
    # The same command builds the Chinese edition beside the English one.
    assert (book_build.html_dir / "zh" / "index.html").exists(), "no Chinese edition was built"
    assert "[Chinese edition]" not in book_build.log


def test_every_toc_entry_exists_and_lists_only_book_pages():
    toc = load_yaml("_toc.yml")
    assert toc["format"] == "jb-book"
    assert toc["root"] == "book/index"
    for source in toc_sources():
        assert source.parent == BOOK, f"{source} is outside book/"


def test_every_notebook_in_the_book_folder_is_in_the_toc():
    listed = set(toc_sources())
    missing = [str(path.relative_to(REPO)) for path in book_notebooks() if path not in listed]
    assert book_notebooks(), "book/ has no notebook"
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


def test_every_chinese_page_is_in_the_chinese_toc_and_has_an_english_original():
    toc = yaml.safe_load((ZH / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["format"] == "jb-book" and toc["root"] == "index"
    listed = set(zh_toc_sources())
    missing = [str(path.relative_to(REPO)) for path in book_notebooks(ZH) if path not in listed]
    assert book_notebooks(ZH), "book/zh/ has no notebook"
    assert not missing, f"notebooks missing from book/zh/_toc.yml: {missing}"
    for source in listed:
        assert source.parent == ZH and (BOOK / source.name).exists(), source


@pytest.mark.slow
def test_only_the_pages_in_the_toc_are_built(book_build: BookBuild):
    """README.md, tests/, the package sources and the like never become pages of the book."""
    assert book_build.returncode == 0, "the book did not build"
    expected = {
        source.relative_to(REPO).with_suffix(".html").as_posix() for source in toc_sources()
    }
    # Sphinx's own pages, and the root page that forwards to book/index.html.
    expected |= {"index.html", "genindex.html", "search.html", "py-modindex.html", "prf-prf.html"}
    # The Chinese edition under zh/: its pages, and Sphinx's own.
    expected |= {
        "zh/" + source.relative_to(ZH).with_suffix(".html").as_posix() for source in zh_toc_sources()
    }
    expected |= {"zh/genindex.html", "zh/search.html", "zh/prf-prf.html", "zh/py-modindex.html"}
    built = {
        path.relative_to(book_build.html_dir).as_posix()
        for path in book_build.html_dir.rglob("*.html")
        if not {"_static", "_sources"} & set(path.relative_to(book_build.html_dir).parts[:2])
    }
    assert built <= expected, f"unexpected pages: {sorted(built - expected)}"
    optional = {"py-modindex.html", "prf-prf.html", "zh/prf-prf.html", "zh/py-modindex.html"}
    assert expected - built <= optional, sorted(expected - built)


@pytest.mark.parametrize(
    "notebook", book_notebooks() + book_notebooks(ZH), ids=lambda p: p.relative_to(BOOK).as_posix()
)
def test_notebook_is_committed_without_outputs(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"clear the outputs of cells {dirty} (Kernel > Restart and Clear Outputs)"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert nb.cells and nb.cells[0].cell_type == "markdown", "a chapter opens with a markdown cell"
    assert nb.cells[0].source.startswith("# "), "the first cell starts with the chapter title"


def test_notebooks_are_executed_at_every_build_and_a_cell_error_fails_it():
    execute = load_yaml("_config.yml")["execute"]
    assert execute["execute_notebooks"] == "force"
    assert execute["allow_errors"] is False
    assert execute["raise_on_error"] is True


def test_readme_starts_with_the_book_command_and_the_test_command():
    book_command, test_command = readme_commands()
    assert (
        book_command == "pip install -r requirements.txt && jupyter-book build . -W -n --keep-going"
    )
    assert test_command.startswith("pip install -r requirements.txt -r tests/requirements.txt && ")
    assert test_command.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    """Run .ci/run's own line that reads the test command from the README, and compare."""
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    reader = re.search(r"^test_command=\$\(.*\)$", script, flags=re.MULTILINE)
    assert reader, ".ci/run no longer reads its test command from the README"
    assert re.search(r'^eval "\$test_command"$', script, flags=re.MULTILINE)
    done = subprocess.run(
        ["bash", "-c", f'{reader.group(0)}\nprintf "%s" "$test_command"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == readme_commands()[1]


@pytest.mark.parametrize("landing", [BOOK / "index.md", ZH / "index.md"], ids=["en", "zh"])
def test_landing_page_gives_the_readme_commands_verbatim(landing: Path):
    text = landing.read_text(encoding="utf-8")
    for command in readme_commands():
        assert command in text


def test_landing_page_usage_example_runs():
    landing = (BOOK / "index.md").read_text(encoding="utf-8")
    examples = re.findall(r"^```python\n(.*?)^```", landing, flags=re.MULTILINE | re.DOTALL)
    example = next(code for code in examples if "from softmax_pkg import" in code)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "book/index.md", "exec"), {})
    assert printed.getvalue().strip()


@pytest.mark.slow
def test_launch_and_repository_links_point_at_the_notebook_in_the_repository(
    book_build: BookBuild,
):
    """The links come from `repository` in _config.yml and must name the notebook's real path."""
    config = load_yaml("_config.yml")
    url = config["repository"]["url"].rstrip("/")
    branch = config["repository"]["branch"]
    owner_repo = url.removeprefix("https://github.com/")
    assert book_build.returncode == 0, "the book did not build"
    for source in toc_sources():
        if source.suffix != ".ipynb":
            continue
        relative = source.relative_to(REPO).as_posix()
        page = (book_build.html_dir / relative).with_suffix(".html").read_text(encoding="utf-8")
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{relative}"
        assert f'href="{binder}"' in page, f"no Binder link to {relative} on its page"
        assert f'href="{url}"' in page, f"no repository link on the page of {relative}"
        download = re.search(r'href="([^"]*_sources/[^"]*\.ipynb)"', page)
        assert download, f"no .ipynb download link on the page of {relative}"
    # A Chinese page launches the Chinese notebook, book/zh/<page>.ipynb.
    for source in zh_toc_sources():
        if source.suffix != ".ipynb":
            continue
        relative = source.relative_to(REPO).as_posix()
        html = book_build.html_dir / "zh" / source.relative_to(ZH).with_suffix(".html")
        page = html.read_text(encoding="utf-8")
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{relative}"
        assert f'href="{binder}"' in page, f"no Binder link to {relative} on its page"
        assert f'href="{url}"' in page, f"no repository link on the page of {relative}"


@pytest.mark.slow
def test_api_page_documents_every_public_name_once(book_build: BookBuild):
    softmax_pkg = import_or_need("softmax_pkg")
    assert book_build.returncode == 0, "the book did not build"
    page = (book_build.html_dir / "book" / "api.html").read_text(encoding="utf-8")
    counts = {name: page.count(f'id="softmax_pkg.{name}"') for name in softmax_pkg.__all__}
    assert counts and all(count == 1 for count in counts.values()), counts
