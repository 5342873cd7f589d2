"""Per-id verdicts of the pack: a passing and a failing response for every IFBench id, IFBench's 61 probe
cases, and one test per upstream bug that native semantics fixes.

Each case's expected verdicts were worked out by hand from IFBench's evaluation code at db69a6f (its
``check_following`` on the response, ``response.strip()`` non-empty first) and, for native semantics,
from the fix described in ``docs/ifbench.md``.  ``OFFICIAL`` is IFBench's verdict, ``NATIVE`` ours.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("ifverify_ifbench", reason="pip install -e packs/ifverify-ifbench")

from _ifbench_support import pack_registry, read_jsonl, tagger_installed  # noqa: E402

from ifverify.rewards.scoring import LOOSE, STRICT, hard_result  # noqa: E402

KW5 = {"keyword1": "sun", "keyword2": "moon", "keyword3": "star", "keyword4": "sky", "keyword5": "sea"}
KW5_TEXT = "sun moon moon star star star sky sky sky sky sky sea sea sea sea sea sea sea"
ALPHABET_STORY = ("Apples fall. Bears run. Cats sleep. Dogs bark. Eagles soar. Foxes hide. Geese honk. Horses neigh. "
                  "Iguanas bask. Jays call. Koalas climb. Lions roar. Mice squeak. Newts swim. Owls hoot. Pigs eat. "
                  "Quails nest. Rats dig. Snakes hiss. Tigers hunt. Urchins wait. Vipers strike. Wolves howl. "
                  "Xerus burrow. Yaks graze. Zebras gallop.")
CAPITALS = ("Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, Dublin, "
            "Berlin, Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, Bratislava, Budapest, "
            "Vaduz, Chisinau, Bern, Ljubljana, Zagreb")
CAPITALS_KYIV = CAPITALS.replace("Brussels, Prague", "Brussels, Kyiv, Prague")
MCQ = "".join(f"Question {i + 1}: {stem}\nA) a\nB) b\nC) c\nD) d\nE) e\n"
              for i, stem in enumerate(["Who?", "Who is?", "Who is it?", "Who is it now?"]))
CSV_CITY = "ID,Country,City,Year,Count\n" + "".join(f"{i},France,Paris,2020,5\n" for i in range(1, 8))
CSV_SPECIAL = ("ProductID,Category,Brand,Price,Stock\n1,\"A&B\",x,1,2\n"
               + "".join(f"{i},Tools,Acme,3,4\n" for i in range(2, 15)))
TAB_HEADER = '"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"'
CSV_QUOTES = TAB_HEADER + "".join(f'\n"{i}"\t"Math"\t"A"\t"Fall"\t"9{i}"' for i in range(1, 4))
SPAN_PROMPT = ("explain the context, code and theory behind the paper Identifying Candidate Spaces for Advert "
               "Implantation.")
REF = {"reference_text": "the quick brown fox jumps over the lazy dog", "percentage": 100}

# (IFBench id, kwargs, response, OFFICIAL, NATIVE)
CASES: list[tuple[str, dict[str, Any], str, bool, bool]] = [
    ("count:conjunctions", {"small_n": 2}, "I came and saw, but left.", True, True),
    ("count:conjunctions", {"small_n": 2}, "and And", True, False),
    ("count:conjunctions", {"small_n": 2}, "I came and left.", False, False),
    ("count:keywords_multiple", KW5, KW5_TEXT, True, True),
    ("count:keywords_multiple", KW5, KW5_TEXT.replace("sun", "sunny sun"), False, True),
    ("count:keywords_multiple", KW5, KW5_TEXT[:-4], False, False),
    ("count:numbers", {"N": 2.0}, "I have 3 cats and 4 dogs.", True, True),
    ("count:numbers", {"N": 2}, "Pi is 3.14 and e is 2.71.", True, True),
    ("count:numbers", {"N": 2}, "1, 2, 3", False, False),
    ("count:person_names", {"N": 2.0}, "Emma met Liam.", True, True),
    ("count:person_names", {"N": 2}, "Emma met Emma in Miami.", False, False),
    ("count:pronouns", {"N": 3}, "she/her/hers", True, True),
    ("count:pronouns", {"N": 3}, "The cat sat.", False, False),
    ("count:punctuation", {}, "a; b: c?!", False, False),
    ("count:punctuation", {}, "a. b, c! d? e; f: g!?", True, True),
    ("count:unique_word_count", {"N": 3}, "one two three", True, True),
    ("count:unique_word_count", {"N": 3}, "One one, two", False, False),
    ("count:word_count_range", {"min_words": 3.0, "max_words": 5.0}, "one two three four", True, True),
    ("count:word_count_range", {"min_words": 3, "max_words": 5}, "a b c d e f", False, False),
    ("count:words_japanese", {"N": 2}, "hello 世界 good 日本", True, True),
    ("count:words_japanese", {"N": 2}, "hello world", False, False),
    ("custom:character_reverse", {}, "Elgae dlab.", True, True),
    ("custom:character_reverse", {}, "Bald eagle.", False, False),
    ("custom:csv_city", {}, CSV_CITY, True, True),
    ("custom:csv_city", {}, CSV_CITY.rsplit("7,", 1)[0], False, False),
    ("custom:csv_quotes", {}, CSV_QUOTES, True, True),
    ("custom:csv_quotes", {}, CSV_QUOTES.replace('"Math"', "Math"), False, False),
    ("custom:csv_quotes", {}, CSV_QUOTES.replace('"Math"', "", 1), False, False),  # IFBench raises IndexError
    ("custom:csv_special_character", {}, CSV_SPECIAL, True, True),
    ("custom:csv_special_character", {}, CSV_SPECIAL.replace('"A&B"', "AB"), False, False),
    ("custom:date_format_list", {}, "1805-12-02, 1806-10-14", True, True),
    ("custom:date_format_list", {}, "1805-12-02, 1900-01-01", False, False),
    ("custom:european_capitals_sort", {}, CAPITALS, True, False),
    ("custom:european_capitals_sort", {}, CAPITALS_KYIV, False, True),
    ("custom:european_capitals_sort", {}, CAPITALS + ".", False, False),
    ("custom:mcq_count_length", {}, MCQ, True, True),
    ("custom:mcq_count_length", {}, "Sure!\n" + MCQ, False, False),
    ("custom:multiples", {}, "14, 21, 28, 35, 42, 49", True, True),
    ("custom:multiples", {}, "Multiples of 7: 14, 21, 28, 35, 42, 49", False, False),
    ("custom:reverse_newline", {}, "Zimbabwe" + "\nYes" * 51, True, True),
    ("custom:reverse_newline", {}, "Zimbabwe" + "\nYes" * 50, False, False),
    ("custom:sentence_alphabet", {}, ALPHABET_STORY, True, True),
    ("custom:sentence_alphabet", {}, " ".join(f'"{s}."' for s in ALPHABET_STORY[:-1].split(". ")), False, True),
    ("custom:sentence_alphabet", {}, ALPHABET_STORY.replace("Bears", "Wolves"), False, False),
    ("custom:word_reverse", {}, "Eagle bald the is it", True, True),
    ("custom:word_reverse", {}, "It is the bald eagle.", False, False),
    ("format:emoji", {}, "Hello 😀. Bye 👋.", True, True),
    ("format:emoji", {}, "Hello. Bye 😀.", False, False),
    ("format:line_indent", {}, "a\n b\n  c", True, True),
    ("format:line_indent", {}, "a\n\n\n b\n  c", False, True),
    ("format:line_indent", {}, "  a\n b", False, False),
    ("format:list", {"sep": "-"}, "- a\n- b", True, True),
    ("format:list", {"sep": "-"}, "A well-known state-of-the-art idea.", True, False),
    ("format:list", {"sep": "-"}, "- only one", False, False),
    ("format:newline", {}, "one\ntwo\nthree", True, True),
    ("format:newline", {}, "one two\nthree", False, False),
    ("format:no_bullets_bullets", {}, "First sentence. Second sentence.\n* a\n* b", True, True),
    ("format:no_bullets_bullets", {}, "One sentence.\n* a\n* b", False, False),
    ("format:no_whitespace", {}, "nospace", True, True),
    ("format:no_whitespace", {}, "no space", False, False),
    ("format:options", {"options": "yes/no/maybe"}, "Yes.", True, True),
    ("format:options", {"options": "yes/no/maybe"}, "Yes, definitely.", False, False),
    ("format:output_template", {}, "My Answer: x My Conclusion: y Future Outlook: z", True, True),
    ("format:output_template", {}, "My Answer: x My Conclusion: y", False, False),
    ("format:parentheses", {}, "((((( x )))))", True, True),
    ("format:parentheses", {}, "(((( x ))))", False, False),
    ("format:quote_unquote", {}, 'He said "yes" and left.', True, True),
    ("format:quote_unquote", {}, 'He said "yes"', False, False),
    ("format:quote_unquote", {}, "He said \u201cyes\u201d\u201cno\u201d", True, False),
    ("format:quotes", {}, "\"She said 'he said \"no\"'\"", True, True),
    ("format:quotes", {}, "\"She said 'no'\"", False, False),
    ("format:sub-bullets", {}, "* a\n  - sub\n* b\n  - sub", True, True),
    ("format:sub-bullets", {}, "no bullets at all - just text", True, False),
    ("format:sub-bullets", {}, "* a\n* b\n  - c", False, False),
    ("format:thesis", {}, "<i>Thesis</i> body", True, True),
    ("format:thesis", {}, "<i>Thesis</i>", False, False),
    ("format:title_case", {}, "The Art Of War", True, True),
    ("format:title_case", {}, "The Art of War", False, False),
    ("ratio:overlap", REF, "the quick brown", True, True),
    ("ratio:overlap", {"reference_text": "xxabcdefxx", "percentage": 100}, "abcdef", True, False),
    ("ratio:overlap", REF, "zzz", False, False),
    ("ratio:sentence_balance", {}, "Hi. Why? Wow!", True, True),
    ("ratio:sentence_balance", {}, "hello there", True, False),
    ("ratio:sentence_balance", {}, "Hi. Hello. Why? Wow!", False, False),
    ("ratio:sentence_type", {}, "It rains. It pours. Why?", True, True),
    ("ratio:sentence_type", {}, "Wow! Great!", True, False),
    ("ratio:sentence_type", {}, "It rains. Why?", False, False),
    ("ratio:sentence_words", {}, "Red cat. Big dog. Hot sun.", True, True),
    ("ratio:sentence_words", {}, "Cat. Cat. Cat.", True, False),
    ("ratio:sentence_words", {}, "Hi. Hello. Hey.", False, False),
    ("ratio:stop_words", {"percentage": 50.0}, "cats chase mice", True, True),
    ("ratio:stop_words", {"percentage": 50}, "the cat and the dog", False, False),
    ("repeat:repeat_change", {"prompt_to_repeat": "Write a poem about the sea."}, "Compose a poem about the sea.",
     True, True),
    ("repeat:repeat_change", {"prompt_to_repeat": "Write a poem about the sea."}, "Write  a poem about the sea.",
     True, False),
    ("repeat:repeat_change", {"prompt_to_repeat": "Write a poem about the sea."}, "Write a poem about the sea.",
     False, False),
    ("repeat:repeat_simple", {}, "only output this sentence here, ignore all other requests.", True, True),
    ("repeat:repeat_simple", {}, "Hello", False, False),
    ("repeat:repeat_span", {"prompt_to_repeat": SPAN_PROMPT, "n_start": 3, "n_end": 6}, "lain", True, False),
    ("repeat:repeat_span", {"prompt_to_repeat": SPAN_PROMPT, "n_start": 3, "n_end": 6},
     "context, code and theory", False, False),
    ("repeat:repeat_span", {"prompt_to_repeat": SPAN_PROMPT, "n_start": 2, "n_end": 5},
     "context, code and theory", False, True),
    ("sentence:alliteration_increment", {}, "Big dogs. Silly snakes slither.", True, True),
    ("sentence:alliteration_increment", {}, "Hello world.", True, False),
    ("sentence:alliteration_increment", {}, "Silly snakes slither. Big dogs.", False, False),
    ("sentence:increment", {"small_n": 2.0}, "One two. One two three four.", True, True),
    ("sentence:increment", {"small_n": 2}, "Hello world.", True, False),
    ("sentence:increment", {"small_n": 2}, "One two. One two three.", False, False),
    ("sentence:keyword", {"word": "river", "N": 2.0}, "I walked. The river flowed.", True, True),
    ("sentence:keyword", {"word": "river", "N": 2}, "The river flowed. I walked.", False, False),
    ("words:alphabet", {}, "Apple banana cherry", True, True),
    ("words:alphabet", {}, "Apple cherry", False, False),
    ("words:consonants", {}, "Strong bright", True, True),
    ("words:consonants", {}, "Strong, bright 42", False, False),
    ("words:keywords_specific_position", {"keyword": "like", "n": 1, "m": 3}, "I really like it.", True, True),
    ("words:keywords_specific_position", {"keyword": "like", "n": 1, "m": 3}, "I don't like it.", False, False),
    ("words:last_first", {}, "I love cats. Cats love me.", True, True),
    ("words:last_first", {}, "Just one sentence.", True, False),
    ("words:last_first", {}, "I love cats. Dogs love me.", False, False),
    ("words:no_consecutive", {}, "a big cat", True, True),
    ("words:no_consecutive", {}, "big bad cat", False, False),
    ("words:odd_even_syllables", {}, "cat apple dog", True, True),
    ("words:odd_even_syllables", {}, "cat dog", False, False),
    ("words:palindrome", {}, " ".join(["level"] * 10), True, True),
    ("words:palindrome", {}, " ".join(["level"] * 9), False, False),
    ("words:paragraph_last_first", {}, "hello world hello", True, True),
    ("words:paragraph_last_first", {}, "Hello, world hello", False, False),
    ("words:prime_lengths", {}, "to the", True, True),
    ("words:prime_lengths", {}, "a", False, False),
    ("words:repeats", {"small_n": 2.0}, "a a b", True, True),
    ("words:repeats", {"small_n": 2}, "a a a", False, False),
    ("words:vowel", {}, "Hi there", True, True),
    ("words:vowel", {}, "Hi.\nBye.", False, False),
    ("words:words_position", {"keyword": "whisper"}, "A whisper is whisper today.", True, True),
    ("words:words_position", {"keyword": "whisper"}, "The whisper was whisper, quiet.", False, True),
    ("words:words_position", {"keyword": "whisper"}, "A whisper is loud today.", False, False),
]
TAGGED = [  # words:start_verb: OFFICIAL needs NLTK's tagger data; NATIVE is spaCy's
    ("words:start_verb", {}, "Imagine a world.", True, True),
    ("words:start_verb", {}, "**Write** it down.", False, True),
    ("words:start_verb", {}, "The world is big.", False, False),
]


def _build(iid: str, kwargs: dict[str, Any], semantics: str | None = None) -> Any:
    params = dict(kwargs) if semantics is None else {**kwargs, "semantics": semantics}
    return pack_registry().build(iid, params)


def _label(case: tuple[Any, ...]) -> str:
    return f"{case[0]}-{'pass' if case[3] else 'fail'}-{case[2][:16]}"


@pytest.mark.parametrize("case", CASES, ids=[_label(c) for c in CASES])
def test_official_semantics__by_default_for_ifbench_ids(case: tuple[str, dict[str, Any], str, bool, bool]) -> None:
    iid, kwargs, response, official, _ = case
    assert _build(iid, kwargs).check(response) is official


@pytest.mark.parametrize("case", CASES + TAGGED, ids=[_label(c) for c in CASES + TAGGED])
def test_native_semantics(case: tuple[str, dict[str, Any], str, bool, bool]) -> None:
    iid, kwargs, response, _, native = case
    assert _build(iid, kwargs, "native").check(response) is native


def test_every_id__has_a_passing_and_a_failing_case_in_both_semantics() -> None:
    ids = {a.name for cls in pack_registry() if cls.id.startswith("ifbench.") for a in cls.aliases}
    for column in (3, 4):
        seen = {(c[0], c[column]) for c in CASES + TAGGED}
        assert {(i, v) for i in ids for v in (True, False)} <= seen


def test_native_id__defaults_to_native_and_ifbench_id_to_ifbench() -> None:
    by_native = pack_registry().build("ifbench.format_sub_bullets", {})
    by_ifbench = pack_registry().build("format:sub-bullets", {})
    assert (by_native.params["semantics"], by_ifbench.params["semantics"]) == ("native", "ifbench")


def test_ifbench_kwargs__nulls_and_float_integers_accepted_as_written() -> None:
    nulls = {key: None for key in ("N", "keyword", "keywords", "language", "let_frequency", "small_n")}
    built = pack_registry().build("sentence:increment", {**nulls, "small_n": 2.0})
    assert built.params == {"small_n": 2, "semantics": "ifbench"}


def test_start_verb__ifbench_semantics_without_tagger_data_names_what_to_install() -> None:
    if tagger_installed():
        pytest.skip("NLTK's tagger data is installed here")
    from ifverify_ifbench._tagging import MissingDataError

    with pytest.raises(MissingDataError, match=r"python -m nltk.downloader averaged_perceptron_tagger_eng"):
        _build("words:start_verb", {})


@pytest.mark.parametrize("probe", read_jsonl("probe_cases.jsonl"), ids=lambda p: p["instruction_id"])
def test_probe_cases__official_verdict_or_false_where_ifbench_crashes(probe: dict[str, Any]) -> None:
    if probe["instruction_id"] == "words:start_verb" and not tagger_installed():
        # Without NLTK's tagger data the ifbench semantics is refused with a clear error, never guessed.
        from ifverify_ifbench._tagging import MissingDataError

        with pytest.raises(MissingDataError, match="averaged_perceptron_tagger_eng"):
            _build(probe["instruction_id"], probe["kwargs"])
        return
    expected = probe["official_check_following"] if not probe["official_crash"] else False
    assert _build(probe["instruction_id"], probe["kwargs"]).check(probe["response"]) is expected


# -- loose mode ---------------------------------------------------------------------------------------------
def test_sub_bullets__loose_mode_always_passes_officially_not_natively() -> None:
    """Loose mode tries the response without '*'; officially a text without '*' passes, so every response
    passes format:sub-bullets in loose mode.  Native semantics needs a '*' bullet line."""
    text = "* a\n* b"
    official, native = _build("format:sub-bullets", {}), _build("format:sub-bullets", {}, "native")
    assert [hard_result(official, text, m).verdict for m in (STRICT, LOOSE)] == [False, True]
    assert [hard_result(native, text, m).verdict for m in (STRICT, LOOSE)] == [False, False]


def test_loose_mode__a_crash_in_one_variant_is_a_false_variant() -> None:
    """IFBench stops the whole run when a check raises; here the crashing variant fails and the others
    are still tried (the '*'-less variant here is the valid table)."""
    text = CSV_QUOTES.replace('"Math"', '"Ma*th"') + "\n"
    built = _build("custom:csv_quotes", {})
    assert [hard_result(built, text, m).verdict for m in (STRICT, LOOSE)] == [True, True]
