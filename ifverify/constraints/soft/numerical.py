"""Numerical group: approximate sizes — words, sentences, paragraphs, and how many separate pieces.

These are soft by design: "roughly a hundred words", "no more than a page", "a handful of sentences".
Exact counts ("fewer than 120 words") belong to the hard length types, which count; here the classifier
judges whether the size is about right.
"""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_PIECES = ("answer", "summary", "story", "description", "review", "reply", "explanation", "bio", "post", "note")


class WordCount(SoftConstraint):
    """Judged satisfied when the response's length in words is close to the approximate target or within
    the loose bound the text gives (a tweet, half a page); small deviations are acceptable."""

    id = "soft.word_count"
    family = "numerical"
    description = ("Word count: the response should be about a given length in words, or within a loose bound "
                   "(\"roughly a hundred words\", \"no more than half a page\"); approximate, not an exact count.")
    templates = (
        "Keep it to roughly {words} words.",
        "Aim for about {words} words, give or take a few.",
        "Write no more than {length_limit}.",
        "The {piece} should run to around {words} words.",
        "Keep the {piece} somewhere between {range} words.",
        "Be concise: {words} words or so, ideally fewer.",
        "Your {piece} should be short, around {words} words.",
        "Keep the {piece} to {length_limit}.",
    )
    slots = {
        "words": ("fifty", "sixty", "a hundred", "150", "two hundred", "250", "three hundred", "400",
                  "five hundred", "80", "120", "thirty", "a thousand", "seventy-five"),
        "length_limit": ("a short paragraph's worth of words", "what fits on a postcard", "the length of a tweet",
                         "half a page", "a single page", "what someone could read in a minute", "a few lines",
                         "the length of an elevator pitch"),
        "range": ("fifty and eighty", "100 and 150", "two and three hundred", "80 and 120", "400 and 500",
                  "thirty and fifty", "150 and 200", "six and seven hundred"),
        "piece": _PIECES,
    }


class SentenceCount(SoftConstraint):
    """Judged satisfied when the number of sentences is about the target (one more or fewer is fine) and,
    where the text asks, the sentences are short or self-contained."""

    id = "soft.sentence_count"
    family = "numerical"
    description = ("Sentence count: the response should have about a given number of sentences (\"three or so "
                   "sentences\", \"a sentence or two\"), judged approximately rather than counted exactly.")
    templates = (
        "Answer in roughly {sentences} sentences{qualifier}.",
        "Keep the {piece} to about {sentences} sentences; one more or fewer is fine.",
        "Use no more than about {sentences} sentences in the {piece}.",
        "Say it in {few} well-built sentences, give or take one{qualifier}.",
        "The {piece} should be about {sentences} sentences long.",
        "Limit each paragraph to around {few} sentences.",
        "Sum it up in a sentence or two{qualifier}.",
    )
    slots = {
        "sentences": ("two", "three", "four", "five", "six", "eight", "ten", "a dozen", "3", "5", "7", "fifteen",
                      "twenty"),
        "few": ("two", "three", "four", "2", "3", "two or three", "three or four"),
        "qualifier": ("", ", keeping each one short", ", avoiding long run-on sentences",
                      ", each carrying a single idea"),
        "piece": _PIECES,
    }


class ParagraphCount(SoftConstraint):
    """Judged satisfied when the response is organised into about the requested number of paragraphs, laid
    out as the text describes; one paragraph more or fewer is tolerated."""

    id = "soft.paragraph_count"
    family = "numerical"
    description = ("Paragraph count: the response should be organised into about a given number of paragraphs "
                   "(\"a few short paragraphs\", \"roughly three paragraphs\"), judged approximately.")
    templates = (
        "Organise the {piece} into roughly {paragraphs} paragraphs.",
        "Split your answer into about {paragraphs} short paragraphs.",
        "Keep the {piece} to {paragraphs} paragraphs at most, each focused on one idea.",
        "Aim for {paragraphs} paragraphs: {layout}.",
        "Don't let the {piece} grow beyond {paragraphs} paragraphs.",
        "Explain it in {paragraphs} short paragraphs, {layout}.",
    )
    slots = {
        "paragraphs": ("two", "three", "four", "five", "a couple of", "a few", "3", "4", "six"),
        "layout": ("an opening, a middle and a close", "one for each main point", "starting with a brief introduction",
                   "ending with a short wrap-up", "each no longer than a few sentences", "separated by blank lines",
                   "with the most important point first"),
        "piece": _PIECES,
    }


class DocumentCount(SoftConstraint):
    """Judged satisfied when the response delivers about the requested number of separate pieces (titles,
    versions, emails, ideas), each clearly distinct from the others."""

    id = "soft.document_count"
    family = "numerical"
    description = ("Document count: the response should deliver about a given number of separate outputs — "
                   "options, versions, drafts or items (\"a handful of title ideas\", \"two versions\") — each "
                   "distinct from the others.")
    templates = (
        "Offer roughly {items} {things} to choose from.",
        "Give about {items} different {things}, each with a slightly different angle.",
        "Produce {small} alternative versions of the {piece}.",
        "List around {items} {things}; a few more or fewer is fine.",
        "Suggest {items} or so {things}.",
        "Write {small} separate {docs}, each able to stand on its own.",
        "Draft {small} {docs} and roughly {items} {things} to go with them.",
    )
    slots = {
        "items": ("three", "five", "ten", "a dozen", "seven", "4", "6", "8", "twenty"),
        "small": ("two", "three", "a couple of", "2", "3", "four"),
        "things": ("title ideas", "taglines", "interview questions", "headline options", "discussion questions",
                   "product names", "slogans", "examples", "tips", "possible explanations", "subject lines",
                   "opening lines"),
        "docs": ("emails", "short poems", "social media posts", "product descriptions", "cover letters",
                 "summaries", "text messages", "ad scripts"),
        "piece": _PIECES,
    }


TYPES: tuple[type[SoftConstraint], ...] = (WordCount, SentenceCount, ParagraphCount, DocumentCount)
