"""Sphinx extension: the book's two editions, English (``_build/html/``) and Chinese
(``_build/html/zh/``), built by one command and linked page to page.

1. One command builds both. The English build (``jupyter-book build . -W -n --keep-going``, the
   README's command) starts the Chinese build (``jupyter-book build book/zh``, same flags) in a
   second process when it begins, so the two execute their notebooks at the same time on two
   cores; when the English build finishes, it waits for the Chinese one, copies its site into
   ``_build/html/zh/`` and reports each of its warnings as a warning of its own, so ``-W`` fails
   the command for a problem in either edition. ``SOFTMAX_BOOK_EDITIONS=en`` builds English alone.

2. A language switch on every page (a button in the article header): to the same page in the other
   edition; from an English page not yet translated, to the Chinese landing page, with a note
   saying so. ``<html lang>`` comes from Sphinx's ``language`` ("en", "zh-CN").

3. The Chinese build takes the repository from the root ``_config.yml`` (named once), launches
   Binder on ``book/zh/<page>.ipynb`` (the generated Chinese notebook), and words the landing
   page's Binder link in Chinese.

4. The role ``{book}`text <page#anchor>``` links to a page of the book by its English name: to the
   page in this edition if it exists here, else to the English page, marked "（英文）". A Chinese
   chapter can thus point at chapters that are not translated yet, and the link moves to the
   Chinese page, without an edit, once its translation exists.

5. The words that sphinx-proof and sphinx-exercise write themselves (not our text) follow the
   glossary in the Chinese build: 定理, 证明, 习题, 解答, ... Their titles come from the extensions'
   gettext catalogues ``proof`` and ``exercise``; ``EXTENSION_WORDS`` is put in front of those
   (the extensions' own zh_CN catalogues stay behind it for any word it lacks; sphinx-exercise's
   says 练习 for "Exercise"). sphinx-proof writes "Proof. " into the text of every proof itself,
   untranslated: ``translate_proof_prefix`` replaces it, and its index page gets a Chinese name.
"""

from __future__ import annotations

import gettext
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from sphinx.application import Sphinx
from sphinx import locale
from sphinx.config import Config
from sphinx.util import logging

logger = logging.getLogger(__name__)

EXT = Path(__file__).resolve().parent
REPO = EXT.parents[1]
ZH_SOURCE = REPO / "book" / "zh"
# The Chinese build's own output folder, copied into <English html>/zh/ when both are done.
ZH_OUTPUT = REPO / "_build" / "zh"
# Sphinx writes "WARNING: text" (a space after the colon); a kernel's own logging writes
# "ERROR:tornado.general:..." on shutdown races, which is not a problem of the build (a cell
# that fails makes myst-nb report a Sphinx warning).
PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE): ")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def is_chinese(config: Config) -> bool:
    return (config.language or "en").lower().startswith("zh")


# --- the Chinese build, started and collected by the English one ------------------------------

# Pages Sphinx and its extensions write in every edition: search, index, module index, proofs.
SPHINX_OWN_PAGES = ("search", "genindex", "py-modindex", "prf-prf")


def _editions() -> set[str]:
    return set(os.environ.get("SOFTMAX_BOOK_EDITIONS", "en,zh").split(","))


def start_chinese_build(app: Sphinx) -> None:
    if is_chinese(app.config) or app.builder.name != "html" or "zh" not in _editions():
        return
    shutil.rmtree(ZH_OUTPUT, ignore_errors=True)  # every build reads every Chinese page
    ZH_OUTPUT.mkdir(parents=True)
    flags = [f for f in ("-W", "-n", "--keep-going") if _flag_given(app, f)]
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    argv = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build",
            str(ZH_SOURCE), "--path-output", str(ZH_OUTPUT), *flags]
    log = (ZH_OUTPUT / "build.log").open("w", encoding="utf-8")
    logger.info("softmax_i18n: building the Chinese edition: %s", shlex.join(argv))
    app.softmax_zh_build = (subprocess.Popen(  # type: ignore[attr-defined]
        argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "SOFTMAX_BOOK_EDITIONS": "zh"},
    ), log)


def _flag_given(app: Sphinx, flag: str) -> bool:
    # Sphinx 7 keeps -W with --keep-going as keep_going (warningiserror is then False until the
    # end of the build).
    if flag == "-W":
        return bool(app.warningiserror or getattr(app, "keep_going", False))
    if flag == "-n":
        return bool(app.config.nitpicky)
    return bool(getattr(app, "keep_going", False))


def finish_chinese_build(app: Sphinx, exception: Exception | None) -> None:
    started = getattr(app, "softmax_zh_build", None)
    if started is None:
        return
    process, log = started
    returncode = process.wait()
    log.close()
    text = ANSI.sub("", (ZH_OUTPUT / "build.log").read_text(encoding="utf-8"))
    # A kernel's own log line "[IPKernelApp] WARNING | ..." is not a build warning.
    lines = [line for line in text.splitlines() if "[IPKernelApp]" not in line]
    for line in lines:
        if PROBLEM.search(line):
            logger.warning("[Chinese edition] %s", line)
    built = ZH_OUTPUT / "_build" / "html"
    if returncode != 0 or not (built / "index.html").exists():
        logger.warning("[Chinese edition] the build failed (exit %s); its log: %s\n%s",
                       returncode, ZH_OUTPUT / "build.log", "\n".join(lines[-40:]))
        return
    target = Path(app.outdir) / "zh"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(built, target)
    logger.info("softmax_i18n: the Chinese edition is in %s", target)


# --- the Chinese build's settings, derived from the English ones -------------------------------

def inherit_repository(app: Sphinx, config: Config) -> None:
    """Chinese build: the repository named once in the root _config.yml, Binder on book/zh/."""
    templates, static = str(EXT / "templates"), str(EXT / "static")
    if templates not in config.templates_path:
        config.templates_path.append(templates)
    if static not in config.html_static_path:
        config.html_static_path.append(static)  # softmax_i18n.css
    options = config.html_theme_options
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if "softmax-language-switch.html" not in end:
        options["article_header_end"] = ["softmax-language-switch.html", *end]
    if not is_chinese(config):
        return
    root = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["repository"]
    options["use_repository_button"] = True
    options["repository_url"] = root["url"]
    options["repository_branch"] = root.get("branch") or "main"
    options["path_to_docs"] = ZH_SOURCE.relative_to(REPO).as_posix()


GLOSSARY = ZH_SOURCE / "_glossary.md"
_CJK = re.compile(r"[\u3400-\u9fff]+")
_STEMMED = ("矩阵", "函数", "向量")


def glossary_terms(path: Path = GLOSSARY) -> list[str]:
    """The Chinese terms of the glossary table (its 中文 column), and the stems of X矩阵 etc."""
    terms: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.startswith("|") or cells[1] in ("中文", "---"):
            continue
        for word in _CJK.findall(cells[1]):
            terms.append(word)
            for suffix in _STEMMED:
                if word.endswith(suffix) and len(word) > len(suffix) + 1:
                    terms.append(word.removesuffix(suffix))
    return list(dict.fromkeys(terms))


def chinese_search_dictionary(app: Sphinx, config: Config) -> None:
    """Give jieba the glossary's terms, so that 雅可比矩阵 is indexed as 雅可比矩阵 and 雅可比."""
    if not is_chinese(config):
        return
    words = Path(app.doctreedir).parent / "jieba_glossary.txt"
    words.parent.mkdir(parents=True, exist_ok=True)
    # jieba's user dictionary: "word frequency" per line; a high frequency keeps the term whole.
    words.write_text("".join(f"{t} 100000\n" for t in glossary_terms()), encoding="utf-8")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(words)}


def chinese_binder_link(app: Sphinx, config: Config) -> None:
    """After softmax_book has derived {{ binder_link }}: the same Binder, opened on book/zh."""
    if not is_chinese(config):
        return
    english = config.myst_substitutions.get("binder_link", "")
    url = re.search(r"\((https?://[^)]+)\)", english)
    if url:
        binder = url.group(1).replace("urlpath=lab/tree/book", "urlpath=lab/tree/book/zh", 1)
        config.myst_substitutions = {
            **config.myst_substitutions,
            "binder_link": f"[在 mybinder.org 上用 JupyterLab 打开全书的中文版]({binder})",
        }


# --- sphinx-proof's and sphinx-exercise's own words, in the glossary's Chinese -----------------

# Catalogue -> English message -> Chinese. "Theorem", "Proof", "Exercise", "Solution" are the
# glossary's (book/zh/_glossary.md: 定理、证明, 习题、解答; a test holds them to it); the other
# kinds of statement the book uses are named as Chinese mathematics textbooks name them.
EXTENSION_WORDS = {
    "proof": {
        "Theorem": "定理", "Proof": "证明", "Definition": "定义", "Proposition": "命题",
        "Corollary": "推论", "Lemma": "引理", "Remark": "注记", "Assumption": "假设",
        "Example": "例", "Proof Index": "定理索引",
    },
    "exercise": {"Exercise": "习题", "Solution": "解答", "Solution to": "解答"},
}
# sphinx-proof's ProofDirective prepends this to a proof's first line, in every language.
PROOF_PREFIX = "Proof. "


class _Words(gettext.NullTranslations):
    """A catalogue from a dict, in front of the extension's own (its fallback)."""

    def __init__(self, words: dict[str, str], fallback: gettext.NullTranslations | None):
        super().__init__()
        self.words = words
        if fallback is not None:
            self.add_fallback(fallback)

    def gettext(self, message: str) -> str:
        return self.words.get(message) or super().gettext(message)


def chinese_extension_words(app: Sphinx, config: Config) -> None:
    """Chinese build: the glossary's words in front of sphinx-proof's and sphinx-exercise's
    catalogues. Runs before their own config-inited handlers (sphinx-exercise reads "Exercise"
    into ``numfig_format`` there)."""
    if not is_chinese(config):
        return
    for catalog, words in EXTENSION_WORDS.items():
        key = ("general", catalog)  # where Sphinx's add_message_catalog registers a catalogue
        own = locale.translators.get(key)
        if isinstance(own, _Words):  # already in front (a second build in this process)
            own = own._fallback
        locale.translators[key] = _Words(words, own)
    try:
        from sphinx_proof.domain import ProofDomain, ProofIndex
    except ImportError:
        return

    class ChineseProofIndex(ProofIndex):
        localname = EXTENSION_WORDS["proof"]["Proof Index"]
        shortname = EXTENSION_WORDS["proof"]["Proof"]

        def generate(self, docnames=None):
            content, collapse = super().generate(docnames)
            kinds = EXTENSION_WORDS["proof"]
            return [(letter, [(*entry[:6], kinds.get(entry[6].title(), entry[6]))
                              for entry in entries]) for letter, entries in content], collapse

    class ChineseProofDomain(ProofDomain):
        indices = [ChineseProofIndex]

    app.add_domain(ChineseProofDomain, override=True)


def translate_proof_prefix(app: Sphinx, doctree: nodes.document) -> None:
    """Chinese build: sphinx-proof's hard-coded "Proof. " at the start of a proof -> 证明："""
    if not is_chinese(app.config):
        return
    for proof in doctree.findall(nodes.admonition):
        if "proof" not in proof["classes"]:
            continue
        first = proof.next_node(nodes.Text)
        if first is not None and first.startswith(PROOF_PREFIX):
            chinese = EXTENSION_WORDS["proof"]["Proof"] + "：" + first[len(PROOF_PREFIX):]
            first.parent.replace(first, nodes.Text(chinese))


# --- the language switch ------------------------------------------------------------------------

def _translated(page: str) -> bool:
    return any((ZH_SOURCE / f"{page}{suffix}").exists() for suffix in (".md", ".ipynb"))


def add_language_switch(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Put the link to this page's twin in the other edition into the template context."""
    if is_chinese(app.config):
        # zh pages sit one folder below the English site's root: zh/<page>.html.
        up = "../" * (pagename.count("/") + 1)
        if pagename in SPHINX_OWN_PAGES:
            href = f"{up}{pagename}.html"
        else:
            href = f"{up}book/{pagename}.html"
        context["softmax_twin"] = {
            "href": href, "lang": "en", "label": "English",
            "title": "Read this page in English", "note": "",
        }
        return
    up = "../" * pagename.count("/")
    if pagename.startswith("book/"):
        page = pagename.removeprefix("book/")
        translated = _translated(page)
        href = f"{up}zh/{page if translated else 'index'}.html"
    elif pagename in SPHINX_OWN_PAGES:  # both editions have their own
        translated, href = True, f"{up}zh/{pagename}.html"
    else:
        translated, href = False, f"{up}zh/index.html"
    context["softmax_twin"] = {
        "href": href, "lang": "zh-CN", "label": "中文",
        "title": "本页的中文版" if translated else "本页尚未译成中文：前往中文版首页",
        "note": "" if translated else "（本页尚未译成中文）",
    }


# --- {book}`text <page#anchor>` ------------------------------------------------------------------

_TARGET = re.compile(r"^(?P<text>.+?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


def book_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """A link to a page of the book: in this edition if the page exists here, else in English."""
    match = _TARGET.match(text)
    if not match:
        message = inliner.reporter.error(
            f"{{book}} needs `text <page#anchor>`, got {text!r}", line=lineno
        )
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    page, _, anchor = match.group("target").partition("#")
    env = inliner.document.settings.env
    here = env.docname
    chinese = is_chinese(env.config)
    local = page if chinese else f"book/{page}"
    fragment = f"#{anchor}" if anchor else ""
    if local in env.found_docs:
        up = "../" * here.count("/")
        href = f"{up}{local}.html{fragment}"
        label = match.group("text")
    else:
        up = "../" * (here.count("/") + 1)
        href = f"{up}book/{page}.html{fragment}"
        label = match.group("text") + ("（英文）" if chinese else "")
    if page not in {d.removeprefix("book/") for d in env.found_docs} and not (
        REPO / "book" / f"{page}.ipynb"
    ).exists() and not (REPO / "book" / f"{page}.md").exists():
        message = inliner.reporter.warning(f"{{book}}: no page book/{page}", line=lineno)
        return [nodes.reference(rawtext, label, refuri=href)], [message]
    return [nodes.reference(rawtext, label, refuri=href, classes=["softmax-book-link"])], []


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", inherit_repository, priority=400)   # before softmax_book
    app.connect("config-inited", chinese_binder_link, priority=600)  # after softmax_book
    app.connect("config-inited", chinese_search_dictionary)
    app.connect("config-inited", chinese_extension_words, priority=300)  # before sphinx-exercise's
    app.connect("doctree-read", translate_proof_prefix)
    app.connect("builder-inited", start_chinese_build)
    app.connect("build-finished", finish_chinese_build)
    app.connect("html-page-context", add_language_switch)
    app.add_role("book", book_role)
    app.add_css_file("softmax_i18n.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
