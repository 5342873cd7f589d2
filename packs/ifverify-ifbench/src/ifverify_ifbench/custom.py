"""IFBench's ``custom:*`` instructions: single tasks with a fixed expected shape (CSV tables, date lists,
ordered lists, reversed text)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from itertools import islice, pairwise

from ifverify_ifbench._base import (
    DELETE_PUNCT,
    PUNCT,
    PUNCT_SPACE,
    IFBenchAlias,
    IFBenchConstraint,
    iter_sentences,
    plural,
    sentences,
)


def _ascii_fold(text: str) -> str:
    """NFKD, then every non-ASCII character dropped ("São Tomé" -> "Sao Tome")."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _csv_rows(text: str, delimiter: str = ",") -> list[list[str]] | None:
    """``list(csv.reader(io.StringIO(text)))``, or None where the csv module raises (IFBench crashes there)."""
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        return None


class CharacterReverse(IFBenchConstraint):
    """The answer "bald eagle" written backwards: the lower-cased text contains "elgae dlab"."""

    id = "ifbench.custom_character_reverse"
    aliases = (IFBenchAlias("custom:character_reverse"),)
    templates = ("What animal is the national symbol of the US? Answer with your sentence reversed letter by "
                 "letter.",)

    def check_ifbench(self, text: str) -> bool:
        return "elgae dlab" in text.lower()


class CsvCity(IFBenchConstraint):
    """CSV (comma-delimited, read by Python's csv module) of exactly 8 rows: the header
    ID,Country,City,Year,Count and 7 rows of 5 fields."""

    id = "ifbench.custom_csv_city"
    aliases = (IFBenchAlias("custom:csv_city"),)
    templates = ('Generate comma-delimited CSV data with the columns ["ID", "Country", "City", "Year", "Count"] '
                 "and 7 rows.",)

    def check_ifbench(self, text: str) -> bool:
        rows = _csv_rows(text)
        return (rows is not None and len(rows) == 8 and rows[0] == ["ID", "Country", "City", "Year", "Count"]
                and all(len(row) == 5 for row in rows[1:]))

    def observe(self, text: str) -> str:
        rows = _csv_rows(text)
        return "unreadable CSV" if rows is None else plural(len(rows), "CSV row")


_SPECIAL_HEADER = re.compile(r'^(ProductID|"ProductID"),[ \t]*(Category|"Category"),[ \t]*(Brand|"Brand"),'
                             r'[ \t]*(Price|"Price"),[ \t]*(Stock|"Stock")$')
_SPECIAL_FIELD = re.compile(r'".*[^\d\w\s].*"')


class CsvSpecialCharacter(IFBenchConstraint):
    """CSV with the header ProductID,Category,Brand,Price,Stock (first line), 14 data rows, and a field
    holding a special character in double quotes.

    As IFBench reads it: every '"' is tripled before parsing, so a quoted field keeps its quotes; the rows
    are scanned in order, a row without 5 fields fails, and the first row with a field matching
    ``".*[^\\d\\w\\s].*"`` passes at once (later rows are not looked at).
    """

    id = "ifbench.custom_csv_special_character"
    aliases = (IFBenchAlias("custom:csv_special_character"),)
    templates = ('Generate comma-delimited CSV data with the columns ["ProductID", "Category", "Brand", "Price", '
                 '"Stock"] and 14 rows; one field contains a special character and is enclosed in double quotes.',)

    def check_ifbench(self, text: str) -> bool:
        if not _SPECIAL_HEADER.match(text.split("\n")[0].strip()):
            return False
        rows = _csv_rows(text.replace('"', '"""'))
        if rows is None or len(rows) != 15:
            return False
        for row in rows[1:]:
            if len(row) != 5:
                return False
            if any(_SPECIAL_FIELD.match(field) for field in row):
                return True
        return False


_QUOTES_HEADER = re.compile(r'^(StudentID|"StudentID")\t *(Subject|"Subject")\t *(Grade|"Grade")\t *'
                            r'(Semester|"Semester")\t *(Score|"Score")$')


class CsvQuotes(IFBenchConstraint):
    """Tab-delimited CSV: the header StudentID, Subject, Grade, Semester, Score and 3 rows, every field of
    every row (header included) in double quotes.

    Deliberate exception: IFBench raises IndexError on a field that is empty once stripped; here that
    field fails the check (both semantics).
    """

    id = "ifbench.custom_csv_quotes"
    aliases = (IFBenchAlias("custom:csv_quotes"),)
    templates = ('Generate tab-delimited CSV data with the columns ["StudentID", "Subject", "Grade", "Semester", '
                 '"Score"] and 3 rows, each field enclosed in double quotes.',)

    def check_ifbench(self, text: str) -> bool:
        if not _QUOTES_HEADER.match(text.split("\n")[0].strip()):
            return False
        rows = _csv_rows(text.replace('"', '"""'), "\t")
        if rows is None or len(rows) != 4:
            return False
        for row in rows:
            if len(row) != 5:
                return False
            for field in row:
                cell = field.strip()
                if not cell or cell[0] != '"' or cell[-1] != '"':
                    return False
        return True


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateFormatList(IFBenchConstraint):
    """Comma-separated dates YYYY-MM-DD only, years 1769-1821, months <= 12, days within the month's length
    (29 for February; month 00 and day 00 pass, as in IFBench)."""

    id = "ifbench.custom_date_format_list"
    aliases = (IFBenchAlias("custom:date_format_list"),)
    templates = ("List the start dates of all the battles Napoleon fought, separated by commas, as YYYY-MM-DD, "
                 "without explanation.",)

    def check_ifbench(self, text: str) -> bool:
        for date in text.strip().split(","):
            date = date.strip()
            if not _DATE.match(date):
                return False
            year, month, day = (int(part) for part in date.split("-"))
            if not 1769 <= year <= 1821 or month > 12:
                return False
            limit = 31 if month in (1, 3, 5, 7, 8, 10, 12) else 30 if month in (4, 6, 9, 11) else 29
            if month in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) and day > limit:
                return False
        return True


_CAPITALS = ("Reykjavik", "Helsinki", "Oslo", "Tallinn", "Stockholm", "Riga", "Moscow", "Copenhagen", "Vilnius",
             "Minsk", "Dublin", "Berlin", "Amsterdam", "Warsaw", "London", "Brussels", "Prague", "Luxembourg",
             "Paris", "Vienna", "Bratislava", "Budapest", "Vaduz", "Chisinau", "Bern", "Ljubljana", "Zagreb")
#: Kyiv (50.45 N) lies between Brussels (50.85 N) and Prague (50.08 N); IFBench's list omits it.
_CAPITALS_WITH_KYIV = (*_CAPITALS[:16], "Kyiv", *_CAPITALS[16:])


class EuropeanCapitalsSort(IFBenchConstraint):
    """The European capitals north of 45 degrees, comma-separated, from north to south, nothing else.

    The text is ASCII-folded, split on commas, blank items dropped, and each stripped item must equal the
    expected list's item.  ifbench: IFBench's 27 capitals, which omit Kyiv.  native: 28, with Kyiv (or
    "Kiev") between Brussels and Prague.
    """

    id = "ifbench.custom_european_capitals_sort"
    aliases = (IFBenchAlias("custom:european_capitals_sort"),)
    templates = ("Name the capitals of European countries north of 45 degrees latitude, without country names, "
                 "separated by commas, from the highest latitude to the lowest.",)
    fixed = "Kyiv is expected between Brussels and Prague"

    @staticmethod
    def _items(text: str) -> list[str]:
        return [item.strip() for item in _ascii_fold(text).split(",") if item.strip()]

    def check_ifbench(self, text: str) -> bool:
        return self._items(text) == list(_CAPITALS)

    def check_native(self, text: str) -> bool:
        items = ["Kyiv" if item == "Kiev" else item for item in self._items(text)]
        return items == list(_CAPITALS_WITH_KYIV)

    def observe(self, text: str) -> str:
        return plural(len(self._items(text)), "listed item")


_QUESTION_SPLIT = re.compile(r"\n*(?:Question \d+[\.|\):;]?\s*)")
_OPTION = re.compile(r"^[A-Ea-e][\.|\)]\s*\w+")


class McqCountLength(IFBenchConstraint):
    """Four multiple-choice questions, the text starting with "Question"; each has 5 options
    (lines like "A) x" or "b. y") and a longer question text than the one before."""

    id = "ifbench.custom_mcq_count_length"
    aliases = (IFBenchAlias("custom:mcq_count_length"),)
    templates = ("Generate 4 multiple choice questions with 5 options each about 20th century art history, each "
                 "starting with the label \"Question\", each longer than the last, without explanation.",)

    def check_ifbench(self, text: str) -> bool:
        if text[text.find("Question"):] != text:
            return False
        parts = _QUESTION_SPLIT.split(text)
        if parts[0] == "":
            parts = parts[1:]
        questions = [q.strip() for q in parts if q.strip()]
        if len(questions) != 4:
            return False
        lengths = []
        for question in questions:
            stem, options, done = "", 0, False
            for line in question.split("\n"):
                if _OPTION.match(line.strip()):
                    options += 1
                    done = True
                elif not done:
                    stem += " " + line.strip()
            if options != 5:
                return False
            lengths.append(len(stem.strip()))
        return all(a < b for a, b in pairwise(lengths))


_MULTIPLES = [str(i) for i in range(14, 51, 7)]


class Multiples(IFBenchConstraint):
    """The digit runs of the text (after "," becomes ", ") are exactly 14 21 28 35 42 49, in order:
    any other number anywhere fails."""

    id = "ifbench.custom_multiples"
    aliases = (IFBenchAlias("custom:multiples"),)
    templates = ("Count from 10 to 50 but only print multiples of 7.",)

    def check_ifbench(self, text: str) -> bool:
        return re.findall(r"\d+", text.replace(",", ", ")) == _MULTIPLES

    def observe(self, text: str) -> str:
        return "numbers: " + " ".join(re.findall(r"\d+", text.replace(",", ", "))[:12])


class ReverseNewline(IFBenchConstraint):
    """African countries one per line in reverse alphabetical order: lines stripped of ASCII punctuation
    and spaces, blank ones dropped; from the first line containing "Zimbabwe", at least 52 lines whose
    ASCII-folded forms are in descending order (the lines are not checked to be countries)."""

    id = "ifbench.custom_reverse_newline"
    aliases = (IFBenchAlias("custom:reverse_newline"),)
    templates = ("List the countries of Africa in reverse alphabetical order, each on a new line.",)

    def check_ifbench(self, text: str) -> bool:
        lines = [s for s in (line.strip(PUNCT_SPACE) for line in text.split("\n")) if s]
        start = next((i for i, line in enumerate(lines) if "Zimbabwe" in line), None)
        if start is None or len(lines) - start < 52:
            return False
        folded = [_ascii_fold(line) for line in lines[start:]]
        return folded == sorted(folded, reverse=True)


class SentenceAlphabet(IFBenchConstraint):
    """26 Punkt sentences, the i-th starting with the i-th letter of the alphabet (case-insensitive).

    ifbench: the first character of the first whitespace token is compared, so a sentence opening with a
    quote fails.  native: leading punctuation (ASCII and curly quotes) of that token is skipped.
    """

    id = "ifbench.custom_sentence_alphabet"
    aliases = (IFBenchAlias("custom:sentence_alphabet"),)
    templates = ("Tell me a 26-sentence story whose sentences start with the letters of the alphabet in order.",)
    fixed = "a sentence's first letter is found after any leading quote or punctuation"

    def _check(self, text: str, skip: str) -> bool:
        found = tuple(islice(iter_sentences(text), 27))  # a 27th sentence already fails
        if len(found) != 26:
            return False
        for i, sentence in enumerate(found):
            tokens = sentence.lstrip().split()
            first = tokens[0].lstrip(skip) if tokens else ""
            if not first or first[0].lower() != chr(97 + i):
                return False
        return True

    def check_ifbench(self, text: str) -> bool:
        return self._check(text, "")

    def check_native(self, text: str) -> bool:
        return self._check(text, PUNCT + "\u201c\u201d\u2018\u2019\u00ab\u00bb")

    def observe(self, text: str) -> str:
        return plural(len(sentences(text)), "sentence")


class WordReverse(IFBenchConstraint):
    """The answer with its words in reverse order: lower-cased, stripped, ASCII punctuation deleted and the
    words reversed back, the text must contain "bald eagle" and be one of its own Punkt sentences."""

    id = "ifbench.custom_word_reverse"
    aliases = (IFBenchAlias("custom:word_reverse"),)
    templates = ("What animal is the national symbol of the US? Answer with your sentence's words in reverse order.",)

    def check_ifbench(self, text: str) -> bool:
        value = " ".join(text.lower().strip().translate(DELETE_PUNCT).split()[::-1])
        return "bald eagle" in value and value in sentences(value)


TYPES = (CharacterReverse, CsvCity, CsvQuotes, CsvSpecialCharacter, DateFormatList, EuropeanCapitalsSort,
         McqCountLength, Multiples, ReverseNewline, SentenceAlphabet, WordReverse)
