"""Column widths for export tables, measured from their content (shared by the PDF and the DOCX).

A fixed table layout is cheap to lay out (WeasyPrint and word processors take the widths as
given instead of measuring every cell), but equal columns break words ("Insignifica nt") and
waste space. So each table's widths are computed here, once, from its text:

- a column is never narrower than its longest word (up to `WORD_LIMIT` characters: a longer
  word, such as a long URL, may break) plus the cell padding;
- the rest of the width goes to the columns whose text would like more (their longest line),
  in proportion to how much more;
- when even the longest words do not fit side by side, the table's font gets smaller (down to
  the last of `font_sizes`), then the columns share the width in proportion to their words.

Text is measured with the advance widths of DejaVu Sans (the PDF's font, see static/fonts),
regular for the body and bold for the header row. Word processors show the DOCX in Calibri
(or its metric twin Carlito), which is narrower, or fall back to DejaVu Sans: a width that
fits DejaVu fits both. Only the text decides the widths, so the same table always gets the same
widths (the exports' bytes must not depend on the machine).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Words of up to this many characters are never broken inside a cell.
WORD_LIMIT = 20
UNITS_PER_EM = 2048
# Advance widths of printable ASCII (space .. tilde) in DejaVu Sans and DejaVu Sans Bold, in
# 1/2048 em, read from static/fonts/DejaVuSans.ttf and DejaVuSans-Bold.ttf.
_REGULAR = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577,
    1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401,
    2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298,
    569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075,
    1303, 690, 1303, 1716,
)
_BOLD = (
    713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748, 1425, 1425, 1425,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188, 2048, 1585, 1561, 1503, 1700,
    1399, 1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741, 1501, 1741, 1577, 1475, 1397, 1663, 1585,
    2259, 1579, 1483, 1485, 936, 748, 936, 1716, 1024, 1024, 1382, 1466, 1214, 1466, 1389, 891, 1466, 1458,
    702, 702, 1362, 702, 2134, 1458, 1407, 1466, 1466, 1010, 1219, 979, 1458, 1335, 1892, 1321, 1335, 1192,
    1458, 748, 1458, 1716,
)
_WIDE = UNITS_PER_EM  # CJK and other wide characters: one em
_OTHER = 1400  # anything else not in the table: about a capital letter


def _advance(char: str, table: tuple[int, ...]) -> int:
    code = ord(char)
    if 32 <= code < 127:
        return table[code - 32]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return _WIDE
    base = unicodedata.normalize("NFD", char)[0]  # "é" measures as "e"
    if base != char and 32 <= ord(base) < 127:
        return table[ord(base) - 32]
    return _OTHER


@lru_cache(maxsize=4096)
def text_units(text: str, bold: bool = False) -> int:
    """The advance width of `text` on one line, in 1/2048 em."""
    table = _BOLD if bold else _REGULAR
    return sum(_advance(char, table) for char in text)


def _word_units(word: str, bold: bool) -> int:
    return text_units(word[:WORD_LIMIT], bold)


@dataclass(frozen=True)
class TableLayout:
    """A table's font size and column widths (points; they add up to the width asked for)."""

    font_size: float
    widths: tuple[float, ...]

    def percentages(self) -> list[str]:
        """The widths as CSS percentages of the table ("12.34%"), adding up to 100%."""
        total = sum(self.widths) or 1.0
        return [f"{100 * width / total:.2f}%" for width in self.widths]


def _column_units(headers: Sequence[str], rows: Sequence[Sequence[str]], columns: int) -> tuple[list[int], list[int]]:
    """Per column: (longest word, longest line) in 1/2048 em, the header row in bold."""
    words = [0] * columns
    lines = [0] * columns
    for index, text in enumerate(headers[:columns]):
        for line in str(text).splitlines() or [""]:
            lines[index] = max(lines[index], text_units(line, True))
            for word in line.split():
                words[index] = max(words[index], _word_units(word, True))
    for row in rows:
        for index, text in enumerate(row[:columns]):
            for line in str(text).splitlines():
                lines[index] = max(lines[index], text_units(line))
                for word in line.split():
                    words[index] = max(words[index], _word_units(word, False))
    return words, lines


def table_layout(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: float, padding: float,
    font_sizes: Sequence[float], columns: int | None = None,
) -> TableLayout:
    """Font size and column widths (points) for a table `width` points wide.

    `padding` is what a cell adds to its text (left and right padding and a border), in points;
    `font_sizes` the sizes to try, largest first.
    """
    columns = columns or max([len(headers), *(len(row) for row in rows)], default=1) or 1
    word_units, line_units = _column_units(headers, rows, columns)
    for size in font_sizes:
        scale = size / UNITS_PER_EM
        # A little room for rounding and for a word processor's own text measuring.
        minimum = [units * scale * 1.04 + padding for units in word_units]
        if sum(minimum) <= width or size == font_sizes[-1]:
            break
    wanted = [max(low, min(units * scale * 1.02 + padding, width))
              for units, low in zip(line_units, minimum, strict=True)]
    if sum(wanted) <= width:  # everything fits on one line: share the rest in proportion
        widths = [w * width / sum(wanted) for w in wanted]
    elif sum(minimum) <= width:
        widths = _share(minimum, wanted, width)
    else:  # even the words do not fit: shrink every column alike
        widths = [low * width / sum(minimum) for low in minimum]
    return TableLayout(font_size=size, widths=tuple(widths))


def _share(minimum: list[float], wanted: list[float], width: float) -> list[float]:
    """Widths when the longest words fit but not every line: a column whose longest line fits in
    an equal share of the width left gets it whole (a short column never wraps, "Role 10"),
    then the others get their longest word and the rest in proportion to how much more they want.
    """
    widths: list[float | None] = [None] * len(wanted)
    left, open_columns = width, list(range(len(wanted)))
    while open_columns:
        share = left / len(open_columns)
        settled = [index for index in open_columns if wanted[index] <= share]
        if not settled or left - sum(wanted[i] for i in settled) < sum(
                minimum[i] for i in open_columns if i not in settled):
            break
        for index in settled:
            widths[index] = wanted[index]
            left -= wanted[index]
        open_columns = [index for index in open_columns if index not in settled]
    spare = left - sum(minimum[i] for i in open_columns)
    extra = sum(wanted[i] - minimum[i] for i in open_columns)
    for index in open_columns:
        widths[index] = minimum[index] + (spare * (wanted[index] - minimum[index]) / extra if extra else
                                          spare / len(open_columns))
    return [w for w in widths if w is not None]
