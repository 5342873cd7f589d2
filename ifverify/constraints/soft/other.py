"""Other group: constraints defined by how they are given rather than by what they govern — by example,
by inversion ("do not…"), as a pair of requirements in tension, or as an explicit rule to apply throughout."""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_PIECES = ("answer", "story", "essay", "summary", "poem", "guide", "email", "description")


class Example(SoftConstraint):
    """Judged satisfied when the response reproduces the pattern of the inline example — its structure and
    the features the text names — with new content, rather than copying the example."""

    id = "soft.example"
    family = "other"
    description = ("Example: the constraint shows an inline example, and the response must follow its pattern — "
                   "structure, length, rhythm, punctuation or tone — with new content rather than copying it.")
    templates = (
        "Follow the pattern of this example: {pattern}.",
        "Use {pattern} as the template for every {unit}.",
        "Here is the expected shape of each {unit}: {pattern}. Match it exactly.",
        "Imitate this example, keeping its {feature} but changing the topic: {sample}.",
        "Write {count} new {items} in the same style as this one: {sample}.",
        "Base your {piece} on the example {pattern}, filling in real content for each part.",
        "Keep the {feature} of this example but not its wording: {sample}.",
    )
    slots = {
        "pattern": ("'Name | role | one-line summary'", "'Problem: ... / Fix: ...'", "'Q: ... A: ...'",
                    "'[Date] Event: short description'", "'Word (part of speech): definition'",
                    "'Step 1 - verb + object'", "'Pros: ... | Cons: ...'", "'Term -> plain-English meaning'",
                    "'Claim. Evidence. So what?'", "'Before: ... After: ...'", "'Who / What / When / Where'",
                    "'Rating: 4/5 - one-sentence verdict'"),
        "unit": ("entry", "line", "item", "row", "answer"),
        "feature": ("rhythm", "length", "punctuation", "tone", "sentence structure", "humour"),
        "sample": ("'The kettle sighed; the morning had begun'", "'Rain again. Good for the roses, bad for my mood'",
                   "'Fast. Cheap. Reliable. Pick two'", "'Dear diary, today the cat outsmarted me'",
                   "'Breaking news: local dog elected mayor'", "'Step one: breathe. Step two: begin'",
                   "'Old map, new road, same stubborn heart'", "'Coffee first. Decisions later'",
                   "'The bridge hummed like a plucked string'", "'Lost: one umbrella. Found: a better mood'"),
        "count": ("three", "five", "two", "four"),
        "items": ("lines", "examples", "entries", "sentences"),
        "piece": _PIECES,
    }


class Inverse(SoftConstraint):
    """Judged satisfied when the response does none of what the text forbids, anywhere, while still doing
    the task; an inverse constraint says what not to do."""

    id = "soft.inverse"
    family = "other"
    description = ("Inverse: the constraint says what the response must not do — \"do not mention prices\", "
                   "\"never use bullet points\", \"without naming the city\" — and the response must avoid it "
                   "entirely while still doing the task.")
    templates = (
        "Do not {action}.",
        "Avoid {avoid} entirely; {instead}.",
        "Under no circumstances should you {action}.",
        "Never {action}, not even in {place}.",
        "Without {gerund}, {positive}.",
        "Do not {action}, and avoid {avoid}.",
        "Refrain from {gerund} anywhere in the {piece}.",
    )
    slots = {
        "action": ("mention prices", "use bullet points", "give a direct recommendation", "refer to yourself",
                   "repeat the question", "use technical jargon", "apologise", "end with a question",
                   "add a conclusion", "use the word 'I'", "name any brands", "reveal the ending", "add a title",
                   "use exclamation marks", "mention competitors", "give a definition"),
        "avoid": ("statistics", "humour", "personal anecdotes", "the passive voice", "negative language",
                  "lists of any kind", "rhetorical questions", "metaphors"),
        "instead": ("let the facts speak for themselves", "keep it plain and direct",
                    "describe what to do rather than what not to do", "rely on concrete description",
                    "write in continuous prose"),
        "place": ("the title", "the last line", "an example", "a footnote", "a parenthetical aside"),
        "gerund": ("mentioning the product's name", "using the word 'love'", "stating the answer outright",
                   "using numbers", "naming the city", "using any colour words", "mentioning the weather",
                   "using the letter 'z'", "naming the main character", "quoting anyone"),
        "positive": ("describe it so clearly that the reader can guess", "make the reader feel the moment",
                     "convey the main idea", "explain how it works", "tell the whole story"),
        "piece": _PIECES,
    }


class Contradictory(SoftConstraint):
    """Judged satisfied when the response honours both sides of the tension at once — brief and complete,
    simple and exact, warm and firm — instead of giving one side up for the other."""

    id = "soft.contradictory"
    family = "other"
    description = ("Contradictory: the constraint joins two requirements that pull against each other but can "
                   "both be met (brief yet complete, simple yet precise, friendly yet firm); the response must "
                   "satisfy both sides at once rather than sacrifice either. Truly impossible demands are excluded.")
    templates = (
        "Be {pull} yet {push}.",
        "Keep it {short}, but make sure nothing important is left out.",
        "Use {plain} while staying {exact}.",
        "Sound {warm}, but never {never}.",
        "Make it {accessible} enough for {newcomer}, yet {deep} enough for {expert}.",
        "Criticise the {target} honestly, while keeping the overall message {kind}.",
        "Explain {whole} thoroughly, in as few words as possible.",
        "Be {pull} yet {push}, and keep it {short}.",
    )
    slots = {
        "pull": ("brief", "formal", "simple", "playful", "neutral", "concise", "light-hearted", "casual",
                 "relaxed"),
        "push": ("cover every step", "warm", "precise", "informative", "persuasive", "thorough",
                 "respectful of the serious topic", "open about the uncertainties", "authoritative"),
        "short": ("short", "under a page", "to a few sentences", "to a single paragraph", "tight"),
        "plain": ("simple words a child would know", "everyday language", "no technical terms",
                  "short, plain sentences"),
        "exact": ("technically accurate", "precise about the numbers", "faithful to the science",
                  "exact about the legal terms"),
        "warm": ("enthusiastic", "friendly", "firm", "honest", "humorous", "calm"),
        "never": ("exaggerate", "lose your professional edge", "become harsh", "sound discouraging",
                  "make light of the problem", "sound indifferent"),
        "accessible": ("approachable", "clear", "simple", "engaging"),
        "deep": ("rigorous", "detailed", "nuanced", "precise"),
        "newcomer": ("a newcomer", "a child", "a casual reader"),
        "expert": ("a specialist", "an examiner", "a professional reviewer"),
        "target": ("plan", "draft", "product", "proposal", "performance"),
        "kind": ("encouraging", "kind", "constructive", "hopeful"),
        "whole": ("the whole process", "every trade-off", "each option", "all the risks", "the full history"),
    }


class Rule(SoftConstraint):
    """Judged satisfied when the stated rule holds everywhere it applies in the response, with no lapses;
    one break is a failure."""

    id = "soft.rule"
    family = "other"
    description = ("Rule: the constraint states an explicit, systematic rule the whole response must obey — "
                   "\"every sentence must start with a verb\", \"each item begins with the next letter of the "
                   "alphabet\" — applied consistently, without exceptions.")
    templates = (
        "Follow this rule: {rule}.",
        "Apply one rule consistently: {rule}.",
        "Obey two rules: {rule}, and {second}.",
        "The {piece} is bound by one rule: {rule}.",
        "Stick to the rule that {rule}; if you break it even once, rewrite the {unit}.",
        "Throughout the {piece}, {second}.",
    )
    slots = {
        "rule": ("every sentence must start with a verb", "each paragraph must open with a question",
                 "numbers below ten are spelled out and larger ones are written as digits",
                 "the first letters of the lines spell out the topic",
                 "each line must be shorter than the one before it",
                 "every paragraph ends with a one-word sentence", "no word may appear twice in the same sentence",
                 "each sentence contains exactly one comma", "every heading is a single word",
                 "each item begins with the next letter of the alphabet", "every second sentence is a question",
                 "dates are written out in full, as in 'the third of May'",
                 "each sentence mentions one of the five senses", "every paragraph begins with a time of day"),
        "second": ("all names are written in bold", "every list has exactly three items",
                   "the word 'and' never appears", "every quotation is attributed to its speaker",
                   "each paragraph mentions a colour", "every question is answered in the next sentence",
                   "all units are metric", "each section closes with a summary line",
                   "abbreviations are spelled out the first time they appear", "no sentence begins with 'The'"),
        "piece": _PIECES,
        "unit": ("sentence", "paragraph", "line"),
    }


TYPES: tuple[type[SoftConstraint], ...] = (Example, Inverse, Contradictory, Rule)
