"""A document as a list of blocks, written as Typst (report.typ -> report.pdf) and Markdown.

report.py builds the blocks; this module only renders them. The PDF is typeset by Typst
(the ``typst`` package embeds the compiler) with the template shipped in
``softmax_mnist/study/report/templates/report.typ``, copied next to report.typ so that the folder
recompiles on its own after a student edits the text.

In a block's text, ``@fig-x`` / ``@tab-x`` / ``@eq-x`` refer to a labelled figure, table or
equation (Typst numbers them; Markdown writes "Figure 3"), and `code` is inline code.
Everything else is plain text: the Typst renderer escapes its markup characters. Text from
outside the program (a folder name, a field of results.json) is wrapped in ``literal(...)``: it
is shown exactly as it is, even inside `code` or $math$, in Typst and in Markdown alike.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from softmax_mnist.errors import DataError, command
from softmax_mnist.fileio import atomic_write, atomic_write_text
from softmax_mnist.study.report import fonts
from softmax_mnist.study.report.wording import say

TEMPLATE = "template.typ"


class TypesetError(DataError):
    """The report could not be typeset (a missing font, a report.typ that does not compile)."""


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str
    label: str
    align: str = ""  # one letter per column, l or r; default: first left, the rest right


@dataclass
class Image:
    path: str  # relative to the document's folder
    caption: str
    label: str
    width: float = 1.0  # fraction of the text width


@dataclass
class Math:
    typst: str
    latex: str
    label: str = ""


@dataclass
class Code:
    source: str
    caption: str
    label: str


@dataclass
class Document:
    title: str
    subtitle: str
    lang: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> None:
        self.blocks.extend(blocks)


# ---- fonts ---------------------------------------------------------------------------------


def check_fonts(lang: str) -> None:
    """A one-line error when ``lang`` needs a font this machine lacks (never boxes for
    characters); the fonts themselves are found in fonts.py."""
    if lang == "zh" and fonts.cjk_fonts()["serif"] is None:
        raise TypesetError(fonts.missing_font_message())


# ---- Typst ---------------------------------------------------------------------------------

_TYPST_SPECIAL = re.compile(r"([\\*_$#@<>\[\]~`/])")
_REF = re.compile(r"@((?:fig|tab|eq|code)-[A-Za-z0-9_-]+)")
_CJK = "[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]"
# Chinese puts no space between a character and a reference ("由式 1 和式 2"): the source's
# spaces around a reference next to a CJK character go; Typst then spaces "式 1" itself
_SPACE_BEFORE_REF = re.compile(rf"(?<={_CJK})[ ]+(?=@(?:fig|tab|eq|code)-)")
_SPACE_AFTER_REF = re.compile(rf"(@(?:fig|tab|eq|code)-[A-Za-z0-9_-]+)[ ]+(?={_CJK})")
_LITERAL = re.compile("\ue000([^\ue000\ue001]*)\ue001")  # literal()'s marks (private-use characters)
_HELD = re.compile("\ue002(\\d+)\ue003")  # where a literal waits while the markup around it is read


def literal(text) -> str:
    """``text`` from outside the program (a folder name, a results.json field), marked so that
    both renderers show it exactly as it is: nothing in it is markup (no `code`, $math$, #call,
    @reference). Line breaks and other control characters become spaces."""
    clean = re.sub("[\x00-\x1f\x7f\u2028\u2029]", " ", re.sub("[\ue000-\ue003]", "", str(text)))
    return "\ue000" + clean + "\ue001"


def _hold(text: str) -> tuple[str, list[str]]:
    """``text`` with each literal() replaced by a mark free of markup characters, and the literals."""
    held: list[str] = []

    def keep(m: re.Match) -> str:
        held.append(m.group(1))
        return f"\ue002{len(held) - 1}\ue003"

    return _LITERAL.sub(keep, text), held


def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plain(text: str) -> str:
    """``text`` with literal()'s marks removed (the literal text as it is)."""
    return _LITERAL.sub(lambda m: m.group(1), text)


def _esc(text: str) -> str:
    """Plain text -> Typst markup that shows exactly that text."""
    out = _TYPST_SPECIAL.sub(r"\\\1", text)
    return "\\" + out if out[:1] in ("-", "+", "=") else out  # list or heading markers


def typst_text(text: str) -> str:
    """Prose with `code` spans and @fig-x references -> Typst markup; each literal() a Typst string
    (shown as it is: ``#"...";`` in markup, ``"..."`` in math, ``#raw("...");`` for code)."""
    text, held = _hold(text)
    text = _SPACE_AFTER_REF.sub(r"\1", _SPACE_BEFORE_REF.sub("", text))
    parts = re.split(r"(`[^`]*`|\$[^$]+\$)", text)
    out = []
    for part in parts:
        if len(part) > 1 and part[0] == part[-1] and part[0] in "`$":
            if part[0] == "`" and _HELD.search(part):  # code around outside text: a string, not markup
                out.append("#raw(" + _typst_string(_HELD.sub(lambda m: held[int(m.group(1))], part[1:-1]))
                           + ");")
            else:  # inline raw and inline math (Typst syntax) pass through
                out.append(_HELD.sub(lambda m: _typst_string(held[int(m.group(1))]), part))
            continue
        pieces = _REF.split(part)
        for i, piece in enumerate(pieces):
            out.append(f"#ref(<{piece}>)" if i % 2 else _esc(piece))
    return _HELD.sub(lambda m: "#" + _typst_string(held[int(m.group(1))]) + ";", "".join(out))


def _content(text: str) -> str:
    return "[" + typst_text(text) + "]"


def to_typst(doc: Document) -> str:
    """The Typst source of ``doc``, importing the template from the same folder."""
    lines = [f'#import "{TEMPLATE}": report, booktab',
             f'#show: report.with(title: {_content(doc.title)}, '
             f'subtitle: {_content(doc.subtitle)}, lang: "{doc.lang}")', ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            lines.append("=" * block.level + " " + typst_text(block.text))
        elif isinstance(block, Para):
            lines.append(typst_text(block.text))
        elif isinstance(block, Bullets):
            lines += [f"- {typst_text(item)}" for item in block.items]
        elif isinstance(block, Table):
            align = block.align or "l" + "r" * (len(block.header) - 1)
            cols = ", ".join({"l": "left", "r": "right", "c": "center"}[a] for a in align)
            cells = ", ".join(_content(c) for row in block.rows for c in row)
            header = ", ".join(_content(h) for h in block.header)
            lines.append(f"#figure(booktab(columns: {len(block.header)}, align: ({cols},), "
                         f"header: ({header},), {cells}), caption: {_content(block.caption)}, "
                         f"kind: table) <{block.label}>")
        elif isinstance(block, Image):
            # a picture that does not fit the rest of the page floats to the top or bottom of
            # a page while the text goes on filling this one: no half-empty pages
            lines.append(f'#figure(image("{block.path}", width: {block.width * 100:g}%), placement: auto, '
                         f"caption: {_content(block.caption)}) <{block.label}>")
        elif isinstance(block, Math):
            lines.append(f"$ {block.typst} $" + (f" <{block.label}>" if block.label else ""))
        elif isinstance(block, Code):
            fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", block.source)), default=0) + 1)
            lines.append(f"#figure({fence}python\n{block.source}\n{fence}, "
                         f"caption: {_content(block.caption)}, kind: raw) <{block.label}>")
        else:
            raise TypeError(block)
        lines.append("")
    return "\n".join(lines)


def compile_pdf(typ_path: str | os.PathLike, pdf_path: str | os.PathLike | None = None) -> int:
    """Compile ``report.typ`` (its folder holds the template and figures) into ``pdf_path``
    (default: report.pdf next to it), atomically; returns the number of pages."""
    import typst

    typ_path = Path(typ_path)
    try:
        # the CJK fonts the figures use, by name (sys.inputs) and folder, and no other system font
        pdf = typst.compile(str(typ_path), root=str(typ_path.parent), **fonts.typst_options())
    except Exception as e:  # typst raises its own error types with the message and location
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TypesetError(f"{typ_path} does not compile: {first}; fix the file, or rebuild "
                           f"it with `{command('report', typ_path.parent)}`") from None
    atomic_write(Path(pdf_path) if pdf_path else typ_path.with_suffix(".pdf"), lambda f: f.write(pdf))
    m = re.search(rb"/Type\s*/Pages\s*/Count\s+(\d+)", pdf)  # the page tree's root
    return int(m.group(1)) if m else len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def write_typst(doc: Document, folder: str | os.PathLike, name: str = "report.typ") -> Path:
    """``name`` (report.typ) and the template into ``folder``; returns the path of ``name``."""
    folder = Path(folder)
    template = resources.files("softmax_mnist.study.report").joinpath("templates", "report.typ")
    with resources.as_file(template) as src:
        atomic_write(folder / TEMPLATE, lambda f: f.write(Path(src).read_bytes()))
    return atomic_write_text(folder / name, to_typst(doc))


# ---- Markdown ------------------------------------------------------------------------------

_LATEX_WORDS = {"partial": r"\partial", "sum": r"\sum", "log": r"\log", "max": r"\max",
                "mu": r"\mu", "eta": r"\eta", "dot": r"\cdot"}


def _group(text: str, start: int, step: int) -> int:
    """The index just past the bracketed group that starts at ``start`` (step 1: "(" forward)
    or ends at it (step -1: ")" backward); -1 when unbalanced."""
    depth, i = 0, start
    while 0 <= i < len(text):
        depth += {"(": step, ")": -step}.get(text[i], 0)
        if depth == 0:
            return i + step
        i += step
    return -1


def _fractions(math: str) -> str:
    """Typst's grouped fractions (a) / (b) -> \\frac{a}{b}, innermost and leftmost first."""
    while True:
        m = re.search(r"\)\s*/\s*\(", math)
        if not m:
            return math
        top_end, bottom_start = m.start(), m.end() - 1
        top_start = _group(math, top_end, -1) + 1
        bottom_end = _group(math, bottom_start, 1)
        if top_start <= 0 and math[:1] != "(" or bottom_end < 0:
            return math
        top, bottom = math[top_start + 1: top_end], math[bottom_start + 1: bottom_end - 1]
        math = f"{math[:top_start]}\\frac{{{top}}}{{{bottom}}}{math[bottom_end:]}"


def latex_of(math: str) -> str:
    """The inline Typst math of the report's prose as LaTeX: x_(i c) -> x_{i c}, partial ->
    \\partial, sum_(k=1)^C -> \\sum_{k=1}^C, (a) / (b) -> \\frac{a}{b} (the constructs the
    prose uses)."""
    out = _fractions(math)
    prev = None
    while out != prev:  # innermost brackets first, so nested ones convert too
        prev, out = out, re.sub(r"([_^])\(([^()]*)\)", r"\1{\2}", out)
    return re.sub(r"(?<![A-Za-z\\])(" + "|".join(_LATEX_WORDS) + r")(?![A-Za-z])",
                  lambda m: _LATEX_WORDS[m.group(1)], out)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$~])")  # what could start markup inside a line


def to_markdown(doc: Document) -> str:
    """``doc`` as Markdown (GitHub's: $$ math $$, pipe tables), numbered as the PDF is."""
    numbers, counts = {}, {"fig": 0, "tab": 0, "eq": 0, "code": 0}
    for block in doc.blocks:
        label = getattr(block, "label", "")
        if label:
            kind = label.split("-", 1)[0]
            counts[kind] += 1
            numbers[label] = counts[kind]
    names = {kind: say(doc.lang, f"reference.{kind}") for kind in counts}

    def ref(m: re.Match) -> str:
        label = m.group(1)
        kind = label.split("-", 1)[0]
        n = numbers.get(label, "?")
        return f"{names[kind]} {n}"  # as Typst writes a reference: "Figure 3", "式 3"

    def text(t: str) -> str:
        t, held = _hold(t)
        t = re.sub(r"\$([^$]+)\$", lambda m: "$" + latex_of(m.group(1)) + "$", t)
        t = _REF.sub(ref, _SPACE_BEFORE_REF.sub("", t))  # "见表 4", the number then spaced
        # a literal shows as it is: backslash-escaped outside code spans, as it is inside them
        parts = re.split(r"(`[^`]*`)", t)
        return "".join(_HELD.sub(lambda m, code=i % 2: held[int(m.group(1))].replace("`", "'") if code
                                 else _MD_SPECIAL.sub(r"\\\1", held[int(m.group(1))]), part)
                       for i, part in enumerate(parts))

    out = [f"# {text(doc.title)}", f"*{text(doc.subtitle)}*"]
    heading_numbers = [0, 0, 0]  # the current section number, level by level
    for block in doc.blocks:
        if isinstance(block, Heading):
            heading_numbers[block.level - 1] += 1
            heading_numbers[block.level:] = [0] * (len(heading_numbers) - block.level)
            num = ".".join(str(x) for x in heading_numbers[: block.level])
            out.append("#" * (block.level + 1) + f" {num} {text(block.text)}")
        elif isinstance(block, Para):
            out.append(text(block.text))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {text(i)}" for i in block.items))
        elif isinstance(block, Table):
            align = block.align or "l" + "r" * (len(block.header) - 1)
            rule = "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"
            def row(cells) -> str:
                return "| " + " | ".join(plain(c).replace("|", "\\|") for c in cells) + " |"

            out.append(f"**{names['tab']} {numbers[block.label]}.** {text(block.caption)}\n\n"
                       + row(block.header) + "\n" + rule + "\n" + "\n".join(row(r) for r in block.rows))
        elif isinstance(block, Image):
            out.append(f"![{names['fig']} {numbers[block.label]}]({block.path})\n\n"
                       f"*{names['fig']} {numbers[block.label]}. {text(block.caption)}*")
        elif isinstance(block, Math):
            tag = f" \\tag{{{numbers[block.label]}}}" if block.label else ""
            out.append(f"$$\n{block.latex}{tag}\n$$")
        elif isinstance(block, Code):
            out.append(f"**{names['code']} {numbers[block.label]}.** {text(block.caption)}\n\n"
                       f"```python\n{block.source}\n```")
    return "\n\n".join(out) + "\n"

