"""The Chinese edition kept in step with the English one (issue 14).

The English pages are the source; ``book/zh/_translations/<page>.yml`` holds the Chinese of each
English unit (a markdown cell, or a section of a Markdown page), keyed by the hash of the English
text it translates; ``book/_ext/softmax_translate.py`` generates ``book/zh/<page>`` from the two.
These tests fail when an English unit changed and its translation was not revisited (naming the
unit), when a committed Chinese page is not what the generator writes now, when the Chinese
notebooks' code differs from the English, and when a figure's words have no Chinese.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
import yaml

from conftest import REPO

sys.path.insert(0, str(REPO / "book" / "_ext"))
import softmax_i18n  # noqa: E402 - book/_ext is not a package
import softmax_translate as translate  # noqa: E402

from softmax_pkg import i18n  # noqa: E402

PAGES = translate.translated_pages()
NOTEBOOKS = [page for page in PAGES if page.endswith(".ipynb")]
FENCED_CODE = re.compile(r"^```(?:python|bash)\n.*?^```", flags=re.MULTILINE | re.DOTALL)
LABEL_LINE = re.compile(r"^:label: .*$", flags=re.MULTILINE)


def test_the_landing_page_and_the_pilot_chapter_are_translated():
    assert {"index.md", "03_softmax_derivative.ipynb", "bibliography.md"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_english_unit_has_a_translation_of_its_current_text(page: str):
    stale = translate.stale_units(page)
    assert not stale, (
        "English text changed or added since it was translated; update its entry in "
        f"{translate.translation_file(page).relative_to(translate.BOOK.parent)} "
        "(python book/_ext/softmax_translate.py stub <page> appends drafts):\n"
        + "\n".join(f"  {unit}" for unit in stale)
    )


@pytest.mark.parametrize("page", PAGES)
def test_no_translation_is_left_over_from_english_text_that_is_gone(page: str):
    assert not translate.orphan_translations(page)


@pytest.mark.parametrize("page", PAGES)
def test_committed_chinese_page_is_what_the_generator_writes(page: str):
    committed = (translate.ZH / page).read_text(encoding="utf-8")
    assert committed == translate.generate(page), (
        f"book/zh/{page} is out of date: run python book/_ext/softmax_translate.py"
    )


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_chinese_notebook_runs_exactly_the_english_code(page: str):
    english = nbformat.read(translate.BOOK / page, as_version=4).cells
    chinese = nbformat.read(translate.ZH / page, as_version=4).cells
    assert [c.cell_type for c in chinese] == [c.cell_type for c in english]
    for index, (en, zh) in enumerate(zip(english, chinese)):
        if en.cell_type == "code":
            assert zh.source == en.source and zh.metadata == en.metadata, f"cell {index}"


@pytest.mark.parametrize("page", PAGES)
def test_code_and_labels_inside_the_text_are_the_english_ones(page: str):
    """Code shown in prose (solutions, commands) and the labels that anchors and links use."""
    english = {u.hash: u.text for u in translate.english_units(page)}
    for en_hash, chinese in translate.translations(page).items():
        assert FENCED_CODE.findall(chinese) == FENCED_CODE.findall(english[en_hash]), en_hash
        assert LABEL_LINE.findall(chinese) == LABEL_LINE.findall(english[en_hash]), en_hash


def _copy_of_the_book(tmp_path, monkeypatch):
    """book/ (the translated pages and the translations) copied, and the generator pointed at it."""
    book = tmp_path / "book"
    shutil.copytree(translate.TRANSLATIONS, book / "zh" / "_translations")
    for page in PAGES:
        shutil.copy(translate.BOOK / page, book / page)
    monkeypatch.setattr(translate, "BOOK", book)
    monkeypatch.setattr(translate, "ZH", book / "zh")
    monkeypatch.setattr(translate, "TRANSLATIONS", book / "zh" / "_translations")
    return book


def test_editing_an_english_paragraph_makes_the_sync_test_fail_and_names_it(
    tmp_path, monkeypatch
):
    book = _copy_of_the_book(tmp_path, monkeypatch)
    page = "03_softmax_derivative.ipynb"
    assert translate.stale_units(page) == []
    nb = nbformat.read(book / page, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## What the Jacobian"))
    nb.cells[index].source = nb.cells[index].source.replace("visibly non-zero", "clearly non-zero")
    nbformat.write(nb, book / page)

    stale = translate.stale_units(page)
    assert [(s.page, s.index, s.first_words) for s in stale] == [
        (page, index, "## What the Jacobian looks like")
    ]
    assert f"{page} cell {index}" in str(stale[0])
    with pytest.raises(AssertionError, match=f"cell {index}.*What the Jacobian"):
        test_every_english_unit_has_a_translation_of_its_current_text(page)
    # The old translation is now an orphan, and the Chinese page shows the new English text
    # under a visible note until someone translates it.
    assert len(translate.orphan_translations(page)) == 1
    generated = nbformat.reads(translate.generate(page), as_version=4)
    assert translate.UNTRANSLATED_NOTE in generated.cells[index].source
    assert "clearly non-zero" in generated.cells[index].source


def test_editing_a_section_of_a_markdown_page_names_that_section(tmp_path, monkeypatch):
    book = _copy_of_the_book(tmp_path, monkeypatch)
    text = (book / "index.md").read_text(encoding="utf-8")
    (book / "index.md").write_text(text.replace("Read it online.", "Read it on the web."))
    stale = translate.stale_units("index.md")
    assert [(s.index, s.first_words) for s in stale] == [(2, "## Three ways to use the book")]
    assert "index.md section 2" in str(stale[0])


def test_a_new_english_cell_is_named_and_stub_drafts_it(tmp_path, monkeypatch):
    book = _copy_of_the_book(tmp_path, monkeypatch)
    page = "03_softmax_derivative.ipynb"
    nb = nbformat.read(book / page, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("A new paragraph about $J$."))
    nbformat.write(nb, book / page)
    assert [s.index for s in translate.stale_units(page)] == [3]
    assert translate.stub(page) == 1
    # A draft is not a translation: the unit stays stale until its `todo` mark is removed.
    assert [s.index for s in translate.stale_units(page)] == [3]
    drafted = translate.translation_file(page).read_text(encoding="utf-8")
    assert drafted.endswith("A new paragraph about $J$.\n")
    translate.translation_file(page).write_text(
        drafted.replace("todo: true", "todo: false").replace(
            "A new paragraph about $J$.", "关于 $J$ 的新段落。"
        ),
        encoding="utf-8",
    )
    assert translate.stale_units(page) == []
    generated = nbformat.reads(translate.generate(page), as_version=4)
    assert generated.cells[3].source == "关于 $J$ 的新段落。"


def test_stub_starts_the_translation_file_of_a_page_not_yet_translated(tmp_path, monkeypatch):
    book = _copy_of_the_book(tmp_path, monkeypatch)
    page = "new_page.md"
    (book / page).write_text("# A new page\n\nIntro.\n\n## Part one\n\nText.\n", encoding="utf-8")
    sections = len(translate.english_units(page))
    assert sections == 2 and translate.stub(page) == sections
    data = yaml.safe_load(translate.translation_file(page).read_text(encoding="utf-8"))
    assert data["page"] == page
    assert [entry["section"] for entry in data["units"]] == list(range(sections))
    assert all(entry["todo"] for entry in data["units"])


def test_markdown_sections_rebuild_the_page_and_ignore_headings_in_code():
    text = "# T\n\nintro\n\n```bash\n# not a heading\n```\n\n## A\n\na\n"
    sections = translate.markdown_sections(text)
    assert "".join(sections) == text
    assert [s.splitlines()[0] for s in sections] == ["# T", "## A"]
    english = (translate.BOOK / "index.md").read_text(encoding="utf-8")
    assert "".join(translate.markdown_sections(english)) == english


# --- figure words: one code cell, the words chosen by the edition ------------------------------

def _label_calls(page: str) -> list[str]:
    nb = nbformat.read(translate.BOOK / page, as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "label":
                assert isinstance(node.args[0], ast.Constant), ast.unparse(node)
                found.append(node.args[0].value)
    return found


def test_every_figure_word_of_a_translated_notebook_has_chinese():
    table = i18n.label_table(translate.ZH)
    used = {text for page in NOTEBOOKS for text in _label_calls(page)}
    assert used, "no translated notebook chooses its figure words with softmax_pkg.i18n.label"
    missing = sorted(used - set(table))
    assert not missing, f"add to book/zh/_translations/<page>.labels.json: {missing}"
    assert all(re.search(r"[\u4e00-\u9fff]", table[text]) for text in used)


def _viz_label_calls() -> dict[str, list[str]]:
    """The English text of every ``label(...)`` or ``i18n.label(...)`` in softmax_pkg/viz, by file.

    The argument must be a literal or a module-level constant holding one (``STATIC_BANNER``):
    anything computed could not be listed, so it fails here.
    """
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "softmax_pkg" / "viz").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            func = node.func if isinstance(node, ast.Call) else None
            if not (
                (isinstance(func, ast.Name) and func.id == "label")
                or (isinstance(func, ast.Attribute) and func.attr == "label"
                    and getattr(func.value, "id", None) == "i18n")
            ):
                continue
            (arg,) = node.args
            if isinstance(arg, ast.Name) and arg.id in constants:
                text = constants[arg.id]
            else:
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                    f"{path.name}: {ast.unparse(node)} (label needs a literal)"
                )
                text = arg.value
            found.setdefault(path.name, []).append(text)
    return found


def test_every_word_of_the_interactive_figures_has_chinese():
    """softmax_pkg.viz draws its words through label(): each has Chinese with the same {fields}."""
    table = i18n.label_table(translate.ZH)
    calls = _viz_label_calls()
    # Every figure module chooses its words, and the shared banner is among them.
    assert {"_figure.py", "_jacobian.py", "_temperature.py", "_loss.py", "_classifier.py",
            "_attention.py"} <= set(calls), sorted(calls)
    used = {text for texts in calls.values() for text in texts}
    assert any("Static version" in text for text in used)
    missing = sorted(used - set(table))
    assert not missing, f"add to book/zh/_translations/viz.labels.json: {missing}"
    field = re.compile(r"\{(\w*)\}")
    for text in used:
        # Chinese characters, or Chinese punctuation for a separator such as ", " -> "，".
        assert re.search(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]", table[text]), (text, table[text])
        # viz.js and str.format fill these; a field renamed in Chinese would stay unfilled.
        assert sorted(field.findall(table[text])) == sorted(field.findall(text)), (text, table[text])


def test_label_is_english_outside_the_chinese_folder(monkeypatch):
    monkeypatch.chdir(translate.BOOK)
    assert i18n.edition() == "en"
    assert i18n.label("value") == "value"


# As a chapter does it: import first, create the figure, then label it. matplotlib fixes a text's
# font when it creates the text, so the font must be set by the import.
CHINESE_FIGURE = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from softmax_pkg.i18n import edition, label
assert edition() == "zh", edition()
fig, ax = plt.subplots()
ax.set_title(label("Eigenvalues of the Jacobian interlace the probabilities ($N = 6$)"))
ax.set_xlabel(label("value"))
ax.plot([0, 1], label=label("probabilities $S_i$"))
ax.legend()
fig.savefig(sys.argv[1])
print(ax.get_title())
"""


def test_a_chinese_figure_is_drawn_without_missing_glyphs(tmp_path):
    """With -W error, matplotlib's "Glyph ... missing from font(s)" (empty boxes) is a failure."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import sys" + CHINESE_FIGURE, str(tmp_path / "f.png")],
        cwd=translate.ZH,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "雅可比矩阵的特征值与概率交错排列（$N = 6$）"
    assert (tmp_path / "f.png").stat().st_size > 0


def test_label_rejects_a_non_string():
    with pytest.raises(TypeError, match="text must be a str"):
        i18n.label(3)


# --- search ----------------------------------------------------------------------------------------

def test_the_glossary_gives_jieba_the_terms_readers_search_for():
    terms = softmax_i18n.glossary_terms()
    for term in ("雅可比矩阵", "雅可比", "交叉熵", "对数和指数", "温度", "标签平滑"):
        assert term in terms
    import jieba  # requirements.txt: Sphinx segments Chinese for the search index only with it

    sentence = "本章推导 softmax 的雅可比矩阵"
    words = list(jieba.cut_for_search(sentence))
    dictionary = REPO / "_build" / "test_jieba_words.txt"
    dictionary.parent.mkdir(exist_ok=True)
    dictionary.write_text("".join(f"{t} 100000\n" for t in terms), encoding="utf-8")
    with dictionary.open("rb") as words_file:
        jieba.load_userdict(words_file)
    assert "雅可比" in list(jieba.cut_for_search(sentence)), words


# --- the one command: a problem in the Chinese build fails the English one -------------------

class _FinishedProcess:
    def __init__(self, returncode: int) -> None:
        self.returncode = returncode

    def wait(self) -> int:
        return self.returncode


def _finish(tmp_path, monkeypatch, log_text: str, returncode: int = 0) -> list[str]:
    output = tmp_path / "zh-output"
    (output / "_build" / "html").mkdir(parents=True)
    (output / "_build" / "html" / "index.html").write_text("<html></html>", encoding="utf-8")
    (output / "build.log").write_text(log_text, encoding="utf-8")
    monkeypatch.setattr(softmax_i18n, "ZH_OUTPUT", output)
    warned: list[str] = []
    monkeypatch.setattr(
        softmax_i18n.logger, "warning", lambda message, *args: warned.append(message % args)
    )

    class App:
        outdir = str(tmp_path / "html")
        softmax_zh_build = (_FinishedProcess(returncode), (output / "unused.log").open("w"))

    softmax_i18n.finish_chinese_build(App(), None)
    return warned


def test_a_warning_of_the_chinese_build_is_repeated_by_the_english_one(tmp_path, monkeypatch):
    log = (
        "reading sources... index\n"
        "[IPKernelApp] WARNING | Kernel is running over TCP\n"
        "ERROR:tornado.general:Uncaught exception in ZMQStream callback\n"  # a kernel shutting down
        "/work/book/zh/index.md:12: WARNING: undefined label: 'eq-x'\n"
        "build finished with problems, 1 warning.\n"
    )
    warned = _finish(tmp_path, monkeypatch, log, returncode=1)
    assert any("index.md:12: WARNING: undefined label" in w for w in warned), warned
    repeated = [w for w in warned if "the build failed" not in w]  # that one quotes the log
    assert not any("IPKernelApp" in w or "tornado" in w for w in repeated), warned
    assert any("the build failed" in w for w in warned)


def test_a_clean_chinese_build_is_copied_into_the_english_site(tmp_path, monkeypatch):
    assert _finish(tmp_path, monkeypatch, "build succeeded.\n") == []
    assert (tmp_path / "html" / "zh" / "index.html").exists()


# --- the words sphinx-proof and sphinx-exercise write themselves ----------------------------------

# English words these extensions write into a page, and sphinx-exercise's own Chinese for
# "Exercise" (练习), which the glossary replaces with 习题: none may show on a Chinese page.
EXTENSION_ENGLISH = re.compile(r"\b(Proof|Theorem|Definition|Proposition|Corollary|Remark|Exercise|"
                               r"Solution)\b|练习")

MINI_CONF = """
import sys
sys.path.insert(0, {ext!r})
extensions = ["myst_parser", "sphinx_proof", "sphinx_exercise", "softmax_i18n"]
language = {language!r}
html_theme = "basic"
"""

MINI_INDEX = """
Title
=====

.. prf:theorem:: Symmetry
   :label: thm-mini

   The Jacobian is symmetric.

.. prf:proof::
   Swap *i* and *j*.

.. prf:definition:: Softmax
   :label: def-mini

   A function.

See :prf:ref:`thm-mini`.

.. exercise:: Try it
   :label: ex-mini

   Show it.

.. solution:: ex-mini

   Done.
"""


def _build_mini_book(tmp_path, language: str) -> str:
    """A one-page Sphinx project with a theorem, a proof, a definition, an exercise and its
    solution, built in its own process (the catalogues are process-wide) with softmax_i18n."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text(
        MINI_CONF.format(ext=str(REPO / "book" / "_ext"), language=language), encoding="utf-8")
    (source / "index.rst").write_text(MINI_INDEX, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(source), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300,
        # One edition only: an English build would otherwise start the whole Chinese book.
        env={**os.environ, "SOFTMAX_BOOK_EDITIONS": "zh" if language.startswith("zh") else "en"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return (tmp_path / "html" / "index.html").read_text(encoding="utf-8")


def _article_text(page_html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_html, "html.parser")
    body = soup.select_one("article") or soup.select_one("div.body") or soup
    for hidden in body.select("script, style, .math, .headerlink"):
        hidden.decompose()
    return body.get_text(" ", strip=True)


def test_the_glossary_fixes_the_words_of_theorems_proofs_exercises_and_solutions():
    """EXTENSION_WORDS says what book/zh/_glossary.md says for theorem, proof, exercise and
    solution."""
    rows = {}
    for line in softmax_i18n.GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2:
            for english, chinese in zip(cells[0].split(", "), cells[1].split("、")):
                rows[english] = chinese
    words = {**softmax_i18n.EXTENSION_WORDS["proof"], **softmax_i18n.EXTENSION_WORDS["exercise"]}
    for english in ("theorem", "proof", "exercise", "solution"):
        assert words[english.title()] == rows[english], english


@pytest.mark.slow
def test_a_chinese_page_shows_the_glossarys_words_for_theorems_proofs_and_exercises(tmp_path):
    text = _article_text(_build_mini_book(tmp_path, "zh_CN"))
    assert not EXTENSION_ENGLISH.search(text), text
    for words in ("定理 1 (Symmetry)", "证明：Swap", "定义 1 (Softmax)", "习题 1 (Try it)",
                  "解答 习题 1", "See 定理 1"):
        assert words in text, (words, text)


@pytest.mark.slow
def test_the_english_words_stay_english_in_an_english_build(tmp_path):
    text = _article_text(_build_mini_book(tmp_path, "en"))
    for words in ("Theorem 1 (Symmetry)", "Proof. Swap", "Exercise 1 (Try it)",
                  "Solution to Exercise 1"):
        assert words in text, (words, text)
    assert not re.search("[\u4e00-\u9fff]", text), text


# --- the language switch: to the twin page, or to the Chinese landing page with a note ----------

class _Config:
    def __init__(self, language: str) -> None:
        self.language = language


class _App:
    def __init__(self, language: str) -> None:
        self.config = _Config(language)


def _twin(language: str, pagename: str) -> dict:
    context: dict = {}
    softmax_i18n.add_language_switch(_App(language), pagename, "page.html", context, None)
    return context["softmax_twin"]


def test_a_page_without_a_chinese_twin_links_the_chinese_landing_page_and_says_so(monkeypatch):
    # Every page is translated today; a new English page is not until its translation exists.
    monkeypatch.setattr(softmax_i18n, "_translated", lambda page: page != "13_new_chapter")
    new = _twin("en", "book/13_new_chapter")
    assert new["href"] == "../zh/index.html" and "尚未译成中文" in new["note"], new
    translated = _twin("en", "book/01_softmax")
    assert translated["href"] == "../zh/01_softmax.html" and not translated["note"], translated


@pytest.mark.parametrize("page", ["search", "genindex", "py-modindex", "prf-prf"])
def test_the_pages_sphinx_writes_link_their_twin_in_the_other_edition(page):
    assert _twin("en", page)["href"] == f"zh/{page}.html"
    assert _twin("zh_CN", page)["href"] == f"../{page}.html"


def test_label_tables_must_map_strings_and_agree(tmp_path):
    folder = tmp_path / "_translations"
    folder.mkdir()
    (folder / "figure_labels.json").write_text('{"loss": "损失"}', encoding="utf-8")
    (folder / "a.labels.json").write_text('{"step": "步"}', encoding="utf-8")
    assert i18n.label_table(tmp_path) == {"loss": "损失", "step": "步"}
    (folder / "b.labels.json").write_text('{"loss": "代价"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"translates \['loss'\] differently"):
        i18n.label_table(tmp_path)
    (folder / "b.labels.json").write_text('["loss"]', encoding="utf-8")
    with pytest.raises(ValueError, match="must map English strings to Chinese strings"):
        i18n.label_table(tmp_path)


def test_label_tables_are_read_only_by_their_names_and_bad_json_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="_translations"):
        i18n.label_table(tmp_path)
    folder = tmp_path / "_translations"
    folder.mkdir()
    (folder / "oldlabels.json").write_text('{"loss": "代价"}', encoding="utf-8")  # not a table
    assert i18n.label_table(tmp_path) == {}
    (folder / "a.labels.json").write_text('{"loss": }', encoding="utf-8")
    with pytest.raises(ValueError, match=r"a\.labels\.json is not valid UTF-8 JSON: Expecting"):
        i18n.label_table(tmp_path)
    (folder / "a.labels.json").write_bytes(b'{"loss": "\xff"}')
    with pytest.raises(ValueError, match=r"a\.labels\.json is not valid UTF-8 JSON"):
        i18n.label_table(tmp_path)
