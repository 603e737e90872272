"""How the report writes a number or a list, in either language: a mean over seeds with its
spread, an accuracy difference in percentage points, a time to two significant digits, a list
joined with 和 or "and"; and ``say``, the one lookup of the report's words: each language has
its own tables, the findings' sentences (phrases_zh.py, phrases_en.py) and the report's own
words (words_zh.py, words_en.py), and ``say`` fills in an entry's fields."""

from __future__ import annotations

import math

from softmax_mnist.study.report import phrases_en, phrases_zh, words_en, words_zh
from softmax_mnist.study.results import Stat

# each language's whole table: the findings' sentences and the report's own words, no key in both
PHRASES = {"zh": {**phrases_zh.PHRASES, **words_zh.WORDS},
           "en": {**phrases_en.PHRASES, **words_en.WORDS}}


def four_places(x) -> str:
    """A value to four decimal places, or '–' when there is none."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def mean_sd(stat: Stat) -> str:
    """'0.9348 ± 0.0012' (mean ± sd over seeds), or the one value."""
    if not stat.n:
        return "–"
    return f"{stat.mean:.4f} ± {stat.sd:.4f}" if stat.n > 1 else f"{stat.mean:.4f}"


def points(x: float) -> str:
    """An accuracy difference in percentage points: '1.46'."""
    return f"{abs(x) * 100:.2f}"


def two_significant(x: float) -> str:
    """``x`` to two significant digits, as a time measured on a shared machine deserves:
    0.57, 1.1, 12, 350."""
    if not x or not math.isfinite(x):
        return f"{x:g}"
    places = 1 - math.floor(math.log10(abs(x)))
    return f"{round(x, places):.{max(places, 0)}f}"


def join_words(items: list[str], lang: str) -> str:
    """'a, b and c' / 'a、b 和 c'."""
    if len(items) <= 1:
        return "".join(items)
    if lang == "zh":  # a space between 和 and a number or Latin word, as around any of them
        head = "、".join(items[:-1])
        return (head + (" " if head[-1:].isascii() else "") + "和"
                + (" " if items[-1][:1].isascii() else "") + items[-1])
    return ", ".join(items[:-1]) + " and " + items[-1]


def reference(ref: str, lang: str) -> str:
    """A setting compared against, as it follows 比 or 与 in Chinese: a space before a number
    or a Latin word; English takes it as it is."""
    return (" " if lang == "zh" and ref[:1].isascii() else "") + ref


def say(lang: str, key: str, **fields) -> str:
    """Entry ``key`` in ``lang`` ("zh" or "en"), a finding's sentence or one of the report's own
    words, its ``{fields}`` filled in."""
    return PHRASES[lang][key].format(**fields)
