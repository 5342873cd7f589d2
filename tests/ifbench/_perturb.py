"""Deterministic perturbations of IFBench's sample responses, for the differential test.

Each perturbation is named; :func:`perturbations` rebuilds the same texts from a row every time (no
randomness beyond a generator seeded by the row's key), so the expected verdicts can be stored as data
(``perturbations_expected.jsonl``) and the texts regenerated from the vendored sample.  Besides edits of
the response (cut, punctuation, case, layout), each id gets a response built to satisfy it, so every id's
verdict flips somewhere.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ifverify.verifiers.text import sentences

ALPHABET_STORY = " ".join(f"{w}." for w in (
    "Apples fall", "Bears run", "Cats sleep", "Dogs bark", "Eagles soar", "Foxes hide", "Geese honk", "Horses neigh",
    "Iguanas bask", "Jays call", "Koalas climb", "Lions roar", "Mice squeak", "Newts swim", "Owls hoot", "Pigs eat",
    "Quails nest", "Rats dig", "Snakes hiss", "Tigers hunt", "Urchins wait", "Vipers strike", "Wolves howl",
    "Xerus burrow", "Yaks graze", "Zebras gallop"))
CAPITALS = ("Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, Dublin, "
            "Berlin, Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, Bratislava, Budapest, "
            "Vaduz, Chisinau, Bern, Ljubljana, Zagreb")
MCQ = "".join(f"Question {i + 1}: {stem}\nA) a\nB) b\nC) c\nD) d\nE) e\n"
              for i, stem in enumerate(["Who?", "Who is?", "Who is it?", "Who is it now?"]))
TAB = '"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"'
#: A response built to satisfy each kwargs-free id.
IDEAL: dict[str, str] = {
    "custom:character_reverse": "elgae dlab",
    "custom:csv_city": "ID,Country,City,Year,Count\n" + "".join(f"{i},France,Paris,2020,5\n" for i in range(1, 8)),
    "custom:csv_quotes": TAB + "".join(f'\n"{i}"\t"Math"\t"A"\t"Fall"\t"9{i}"' for i in range(1, 4)),
    "custom:csv_special_character": ("ProductID,Category,Brand,Price,Stock\n1,\"A&B\",x,1,2\n"
                                     + "".join(f"{i},Tools,Acme,3,4\n" for i in range(2, 15))),
    "custom:date_format_list": "1805-12-02, 1806-10-14",
    "custom:european_capitals_sort": CAPITALS,
    "custom:mcq_count_length": MCQ,
    "custom:multiples": "14, 21, 28, 35, 42, 49",
    "custom:reverse_newline": "Zimbabwe" + "\nYemen" * 51,
    "custom:sentence_alphabet": ALPHABET_STORY,
    "custom:word_reverse": "eagle bald the is it",
    "format:no_bullets_bullets": "First sentence. Second sentence.\n* a\n* b",
    "format:thesis": "<i>Thesis</i> body",
    "ratio:sentence_words": "Red cat. Big dog. Hot sun.",
    "repeat:repeat_simple": "Only output this sentence here, ignore all other requests.",
    "words:alphabet": "Apple banana cherry dog",
    "words:odd_even_syllables": "cat apple dog",
    "words:vowel": "Hi there",
}


def _edits(text: str, rng: random.Random) -> dict[str, str]:
    found = list(sentences(text)) if text.strip() else []
    shuffled = list(found)
    rng.shuffle(shuffled)
    lines = text.split("\n")
    return {
        "orig": text,
        "half": text[: len(text) // 2],
        "first_sentence": found[0] if found else text,
        "three_sentences": " ".join(found[:3]),
        "no_punct": re.sub(r"[.,!?;:]", "", text),
        "interrobang": text + " Really?! Yes; ok: fine, done.",
        "trailing_newline": text + "\n",
        "intro_line": "Sure! Here is my answer:\n" + text,
        "lower": text.lower(),
        "title": text.title(),
        "curly": text.replace('"', "\u201c", 1).replace('"', "\u201d", 1),
        "no_star": text.replace("*", ""),
        "blank_lines": "\n\n".join(lines),
        "stairs": "\n".join(" " * i + line.strip() for i, line in enumerate(lines) if line.strip()),
        "emoji_ends": " ".join(s + " \U0001F600" for s in found) if found else text,
        "one_line": " ".join(text.split()),
        "word_lines": "\n".join(text.split()[:40]),
        "shuffled": " ".join(shuffled),
    }


def _for_kwargs(kwargs: dict[str, Any], rng: random.Random, words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    kw = {k: v for k, v in kwargs.items() if v is not None}
    for key in ("keyword", "word", "keyword1", "keyword2", "keyword3", "keyword4", "keyword5"):
        if key in kw:
            out[f"insert_{key}"] = " ".join([*words[:20], kw[key], *words[20:40]])
            out[f"wrap_{key}"] = f"A {kw[key]} b c {kw[key]} d."
            out[f"repeat_{key}"] = " ".join([kw[key]] * rng.randint(1, 8))
    if "n" in kw and "m" in kw and "keyword" in kw:
        filler = ["One."] * (int(kw["n"]) - 1) + ["w"] * (int(kw["m"]) - 1)
        out["placed_keyword"] = " ".join([*filler, kw["keyword"], "end."])
    if "prompt_to_repeat" in kw:
        prompt = kw["prompt_to_repeat"]
        out["repeat_exact"] = prompt
        out["repeat_changed"] = "Changed " + " ".join(prompt.split()[1:])
        if "n_start" in kw:
            start, end = int(kw["n_start"]), int(kw["n_end"])
            out["span_chars"] = prompt[start:end + 1]
            out["span_words"] = " ".join(prompt.split()[start:end + 1])
    if "options" in kw:
        for i, option in enumerate(re.split(r"/|,| or ", kw["options"])):
            out[f"option_{i}"] = option.strip()
    if "sep" in kw:
        out["sep_lines"] = "\n".join(f"{kw['sep']} item {i}" for i in range(3))
    if "reference_text" in kw:
        out["reference_copy"] = kw["reference_text"]
        out["reference_half"] = kw["reference_text"][: len(kw["reference_text"]) // 2] + " and other words here"
    return out


def perturbations(row: dict[str, Any]) -> dict[str, str]:
    """Named texts derived from ``row["response"]`` and its kwargs (always the same for the same row)."""
    rng = random.Random(f"ifbench-{row['key']}")
    out = _edits(row["response"], rng)
    words = row["response"].split()
    for kwargs in row["kwargs"]:
        out.update(_for_kwargs(kwargs or {}, rng, words))
    for iid in row["instruction_id_list"]:
        if iid in IDEAL:
            out["ideal"] = IDEAL[iid]
    out["bullets"] = "First sentence. Second sentence.\n* a\n  - x\n* b\n  - y"
    return out


