"""Linguistic group: language use in context (pragmatic), sentence structure (syntactic), word forms
(morphological) and sound (phonological)."""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_PIECES = ("answer", "story", "poem", "description", "letter", "speech")


class Pragmatic(SoftConstraint):
    """Judged satisfied when the response uses language as the situation requires: the requested language
    or variety, the register and politeness suited to the listener, and indirectness where asked."""

    id = "soft.pragmatic"
    family = "linguistic"
    description = ("Pragmatic: the response must use language as the context demands — a given language or "
                   "variety, a register and level of politeness suited to the listener, implication or tact "
                   "instead of blunt statement, a polite refusal.")
    templates = (
        "Reply in {language}, using {register}.",
        "Make your point {indirect}.",
        "Turn down the {request} politely, and leave the door open for later.",
        "Phrase any criticism as {speech_act}.",
        "Write as if speaking to {listener}, and adjust the politeness to match.",
        "Use {language}, but keep {untranslated} in the original.",
        "Address {listener}, and make your point {indirect}.",
        "Answer {listener} in {language}, using {register}.",
    )
    slots = {
        "language": ("French", "Spanish", "German", "Japanese", "Brazilian Portuguese", "Italian", "simple English",
                     "British English", "American English", "Mandarin Chinese", "Korean", "Dutch"),
        "register": ("a polite, formal register", "everyday conversational language",
                     "the register of a business email", "the relaxed register friends use with each other",
                     "respectful language suitable for elders"),
        "indirect": ("through hints rather than direct statements", "by implication, never spelling it out",
                     "with gentle understatement", "with a tactful euphemism for the bad news",
                     "through a polite, indirect request"),
        "request": ("invitation", "offer", "proposal", "job offer", "meeting request", "request for a favour"),
        "speech_act": ("a suggestion", "a question", "a compliment followed by a wish", "an offer to help",
                       "a statement of a shared goal"),
        "listener": ("your manager", "a close friend", "an upset customer", "a stranger asking for directions",
                     "a grieving colleague", "a child", "a government official", "a neighbour you barely know"),
        "untranslated": ("technical terms", "brand names", "place names", "any quoted phrases", "the title"),
    }


class Syntactic(SoftConstraint):
    """Judged satisfied when the response's sentences have the requested structure — clause types, voice,
    mood, openings, parallelism — consistently across the text."""

    id = "soft.syntactic"
    family = "linguistic"
    description = ("Syntactic: the response's sentences must have a given structure — simple or complex "
                   "sentences, active or passive voice, the imperative mood, questions, a set way of opening, "
                   "parallel structure.")
    templates = (
        "Use {structure} throughout.",
        "Write every {unit} using {structure}.",
        "Begin each sentence with {opener}.",
        "Avoid {avoid}; prefer {prefer}.",
        "Keep the sentences {length}, and begin each one with {opener}.",
        "Write the {piece} using {structure}, and begin each sentence with {opener}.",
        "Build the {piece} from {prefer}, and avoid {avoid}.",
    )
    slots = {
        "structure": ("simple sentences with a single clause", "compound sentences joined by 'and' or 'but'",
                      "complex sentences with subordinate clauses", "the passive voice", "the active voice",
                      "the imperative mood", "the second person", "conditional sentences", "rhetorical questions",
                      "parallel structure"),
        "unit": ("sentence", "paragraph", "line", "bullet point"),
        "opener": ("a verb", "a prepositional phrase", "an adverb", "a subordinate clause", "its subject",
                   "a question word", "a gerund"),
        "avoid": ("the passive voice", "sentence fragments", "run-on sentences", "deeply nested clauses",
                  "starting sentences with 'and' or 'but'", "long chains of nouns", "double negatives"),
        "prefer": ("short declarative sentences", "the active voice", "a clear subject-verb-object order",
                   "one idea per sentence", "complete sentences", "simple clauses linked by clear conjunctions"),
        "length": ("short and direct", "under twenty words each", "varied in length", "balanced"),
        "piece": _PIECES,
    }


class Morphological(SoftConstraint):
    """Judged satisfied when the response's word forms follow the request — tense, affixes, derived or
    root words, contractions, plurals — across the whole text."""

    id = "soft.morphological"
    family = "linguistic"
    description = ("Morphological: the response's word forms must follow a rule — a single tense, words "
                   "built with a given prefix or suffix, root words over derived ones, no contractions, "
                   "plural nouns.")
    templates = (
        "Write entirely in the {tense}.",
        "Use at least {amount} words ending in '{suffix}'.",
        "Include several words formed with the prefix '{prefix}'.",
        "Prefer {form} over {other_form}.",
        "Keep every verb in the {tense}, and {rule}.",
        "Sprinkle in a few words ending in '{suffix}' and a few starting with '{prefix}'.",
        "Write the {piece} in the {tense}, using at least {amount} words ending in '{suffix}'.",
    )
    slots = {
        "tense": ("present tense", "past tense", "future tense", "present perfect", "simple past"),
        "amount": ("three", "five", "a handful of", "several", "ten"),
        "suffix": ("-ly", "-tion", "-ness", "-able", "-ing", "-ful", "-ment", "-ous"),
        "prefix": ("un-", "re-", "pre-", "over-", "mis-", "co-", "anti-", "sub-"),
        "form": ("verbs", "concrete nouns", "short root words", "words of Old English origin", "singular nouns"),
        "other_form": ("nominalisations", "abstract nouns", "long derived words", "Latinate words", "adverbs"),
        "rule": ("use no contractions", "avoid adverbs ending in '-ly'", "use plural nouns wherever possible",
                 "prefer compound words", "avoid words with the prefix 'un-'"),
        "piece": _PIECES,
    }


class Phonological(SoftConstraint):
    """Judged satisfied when the response has the requested sound patterns — rhyme scheme, alliteration,
    rhythm or meter, assonance, syllable length — audible when read aloud."""

    id = "soft.phonological"
    family = "linguistic"
    description = ("Phonological: the response must have given sound patterns — a rhyme scheme, alliteration on "
                   "a sound, a meter or rhythm, assonance, onomatopoeia, lines of a given syllable length.")
    templates = (
        "Use {scheme}.",
        "Start {where} with words that alliterate on the '{sound}' sound.",
        "Give the lines a {meter} rhythm.",
        "Use {device} at least {count} times.",
        "Write it with {scheme} and a {meter} rhythm, so it reads well aloud.",
        "Fill the {piece} with {device}, especially around the '{sound}' sound.",
        "Keep each line to about {syllables} syllables, using {scheme}.",
    )
    slots = {
        "scheme": ("an AABB rhyme scheme", "an ABAB rhyme scheme", "an ABBA rhyme scheme", "rhyming couplets",
                   "a single rhyme sound throughout", "internal rhyme in every line"),
        "where": ("every line", "each sentence", "the title", "the opening sentence", "each heading"),
        "sound": ("s", "b", "p", "m", "k", "l", "t", "f", "d", "w"),
        "meter": ("steady iambic", "bouncing anapestic", "falling trochaic", "slow, heavy", "galloping",
                  "chant-like"),
        "device": ("onomatopoeia", "alliteration", "assonance", "consonance", "internal rhyme"),
        "count": ("two", "three", "four", "five"),
        "piece": _PIECES,
        "syllables": ("five", "seven", "eight", "ten", "twelve"),
    }


TYPES: tuple[type[SoftConstraint], ...] = (Pragmatic, Syntactic, Morphological, Phonological)
