"""Input clean-up before inference: strip HTML, collapse whitespace, detect language."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_TAG_HINT = re.compile(r"<[a-zA-Z/!][^>]*>")
_WS = re.compile(r"[ \t\f\v]+")
_NL = re.compile(r"\n{3,}")
_WORD = re.compile(r"[a-zà-ÿ']+")
_BLOCK_TAGS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"}

# Frequent function words; a post is assigned the language with the most hits.
_STOPWORDS = {
    "nl": set("de het een en van ik je is dat niet op te in met voor zijn er maar ook als bij mijn heb "
              "wat nog al kan dan naar wel geen jullie hoe waarom moet heeft om deze sinds graag krijg "
              "mij me we ze was werd kunnen wordt hebben bent ben gaat doen nu hier daar".split()),
    "en": set("the and to of a i is it that in my for you on with have this not be are was but can "
              "how why what do does my me we they your from at would should been has get".split()),
    "de": set("der die das und ich nicht ist mit ein eine zu auf für den dem sie wir haben bin habe "
              "kann mein meine aber auch noch wie warum".split()),
    "fr": set("le la les et je est pas un une pour avec sur mon ma mes vous nous que qui dans ce "
              "mais comment pourquoi".split()),
}


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


def detect_language(text: str) -> str:
    """ISO 639-1 code of the most likely language among nl, en, de, fr; 'und' when unclear."""
    words = _WORD.findall(text.lower())
    if not words:
        return "und"
    hits = {lang: sum(w in sw for w in words) for lang, sw in _STOPWORDS.items()}
    best = max(hits, key=lambda k: hits[k])
    if hits[best] == 0:
        return "und"
    ranked = sorted(hits.values(), reverse=True)
    if ranked[0] == ranked[1]:
        return "nl" if hits["nl"] == ranked[0] else "und"
    return best
