"""Content group: what the response must say — particular words (lexical), required components (element),
and its meaning, theme or focus (semantic)."""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_PIECES = ("answer", "story", "essay", "explanation", "product description", "speech", "article", "letter")


class LexicalContent(SoftConstraint):
    """Judged satisfied when the named words, phrases or kind of vocabulary appear (or, for a ban, are
    absent) and are used naturally, not merely listed; exact keyword counting is the hard type's job."""

    id = "soft.lexical_content"
    family = "content"
    description = ("Lexical content: the response must use, or avoid, particular words, phrases, terms or a "
                   "kind of vocabulary (a keyword, a field's jargon, plain everyday words), worked in naturally.")
    templates = (
        "Work the phrase '{phrase}' naturally into your answer.",
        "Use the term '{term}' at least once, and make sure it fits the context.",
        "Mention '{phrase}' somewhere in the {place}.",
        "Favour {vocabulary} throughout.",
        "Avoid {avoided}; use {vocabulary} instead.",
        "Include both '{term}' and '{phrase}' in your response.",
        "Do not use the word '{banned}' anywhere, not even in the {place}.",
        "Draw on {vocabulary}, and be sure the word '{term}' appears.",
    )
    slots = {
        "phrase": ("a fresh start", "against all odds", "the bigger picture", "step by step", "in the long run",
                   "common ground", "a turning point", "hidden cost", "quiet confidence", "the path forward",
                   "small wins", "a leap of faith", "second nature", "on the horizon", "the human factor",
                   "trial and error"),
        "term": ("sustainability", "resilience", "opportunity cost", "feedback loop", "photosynthesis",
                 "compound interest", "supply chain", "bandwidth", "empathy", "biodiversity", "machine learning",
                 "due diligence", "carbon footprint", "stakeholder", "momentum", "infrastructure"),
        "place": ("first sentence", "closing sentence", "title", "opening paragraph", "final paragraph",
                  "conclusion"),
        "vocabulary": ("plain everyday words", "technical vocabulary from the field", "vivid sensory words",
                       "formal academic vocabulary", "simple words of one or two syllables",
                       "precise legal terminology", "accurate medical terminology", "nautical vocabulary",
                       "culinary vocabulary", "words a ten-year-old would know"),
        "avoided": ("jargon", "filler words such as 'very' and 'really'", "clichés", "slang", "buzzwords",
                    "abbreviations and acronyms", "exclamations like 'wow'",
                    "borrowed foreign words where an English word exists"),
        "banned": ("very", "basically", "literally", "amazing", "thing", "nice", "just", "actually", "stuff",
                   "good", "really", "obviously"),
    }


class Element(SoftConstraint):
    """Judged satisfied when every component the text asks for (an example, a quotation, a call to action,
    a character, a counterargument…) is present, recognisable, and where the text places it."""

    id = "soft.element"
    family = "content"
    description = ("Element: the response must contain specific components — an example, an anecdote, a "
                   "statistic, a quotation, a counterargument, a character or a closing call to action — "
                   "where the constraint says.")
    templates = (
        "Include {element} in your {piece}.",
        "Make sure your {piece} contains {element} and ends with {closing}.",
        "Somewhere in the {section}, add {element}.",
        "The {piece} must contain {element}; put it in the {section}.",
        "Close with {closing}.",
        "Weave {element} into the {section} of your {piece}.",
        "Open with {element}, and finish with {closing}.",
    )
    slots = {
        "element": ("a concrete real-world example", "a short anecdote", "a relevant statistic",
                    "a direct quotation", "a counterargument and its rebuttal", "a brief historical note",
                    "an analogy from everyday life", "a practical tip the reader can try today",
                    "a named character with a clear motive", "a vivid description of the setting",
                    "a rhetorical question", "a definition of the key term", "a comparison of two alternatives",
                    "a list of common mistakes", "a surprising fact"),
        "closing": ("a call to action", "a one-sentence summary", "an open question for the reader",
                    "a memorable final image", "a clear recommendation", "a short moral", "a list of next steps",
                    "a word of caution"),
        "piece": _PIECES,
        "section": ("introduction", "opening paragraph", "second paragraph", "conclusion", "final paragraph",
                    "body"),
    }


class Semantic(SoftConstraint):
    """Judged satisfied when the response's meaning matches what the text asks: its theme, focus, viewpoint
    or underlying message, whatever words it happens to use."""

    id = "soft.semantic"
    family = "content"
    description = ("Semantic: the response's meaning must follow the constraint — a theme to carry, a focus to "
                   "keep, a viewpoint to take, or a message to convey — independent of exact wording.")
    templates = (
        "Focus on {focus} rather than {unfocus}.",
        "Keep the central theme on {theme} throughout.",
        "Write from the perspective of {viewpoint}.",
        "The underlying message should be that {message}.",
        "Stay on the topic of {theme}; do not drift into {unfocus}.",
        "Convey the idea that {message} without ever stating it outright.",
        "Emphasise {focus}, and let the reader sense a theme of {theme}.",
        "Write from the perspective of {viewpoint}, focusing on {focus}.",
    )
    slots = {
        "focus": ("the practical consequences", "the underlying causes", "the human side of the story",
                  "the long-term effects", "the costs and benefits", "what a beginner needs first",
                  "the ethical questions", "the evidence", "the emotional impact", "cause and effect"),
        "unfocus": ("technical details", "personal opinions", "historical background", "side issues",
                    "speculation", "marketing claims", "statistics", "unrelated anecdotes"),
        "theme": ("resilience in hard times", "the value of friendship", "the cost of ambition",
                  "change as a constant", "trust between strangers", "the passage of time", "home and belonging",
                  "curiosity and discovery", "responsibility to the future", "the limits of technology"),
        "viewpoint": ("a first-time user", "a skeptical scientist", "someone who disagrees with the premise",
                      "a child seeing it for the first time", "a future historian", "the object itself",
                      "a neutral observer", "a local resident affected by the decision"),
        "message": ("small habits add up over time", "failure is part of learning",
                    "cooperation beats competition", "every choice has a trade-off",
                    "simplicity is often the best solution", "curiosity is worth protecting",
                    "people matter more than profits", "progress is rarely a straight line"),
    }


TYPES: tuple[type[SoftConstraint], ...] = (LexicalContent, Element, Semantic)
