"""Word, digit and space characters as the third-party ``regex`` engine defines them.

NLTK's tokenizers run most of their patterns on ``regex``, whose ``\\w``, ``\\d`` and ``\\s`` differ from
those of Python's ``re``: its ``\\w`` takes in combining marks and leaves out other numbers such as
"²", its ``\\s`` leaves out the separators U+001C..U+001F, and its Unicode tables are its own rather
than the running Python's.  :mod:`ifverify.verifiers.tokenize` runs on ``re`` with these tables, so
it matches what NLTK matches on every code point.

The tables were read off ``regex`` :data:`REGEX_VERSION`, and they are fixed: the tokenizers give the
same tokens whatever ``regex`` (or Python) is installed.  ``regex`` releases update their Unicode data
(2026.11.19 classifies 12,860 newly assigned code points otherwise), so the development extra pins
``regex`` to :data:`REGEX_VERSION`, and ``tests/verifiers/test_tokenize.py`` checks the tables against it
on all 1,114,112 code points; NLTK, the tests' oracle, then runs on the same classes.  To move to a newer
``regex``, change the pin and replace the block from ``REGEX_VERSION`` to ``SPACE`` with the output of
``python -m ifverify.verifiers._charclasses``.
"""

from __future__ import annotations

import string
from bisect import bisect_right
from functools import cache

REGEX_VERSION = "2026.5.9"

# Ranges of code points, packed: for each range, in base 36, the gap since the end of the previous
# range (or since -1), then "+" and the range's length less one when it holds more than one code point.
#: ``regex`` ``\\w``.
WORD = (
    "1d+9 8+p 5 2+p 1c b 5 6+m 2+u 2+cp 5+b f+4 8 2 i+38 2+1 3+3 2 7 2+2 2 2+j 2+2a 2+3u 2+4s 2+11 3 7+14 9+18 2 "
    "2+1 2+1 2 9+q 5+3 u+a 6+21 5+2t 2+7 3+9 2+i 3 h+1m 3+2s f+1h 5 3 3+19 j+r 5+a 6+n 2+6 8+22 2+3k 3+9 2+i 2+7 "
    "3+1 3+l 2+6 2 4+3 3+8 3+1 3+3 9 5+1 2+4 3+b b 2 3+2 2+5 5+1 3+l 2+6 2+1 2+1 2+1 3 2+4 5+1 3+2 4 8+3 2 8+f "
    "c+2 2+8 2+2 2+l 2+6 2+1 2+4 3+9 2+2 2+2 3 g+3 3+9 a+6 2+2 2+7 3+1 3+l 2+6 2+1 2+4 3+8 3+1 3+2 8+2 5+1 2+4 "
    "3+9 2 h+1 2+5 4+2 2+3 4+1 2 2+1 4+1 4+2 4+b 5+4 4+2 2+3 3 7 f+9 h+c 2+2 2+m 2+f 3+8 2+2 2+3 8+1 2+2 2+1 3+3 "
    "3+9 h+3 2+7 2+2 2+m 2+9 2+4 3+8 2+2 2+3 8+1 6+2 2+3 3+9 2+2 d+c 2+2 2+1e 2+2 2+4 6+3 8+4 3+9 b+5 2+2 2+h 4+n "
    "2+8 2 3+6 4 5+5 2 2+7 7+9 3+1 e+1l 6+e 2+9 14+1 2 2+4 2+n 2 2+m 3+4 2 2+6 2+9 3+3 x o+1 7+9 c 2 2 5+9 2+z "
    "5+j 2+h 2+z a 1m+21 7+25 3+11 2 6 3+16 2+98 2+3 3+6 2 2+3 3+14 2+3 3+w 2+3 3+6 2 2+3 3+e 2+1k 2+3 3+1u 3+2 "
    "x+f h+2d 3+5 4+h7 3+g 2+p 6+22 4+a 8+l a+l c+j d+c 2+2 2+1 d+2b 4 5+1 3+9 y+2 2+a 7+2g 8+16 6+1x b+u 2+b 5+b "
    "b+13 3+4 c+17 5+p 7+9 13+r 5+1q 2+s 3+a 7+9 e 9+19 3+b l+24 4+9 i+8 d+37 d+1j 9+9 4+1c 3+a 6+16 3+2 h+2 2+12 "
    "6+et 3+5 3+11 3+5 3+7 2 2 2 2+u 3+1g 2+6 2 4+2 2+6 4+3 3+5 5+c 6+2 2+6 g+1 1e+1 k t e h+c 1g+w i 5 3+9 2 4+4 "
    "7 2 2 2+3 2+a 3+3 6+4 5 i+14 mm+1f 1ef+6c 7+8 d+11 2 6 3+1j 8 g+n a+6 2+6 2+6 2+6 2+6 2+6 2+6 2+6 2+v 1c "
    "d2+2 q+e 2+4 3+4 5+2d 3+1 3+2 2+2h 2+3 6+16 2+2l i+v 1d+f e9+533 1t+h3g 1w+19 3+7g 4+r l+1e 2+9 2+36 12+8 "
    "3+2u 3+29 l+1i 5 k+1f d+1x b+9 7+n 4 2+1c 3+z d+s 4+1s f+a 7+u 2+1i a+d 3+9 7+m 4+20 p+2 3+f 3+4 b+5 3+5 3+5 "
    "a+6 2+6 2+16 2+d 7+3e 2+1 3+9 7+8mb d+m 5+1c 6it+a5 3+2x 13+6 d+4 6+b 2+c 2+4 2 2+1 2+1 2+2z y+a2 j+1r 3+1h "
    "15+b 5+f h+f 4+1 p+2 x+4 2+3q k+9 8+p 5 2+p c+2g 4+5 3+5 3+5 3+2 10+b 2+p 2+i 2+1 2+e 3+d z+3e 1y+1g 3t 3n+s "
    "4+1c g w+v e+t 6+16 6+t 3+z 5+7 2+4 17+4d 3+9 7+z 5+z 5+13 9+1f d+a 2+e 2+6 2+1 2+a 2+e 2+6 2+1 4+1f d+8m "
    "a+l b+7 p+5 2+15 2+8 1y+5 3 2+17 2+1 4 3+m b+m a+u 1u+i 2+1 b+l b+p 7+p 13+1j 7+1 1t+3 2+1 6+7 2+2 2+s 3+2 5 "
    "x+s 4+s 10+7 2+t q+1h b+l b+i e+h 33+20 1k+1e e+1e e+13 9+9 7+11 4+4 2+m 6z+15 2+1 4+1 h+5 1f+y b 9+w w+l "
    "17+k s+m a+1y w+f a+1n 8 e+o 8+9 7+1g 2+9 5+3 9+z 3 a+1w 5+3 2+c 2 10+h 2+10 7+3 1r+6 2 2+3 2+e 2+9 8+1m 6+9 "
    "7+3 2+7 3+1 3+l 2+6 2+1 2+4 2+9 3+1 3+2 3 7 6+6 3+6 4+4 c+9 2 3 2+11 2+9 2 3 2+3 2+7 e+1 u+22 6+9 5+3 v+1x 2 "
    "9+9 4n+1h 3+8 o+5 z+1s 4 c+9 13+1k 8+9 7+j t+q 3+e 5+9 7+6 56+1m 2u+21 m+7 3 3+7 2+1 2+t 2+1 3+8 d+9 1z+7 "
    "3+19 3+7 2+1 s+1q 9 9+21 4 j+20 2w+7 2h+w g+9 7+8 2+18 2+8 g+9 p+t 3+l 2+d 22+6 2+1 2+17 4 2+1 2+8 9+9 7+5 "
    "2+1 2+10 2+1 2+5 8+9 7+17 5+9 6v+m a+g 2+14 4+4 e+a 2e 28+pl 2v+32 i+5f 219+2o g+tr h+l b+32y 6+g6 5a2+1l "
    "1c7+fs 8+u 2+9 7+26 2+9 7+t 3+4 c+1i a+3 d+9 a+k 6+i c1+18 4+9 5j+1r x+o 3+o 19+22 5+1k 8+g 1t+1 2+1 c+6 "
    "a+5p1 16+v 2q+36 6pq+3 2+6 2+1 2+82 g u+2 3 f+3 9+az 1s5+2y 6+c 4+8 8+9 4+1 382+9 ef+19 3+m f3+4 4+5 9+7 3+6 "
    "v+3 45+2 cc+2c 2+1y 2+1 3 3+1 3+3 2+b 2 2+6 2+1s 2+3 3+7 2+6 2+r 2+3 2+4 2 4+6 2+9f 3+o 2+o 2+u 2+o 2+u 2+o "
    "2+u 2+o 2+u 2+o 2+7 3+1d e9+1i 5+1d 9 f n+4 2+e up+u 7+5 5y+6 2+g 3+6 2+1 2+4 6+1p y 35+18 4+d 3+9 5 8y+u "
    "i+1l d3+15 5z+16 5i+u 2+l 9+1 69+6 2+3 2+1 2+e 2+5g c+6 16+23 5+9 x3+3 2+q 2+1 2 3 2+9 2+3 2 2 7 5 2 2 2+2 "
    "2+1 2 3 2 2 2 2 2+1 2 3+3 2+6 2+3 2+3 2 2+9 2+g 6+2 2+4 2+g hh+p 7+p 7+p 21z+9 sn+wyn x+3dp 3+4gd 3+5rk g+h9 "
    "1wj+f1 15v+3t6 6+6jt f62v+6n"
)
#: ``regex`` ``\\d``.
DIGIT = (
    "1d+9 17r+9 3r+9 5j+9 bh+9 3b+9 3b+9 3b+9 3b+9 3b+9 3b+9 3b+9 3b+9 3b+9 2p+9 3b+9 1z+9 7r+9 1z+9 1fr+9 13+9 "
    "8d+9 3l+9 4n+9 7+9 53+9 2f+9 3r+9 7+9 r7r+9 iv+9 13+9 5j+9 n+9 2f+9 bb+9 gev+9 13b+9 1on+9 7+9 m5+9 3l+9 "
    "1p+9 41+9 7r+9 9j+9 3b+9 af+9 2v+9 7+j 25+9 br+9 2v+9 if+9 2f+9 6v+9 1z+9 1j+9 9z+9 d07+9 1t3+9 2f+9 3r+9 "
    "ev+9 iuv+9 251+1d 1tt+9 br+9 dz+9 6w+9 nq+9 3o7+9"
)
#: ``regex`` ``\\s``.
SPACE = (
    "a+4 j 2t r 4bk 1vk+a u+1 6 1c 335"
)

_BASE36 = string.digits + string.ascii_lowercase
_PACKING_NOTE = ("# Ranges of code points, packed: for each range, in base 36, the gap since the end of the previous\n"
                 "# range (or since -1), then \"+\" and the range's length less one when it holds more than one code "
                 "point.")


def unpack(packed: str) -> tuple[tuple[int, int], ...]:
    """The ``(first, last)`` code point ranges of a packed table, in order."""
    ranges = []
    last = -1
    for item in packed.split():
        gap, _, extra = item.partition("+")
        first = last + int(gap, 36)
        last = first + (int(extra, 36) if extra else 0)
        ranges.append((first, last))
    return tuple(ranges)


def pack(ranges: list[tuple[int, int]]) -> str:
    """The inverse of :func:`unpack`."""

    def base36(number: int) -> str:
        digits = ""
        while True:
            number, digit = divmod(number, 36)
            digits = _BASE36[digit] + digits
            if not number:
                return digits

    items, last = [], -1
    for first, end in ranges:
        items.append(base36(first - last) + (f"+{base36(end - first)}" if end > first else ""))
        last = end
    return " ".join(items)


def class_body(packed: str) -> str:
    """The ranges of a packed table as the body of an ``re`` character class (``[...]`` without brackets)."""
    return "".join(f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}"
                   for first, last in unpack(packed))


@cache
def _starts_and_ends(packed: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ranges = unpack(packed)
    return tuple(first for first, _ in ranges), tuple(last for _, last in ranges)


def member(char: str, packed: str) -> bool:
    """Whether ``char`` lies in one of the ranges of a packed table."""
    starts, ends = _starts_and_ends(packed)
    index = bisect_right(starts, ord(char)) - 1
    return index >= 0 and ord(char) <= ends[index]


def is_word(char: str) -> bool:
    """``regex`` ``\\w`` on one character."""
    if char < "\x80":
        return char.isalnum() or char == "_"
    return member(char, WORD)


def is_digit(char: str) -> bool:
    """``regex`` ``\\d`` on one character."""
    if char < "\x80":
        return "0" <= char <= "9"
    return member(char, DIGIT)


def _wrapped(packed: str, width: int = 108) -> str:
    lines, line = [], ""
    for item in packed.split():
        if line and len(line) + len(item) + 1 > width:
            lines.append(f'    "{line} "')
            line = ""
        line = f"{line} {item}" if line else item
    lines.append(f'    "{line}"')
    return "\n".join(lines)


def generate() -> str:
    """The table block of this module (from ``REGEX_VERSION`` to ``SPACE``) read off the installed ``regex``.

    Slow (a few seconds): it asks ``regex`` about every code point.
    """
    import sys

    import regex

    def ranges(pattern: str) -> list[tuple[int, int]]:
        match = regex.compile(pattern).match
        found: list[tuple[int, int]] = []
        for point in range(sys.maxunicode + 1):
            if match(chr(point)):
                if found and found[-1][1] == point - 1:
                    found[-1] = (found[-1][0], point)
                else:
                    found.append((point, point))
        return found

    blocks = [f'REGEX_VERSION = "{regex.__version__}"\n', _PACKING_NOTE]
    for name, code in (("WORD", "w"), ("DIGIT", "d"), ("SPACE", "s")):
        blocks.append(f"#: ``regex`` ``\\\\{code}``.\n{name} = (\n{_wrapped(pack(ranges(chr(92) + code)))}\n)")
    return "\n".join(blocks) + "\n"


if __name__ == "__main__":
    print(generate(), end="")
