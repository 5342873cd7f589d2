"""Format group: how the response is laid out — common formats (lists, tables, JSON), formats the user
invents (markers, separators, labels), and the conventions of specialised documents (screenplay, APA)."""

from __future__ import annotations

from ifverify.constraints.base import SoftConstraint

_CONTENT = ("key points", "steps", "main findings", "pros and cons", "results", "recommendations", "ingredients",
            "timeline")


class FundamentalFormat(SoftConstraint):
    """Judged satisfied when the response is laid out in the named common format (a list, a table, JSON,
    headings, plain prose) with the detail the text adds; validity is judged, not parsed."""

    id = "soft.fundamental_format"
    family = "format"
    description = ("Fundamental format: the response must use a common, general-purpose layout — a bulleted or "
                   "numbered list, a table, JSON, YAML, Markdown headings, or plain unformatted prose.")
    templates = (
        "Format the answer as {basic}.",
        "Present the {content} as {basic}.",
        "Use {basic}, with {detail}.",
        "Lay out the {content} as {basic}, and use {detail}.",
        "Put the {content} into {basic} so that everything can be taken in at a glance.",
        "Give the {content} as {basic}.",
    )
    slots = {
        "basic": ("a bulleted list", "a numbered list", "a Markdown table", "a JSON object",
                  "plain paragraphs without bullet points", "a table with clear column headers", "a YAML block",
                  "an outline with nested levels", "Markdown with headings", "a CSV block", "a checklist",
                  "a two-column table"),
        "content": _CONTENT,
        "detail": ("one item per line", "bold text for key terms", "a short heading at the top",
                   "no more than a short phrase per entry", "consistent capitalisation",
                   "a blank line between sections"),
    }


class BespokeFormat(SoftConstraint):
    """Judged satisfied when the response follows the user's own layout rules — the markers, separators,
    labels and wrappers the text defines — consistently, wherever they apply."""

    id = "soft.bespoke_format"
    family = "format"
    description = ("Bespoke format: the response must follow a layout the user defines on the spot — a marker "
                   "at the start of each line, a custom separator, labels such as 'Q:' and 'A:', wrapped titles — "
                   "rather than a standard format.")
    templates = (
        "Begin each {unit} with {marker}.",
        "Separate the {units} with {separator}.",
        "Label every {unit} as {label}, and {extra}.",
        "Wrap {target} in {wrapper}.",
        "Use this layout: {layout}.",
        "Begin each {unit} with {marker}, and separate the {units} with {separator}.",
        "Wrap {target} in {wrapper}, and begin each {unit} with {marker}.",
        "Follow this layout exactly: {layout}; separate the parts with {separator}.",
    )
    slots = {
        "unit": ("line", "paragraph", "section", "item", "step"),
        "units": ("lines", "paragraphs", "sections", "items", "steps"),
        "marker": ("'>>'", "an emoji that fits its content", "a timestamp in square brackets",
                   "a capitalised keyword followed by a colon", "a dash and a space", "the speaker's name in bold",
                   "a Roman numeral"),
        "separator": ("a row of three asterisks", "a line of dashes", "a single tilde on its own line",
                      "two blank lines", "the symbol '§'", "a horizontal rule"),
        "label": ("'Part 1', 'Part 2' and so on", "'Q:' or 'A:'", "'Step N'", "'Idea #N'", "'Scene N'", "'Tip N'"),
        "extra": ("keep the labels on their own line", "put the labels in bold",
                  "keep the labels in the same position every time",
                  "end each one with a short summary in parentheses"),
        "target": ("the title", "every key term", "each character's name", "the final answer", "every date",
                   "each question"),
        "wrapper": ("double angle brackets, like <<this>>", "square brackets", "double asterisks", "backticks",
                    "vertical bars", "quotation marks"),
        "layout": ("a one-line headline, a blank line, then the body",
                   "a title, three labelled sections and a sign-off",
                   "a question, its answer and a one-line takeaway, repeated for each point",
                   "a heading, a short summary in italics, then the details",
                   "a bold label followed by one sentence per line"),
    }


class SpecializedFormat(SoftConstraint):
    """Judged satisfied when the response follows the conventions of the named specialised document or
    notation (screenplay, APA references, meeting minutes, LaTeX…), including its usual parts and order."""

    id = "soft.specialized_format"
    family = "format"
    description = ("Specialized format: the response must follow the conventions of a domain-specific document "
                   "type or notation — screenplay format, APA citations, a press release, meeting minutes, LaTeX, "
                   "a SOAP note, a sonnet — including its required parts and their order.")
    templates = (
        "Write it as {special}.",
        "Follow the standard conventions of {special} exactly.",
        "Present the {content} as {special}.",
        "Format the response as {special}, the way a {professional} would expect it.",
        "Structure it as {special}; {strictness}.",
        "Shape the {content} into {special} suitable for {venue}.",
    )
    slots = {
        "special": ("a screenplay in standard format", "an APA-style reference list", "a formal business letter",
                    "a press release with a dateline", "a recipe card with ingredients and method",
                    "meeting minutes with attendees and action items", "a one-page résumé", "a LaTeX document",
                    "a Git commit message with a short summary line", "a SOAP clinical note",
                    "a contract with numbered clauses", "a Shakespearean sonnet", "a haiku sequence",
                    "an IEEE-style reference list",
                    "a structured abstract with background, methods, results and conclusion",
                    "a product requirements document"),
        "content": ("information", "findings", "plan", "story", "update", "proposal"),
        "professional": ("film producer", "journal editor", "hiring manager", "lawyer", "doctor",
                         "software reviewer", "publisher", "project manager"),
        "strictness": ("do not add anything outside it", "keep every required section even if it is short",
                       "follow its usual ordering", "use its standard headings"),
        "venue": ("a peer-reviewed journal", "a client", "a company wiki", "a newspaper", "a hospital record",
                  "a course handout"),
    }


TYPES: tuple[type[SoftConstraint], ...] = (FundamentalFormat, BespokeFormat, SpecializedFormat)
