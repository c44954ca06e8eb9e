"""The chapters' sources, read as text: every solution's code runs, one source of truth, no
private names, short visible cells.

These tests read the notebooks in ``book/`` without executing them (the build executes them, see
``test_book.py``). Run ``python tests/test_chapters.py`` for a report: per notebook, the
solutions whose code the build executes, the static code blocks in solutions, the functions
defined in more than one chapter, and the visible code cells longer than 15 lines.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
LONG_CELL = 15  # lines; a visible code cell longer than this belongs in the package or behind a toggle
PART_ONE = ("01_softmax", "02_vector_calculus", "03_softmax_derivative", "04_common_mistakes")
HIDDEN_TAGS = {"hide-input", "remove-input", "remove-cell", "hide-cell"}

# A static code block: a fenced ```python (or py, ipython, ipython3) block, or a {code-cell},
# {code-block} or {code} directive, written with backticks or colons. Neither runs when the book is built.
STATIC_CODE = re.compile(
    r"^\s*(`{3,}|~{3,}|:{3,})\s*(\{code-cell\}|\{code-block\}|\{code\}|python3?\b|py\b|ipython3?\b)",
    re.MULTILINE,
)
SOLUTION_START = re.compile(r"^\s*(`{3,}|:{3,})\{solution-start\}", re.MULTILINE)
SOLUTION_END = re.compile(r"^\s*(`{3,}|:{3,})\{solution-end\}", re.MULTILINE)
SOLUTION_DIRECTIVE = re.compile(r"^(\s*)(`{3,}|:{3,})\{solution\}[^\n]*\n", re.MULTILINE)
DEFINITION = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
# softmax_pkg._x, softmax_pkg.viz._x, and `from softmax_pkg... import ..., _x`.
PRIVATE_ATTRIBUTE = re.compile(r"\bsoftmax_pkg(?:\.[A-Za-z]\w*)*\._\w")
# softmax_pkg.engine has no underscore, but it is the package's internal API (for the package
# itself, its benchmark and the tests): the book reads softmax_pkg.routes instead.
INTERNAL_MODULE = re.compile(r"\bsoftmax_pkg\.engine\b")
COMMENT = re.compile(r"#[^\n]*")
# from softmax_pkg[.module] import names: the module, and the names (across lines only inside
# parentheses).
PRIVATE_IMPORT = re.compile(
    r"^\s*from\s+(softmax_pkg(?:\.\w+)*)\s+import\s+(?:\(([^)]*)\)|([^\n]*))", re.MULTILINE
)


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def solution_directive_bodies(markdown: str) -> list[str]:
    """The bodies of the {solution} directives in a markdown cell (up to the matching fence)."""
    bodies = []
    for match in SOLUTION_DIRECTIVE.finditer(markdown):
        fence = match.group(2)
        closing = re.compile(rf"^\s*{re.escape(fence)}\s*$", re.MULTILINE)
        end = closing.search(markdown, match.end())
        bodies.append(markdown[match.end() : end.start() if end else len(markdown)])
    return bodies


def gated_segments(path: Path) -> list[tuple[int, str, list[str]]]:
    """The gated solutions of ``path``: (cell that opens it, its markdown text, its code cells).

    A solution opens at ``{solution-start}`` and closes at ``{solution-end}``, which may sit
    anywhere in a markdown cell, so one cell can close a solution and open the next one.
    """
    segments = []
    current = None
    for index, cell in enumerate(cells(path)):
        text = source(cell)
        if cell["cell_type"] != "markdown":
            if current is not None:
                current[2].append(text)
            continue
        position = 0
        while True:
            if current is None:
                start = SOLUTION_START.search(text, position)
                if not start:
                    break
                current = (index, [], [])
                position = start.end()
            else:
                end = SOLUTION_END.search(text, position)
                current[1].append(text[position : end.start() if end else len(text)])
                if not end:
                    break
                segments.append((current[0], "".join(current[1]), current[2]))
                current = None
                position = end.end()
    if current is not None:
        segments.append((current[0], "".join(current[1]), current[2]))
    return segments


def static_code_in_solutions(path: Path) -> list[str]:
    """Where a solution of ``path`` holds a static code block: one line per block."""
    found = [
        f"{path.name}: gated solution opened in cell {opened}"
        for opened, markdown, _ in gated_segments(path)
        if STATIC_CODE.search(markdown)
    ]
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] == "markdown":
            for body in solution_directive_bodies(source(cell)):
                if STATIC_CODE.search(body):
                    found.append(f"{path.name}: cell {index}, inside a {{solution}} directive")
    return found


def executed_solutions(path: Path) -> int:
    """How many gated solutions of ``path`` contain a code cell (the build runs it)."""
    return sum(any(code.strip() for code in codes) for _, _, codes in gated_segments(path))


def definitions() -> dict[str, set[str]]:
    """Function name -> the notebooks that define it with ``def name(``."""
    where: dict[str, set[str]] = defaultdict(set)
    for path in notebooks():
        for cell in cells(path):
            if cell["cell_type"] == "code":
                for name in DEFINITION.findall(source(cell)):
                    where[name].add(path.name)
    return where


def private_uses(path: Path) -> list[str]:
    found = []
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] != "code":
            continue
        text = COMMENT.sub("", source(cell))  # (a # inside a string is cut too: harmless here)
        found += [f"{path.name}: cell {index}: {m.group(0)}" for m in PRIVATE_ATTRIBUTE.finditer(text)]
        found += [f"{path.name}: cell {index}: {m.group(0)} (internal)"
                  for m in INTERNAL_MODULE.finditer(text)]
        for match in PRIVATE_IMPORT.finditer(text):
            module, names = match.group(1), match.group(2) or match.group(3)
            names = re.findall(r"\b(\w+)(?:\s+as\s+\w+)?", names)
            found += [f"{path.name}: cell {index}: imports {n}" for n in names
                      if n.startswith("_") or (module == "softmax_pkg" and n == "engine")]
    return found


def visible_code_lines(cell: dict) -> int:
    return len(source(cell).rstrip("\n").splitlines())


def long_visible_cells(path: Path) -> list[str]:
    found = []
    for index, cell in enumerate(cells(path)):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] == "code" and not tags & HIDDEN_TAGS:
            lines = visible_code_lines(cell)
            if lines > LONG_CELL:
                found.append(f"{path.name}: cell {index}, {lines} lines")
    return found


def test_the_book_has_notebooks_and_part_one_is_among_them():
    names = {path.stem for path in notebooks()}
    assert set(PART_ONE) <= names, names


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_no_solution_contains_a_static_code_block(path: Path):
    found = static_code_in_solutions(path)
    assert not found, "static code in solutions never runs; use solution-start/-end:\n" + "\n".join(found)


def test_no_function_is_defined_in_two_chapters():
    repeated = {name: sorted(books) for name, books in definitions().items() if len(books) > 1}
    assert not repeated, f"define it once, in softmax_pkg, and import it: {repeated}"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_no_notebook_touches_a_private_name_of_the_package(path: Path):
    found = private_uses(path)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", PART_ONE)
def test_part_one_has_three_executed_solutions_and_short_visible_cells(name: str):
    path = BOOK / f"{name}.ipynb"
    assert executed_solutions(path) >= 3
    assert not long_visible_cells(path), long_visible_cells(path)


# The detectors themselves, on small made-up notebooks: each must catch what it is for.
def fake_notebook(tmp_path: Path, *cell_specs: tuple[str, str, list[str]]) -> Path:
    path = tmp_path / "fake.ipynb"
    nb = {
        "cells": [
            {"cell_type": kind, "metadata": {"tags": tags}, "source": text, "outputs": []}
            for kind, text, tags in cell_specs
        ]
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_the_detectors_catch_static_code_private_names_and_long_cells(tmp_path: Path):
    path = fake_notebook(
        tmp_path,
        ("markdown", "````{solution} ex-a\n:class: dropdown\n\n```python\nx = 1\n```\n````\n", []),
        ("markdown", "```{solution-start} ex-b\n```\nText.\n```python\ny = 2\n```", []),
        ("markdown", ":::{code-block} python\ny = 3\n:::", []),
        ("code", "from softmax_pkg._softmax import engine\n", []),
        ("markdown", "```{solution-end}\n```", []),
        ("markdown", "```{solution-start} ex-c\n```", []),
        ("code", "1 + 1", []),
        ("markdown", "```{solution-end}\n```\n\n```{exercise}\nAsk.\n```\n\n```{solution-start} ex-e\n```", []),
        ("code", "import softmax_pkg\nsoftmax_pkg._validate.check_int(3, 'n')\n", []),
        ("code", "from softmax_pkg import (softmax,\n    _private_thing)\n", []),
        ("code", "from softmax_pkg import routes, engine\n", []),
        ("markdown", "```{solution-end}\n```", []),
        ("code", "\n".join(f"x{i} = {i}" for i in range(LONG_CELL + 1)), []),
        ("code", "\n".join(f"x{i} = {i}" for i in range(LONG_CELL + 1)), ["hide-input"]),
        ("markdown", "```{solution} ex-d\nOnly words, and `inline code`.\n```\n```python\nz = 3\n```", []),
        ("code", "softmax_pkg.engine.BLOCK\n", []),
        ("code", "from softmax_pkg import (\n    routes,\n    engine,\n)\n", []),
        ("code", "from softmax_pkg import routes  # not the engine; softmax_pkg.engine\n", []),
        ("code", "from softmax_pkg import routes\nengine = routes.plan('softmax', [0.0])\n", []),
    )
    assert len(static_code_in_solutions(path)) == 2  # ex-b's two blocks are one solution
    assert executed_solutions(path) == 3
    assert len(private_uses(path)) == 6
    assert long_visible_cells(path) == [f"fake.ipynb: cell 12, {LONG_CELL + 1} lines"]


def report() -> str:
    lines = []
    totals = defaultdict(int)
    for path in notebooks():
        executed, static = executed_solutions(path), len(static_code_in_solutions(path))
        long_cells = long_visible_cells(path)
        totals["executed"] += executed
        totals["static"] += static
        totals["long"] += len(long_cells)
        lines.append(
            f"{path.name:32s} executed solutions {executed:2d}   static code blocks in solutions "
            f"{static:2d}   visible cells > {LONG_CELL} lines {len(long_cells):2d}"
        )
        lines += [f"    {cell}" for cell in long_cells]
    repeated = {name: sorted(books) for name, books in definitions().items() if len(books) > 1}
    lines.append(f"total: executed {totals['executed']}, static {totals['static']}, long {totals['long']}")
    lines.append(f"functions defined in more than one notebook: {repeated or 'none'}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
