"""Input clean-up before inference: strip HTML, collapse whitespace, detect language."""

from __future__ import annotations

import html
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

_TAG_HINT = re.compile(r"<[a-zA-Z/!][^>]*>")
_WS = re.compile(r"[ \t\f\v]+")
_NL = re.compile(r"\n{3,}")
_BLOCK_TAGS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"}

# Language detection: py3langid (naive Bayes over byte n-grams), restricted to the languages
# customers of a Dutch operator write in. Measured against lingua, fastText and the former
# stopword counter by `python -m eval.langid`; see eval/langid_candidates.py.
LANGUAGES = ("nl", "en", "de", "fr", "pl", "tr", "es", "it", "pt", "ar")
# Dutch wins unless another language is more than this much more probable: Dutch posts are full
# of English product words ("SIM not supported", "reset button"). Chosen on the titles and
# bodies of training/data/posts.jsonl, reported on tests/data/langid.jsonl.
DUTCH_MARGIN = 0.4
# The language of a post is clear long before this; the detector's cost grows with length.
LANGID_MAX_CHARS = 1000
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters in a row

_identifier: LanguageIdentifier | None = None
_table_root: Path | None = None
_identifier_lock = threading.Lock()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(text: str) -> str:
    if not _TAG_HINT.search(text):
        return html.unescape(text) if "&" in text else text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def clean_text(text: str) -> str:
    text = strip_html(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _WS.sub(" ", text)
    return _NL.sub("\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()


def use_table_cache(root: Path | None) -> None:
    """Keep the detector's tables under `root` (models/langid_tables.py): the first start writes them,
    later starts map them (0.6 s CPU and ~42 MB of private memory less per start: +50 -> +8 MB). None: build in memory.
    Call before the detector's first use; it has no effect once the detector is built."""
    global _table_root
    _table_root = root


def language_identifier() -> LanguageIdentifier:
    """The py3langid identifier over LANGUAGES, built once on first use: from the mapped tables under
    the root given to `use_table_cache`, else in memory (about 0.6 s CPU and 50 MB)."""
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from models import langid_tables

                _identifier = (langid_tables.build(LANGUAGES) if _table_root is None
                               else langid_tables.cached(LANGUAGES, _table_root))
    return _identifier


def detect_language(text: str) -> str:
    """ISO 639-1 code of the most likely language among LANGUAGES, preferring Dutch when it is
    close; 'und' for text without a word of two or more letters."""
    if not _LETTER_WORD.search(text):
        return "und"
    ranked = language_identifier().rank(text[:LANGID_MAX_CHARS])
    best, p_best = ranked[0]
    p_nl = next(p for lang, p in ranked if lang == "nl")
    return "nl" if p_best - p_nl <= DUTCH_MARGIN else best


def post_text(title: str, body: str) -> str:
    """What the model reads of a post: cleaned title and body on separate lines."""
    title, body = clean_text(title or ""), clean_text(body)
    return f"{title}\n{body}" if title else body
