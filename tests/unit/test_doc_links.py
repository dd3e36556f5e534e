"""Acceptance (issue 15, point 13): the README and docs/ name no path outside the repository
(a clone has no ../shared). Every relative link resolves to a file or folder the repository
holds, and its #anchor to a heading there; no link is an absolute path; no path they mention
climbs out of the repository."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(path for path in ROOT.rglob("*.md")
                   if not any(part.startswith(".") or part == "node_modules" for part in path.relative_to(ROOT).parts))
PARENT_PATH = re.compile(r"(?<![\w./])(?:\./)?(?:\.\./)+[\w./-]*")  # ../x, ../../x/y: a path that climbs


def links(text: str) -> list[str]:
    """Every link and image target, as markdown reads them (not what only looks like one)."""
    inline = [child for token in MarkdownIt().parse(text) for child in token.children or []]
    return [str(token.attrGet("href" if token.type == "link_open" else "src")) for token in inline
            if token.type in ("link_open", "image")]


def anchors(text: str) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces to hyphens,
    -1, -2… after repeats."""
    tokens, seen, made = MarkdownIt().parse(text), Counter(), set()
    for heading, inline in pairwise(tokens):
        if heading.type == "heading_open":
            slug = re.sub(r"[^\w\- ]", "", inline.content.strip().lower()).replace(" ", "-")
            made.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
            seen[slug] += 1
    return made


def problems(document: Path, text: str) -> list[str]:
    """What is wrong with the links and paths of `text`, the document at `document`."""
    found = []
    for target in links(text):
        url = urlsplit(target)
        if url.scheme in ("http", "https", "mailto"):
            continue  # on the web, not a path
        if url.scheme or url.netloc or url.path.startswith("/"):
            found.append(f"{target}: not a path relative to the document")
            continue
        path = (document.parent / unquote(url.path)).resolve() if url.path else document
        if not path.is_relative_to(ROOT):
            found.append(f"{target}: outside the repository")
        elif not path.exists():
            found.append(f"{target}: no such file in the repository")
        elif url.fragment and path.suffix == ".md" and url.fragment not in anchors(path.read_text()):
            found.append(f"{target}: no heading #{url.fragment} in {path.relative_to(ROOT)}")
    for mention in PARENT_PATH.findall(text):
        if not (document.parent / mention).resolve().is_relative_to(ROOT):
            found.append(f"{mention}: a path outside the repository")
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_documents_link_only_inside_the_repository(document):
    found = problems(document, document.read_text())
    assert not found, found


def test_the_checks_cover_readme_and_docs_and_catch_what_leaves():
    names = {str(path.relative_to(ROOT)) for path in DOCUMENTS}
    assert {"README.md", "docs/architecture.md", "docs/changing-workflows.md"} <= names
    assert len(links((ROOT / "README.md").read_text())) > 3  # the premise: it does have links
    text = ("[design](../../shared/DESIGN.md) [abs](/etc/passwd) [gone](missing.md) "
            "[anchor](architecture.md#no-such-heading) [fine](architecture.md#layers) see `../../shared/x.md`\n")
    found = problems(ROOT / "docs" / "example.md", text)
    assert [problem.split(": ")[0] for problem in found] == [
        "../../shared/DESIGN.md", "/etc/passwd", "missing.md", "architecture.md#no-such-heading",
        "../../shared/DESIGN.md", "../../shared/x.md"], found
