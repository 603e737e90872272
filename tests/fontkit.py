"""Fonts for tests that stand in for other systems: the installed Noto CJK SC faces renamed with
fontTools to a Windows or macOS family (e.g. "Microsoft YaHei"), and the environment that makes
only a chosen folder of fonts visible to softmax_mnist.study.report.fonts (see its docstring).

    python tests/fontkit.py OUT_DIR [--full]   # OUT_DIR/share/fonts/{msyh,simsun}.ttc

writes the simulated Windows fonts and prints the environment variables to set.
"""

from __future__ import annotations

import atexit
import functools
import io
import shutil
import sys
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

from softmax_mnist.study.report import fonts, words_zh

# the system's own fonts, looked up once before any test hides them
_SYSTEM = fonts.scan(fonts.system_font_dirs())
ASCII = "".join(chr(c) for c in range(32, 127))
TEXT = fonts.GLYPHS + ASCII + "".join(text for key, text in words_zh.WORDS.items()
                                      if key.startswith("figure."))  # what a test font holds


def noto(role: str) -> fonts.Font:
    """The installed Noto CJK SC face of ``role`` ("serif" or "sans"); fails without fonts-noto-cjk."""
    family = {"serif": "Noto Serif CJK SC", "sans": "Noto Sans CJK SC"}[role]
    faces = [f for f in _SYSTEM.get(family.lower(), []) if f.weight == 400]
    assert faces, f"{family} is not installed (Debian: apt-get install fonts-noto-cjk)"
    return faces[0]


@functools.cache
def _cut(src: fonts.Font, text: str | None) -> bytes:
    """``src`` cut to the characters of ``text`` (small and fast to use), or whole if None."""
    font = TTFont(src.path, fontNumber=src.index)
    if text is not None:
        opts = subset.Options()
        opts.layout_features, opts.notdef_outline = ["*"], True
        sub = subset.Subsetter(opts)
        sub.populate(text=text)
        sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def renamed(src: fonts.Font, family: str, text: str | None = TEXT, bold: bool = False) -> TTFont:
    """``src`` renamed ``family`` (every name record replaced, the PostScript name too); cut to
    the characters of ``text`` unless ``text`` is None (the whole font); ``bold`` marks it Bold
    (same outlines, weight 700: enough to tell which file a program took)."""
    font = TTFont(io.BytesIO(_cut(src, text)))
    style = "Bold" if bold else "Regular"
    ps = family.replace(" ", "") + "-" + style
    name = font["name"]
    name.names = []
    for nid, value in ((1, family), (2, style), (3, ps), (4, f"{family} {style}"), (6, ps),
                       (16, family), (17, style)):
        name.setName(value, nid, 3, 1, 0x409)
    if bold:
        font["OS/2"].usWeightClass = 700
        font["OS/2"].fsSelection = (font["OS/2"].fsSelection | 0x20) & ~0x40  # bold, not regular
        font["head"].macStyle |= 1
    if "CFF " in font:
        font["CFF "].cff.fontNames = [ps]
    return font


def write(path: Path, faces: list[TTFont]) -> Path:
    """One face as .ttf/.otf, several as a .ttc collection."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(faces) == 1:
        faces[0].save(path)
    else:
        coll = TTCollection()
        coll.fonts = faces
        coll.save(path)
    return path


def windows_fonts(folder: Path, text: str | None = TEXT) -> dict[str, Path]:
    """msyh.ttc (faces "Microsoft YaHei UI", "Microsoft YaHei": the one chosen is the second), its
    bold msyhbd.ttc, and simsun.ttc ("SimSun", "NSimSun") in ``folder``, as Windows has them,
    made from the installed Noto CJK SC."""
    made = _windows_fonts(text)
    folder.mkdir(parents=True, exist_ok=True)
    return {role: Path(shutil.copy(path, folder / path.name)) for role, path in made.items()}


@functools.cache
def _windows_fonts(text: str | None) -> dict[str, Path]:  # made once per process, then copied
    folder = Path(tempfile.mkdtemp(prefix="fontkit-"))
    atexit.register(shutil.rmtree, folder, True)
    sans, serif = noto("sans"), noto("serif")
    return {"sans": write(folder / "msyh.ttc", [renamed(sans, "Microsoft YaHei UI", text),
                                                renamed(sans, "Microsoft YaHei", text)]),
            "sans-bold": write(folder / "msyhbd.ttc", [renamed(sans, "Microsoft YaHei UI", text, True),
                                                       renamed(sans, "Microsoft YaHei", text, True)]),
            "serif": write(folder / "simsun.ttc", [renamed(serif, "SimSun", text),
                                                   renamed(serif, "NSimSun", text)])}


def only_fonts_env(root: Path) -> dict[str, str | None]:
    """Environment under which the fonts module sees only ``root/share/fonts`` (None: unset)."""
    (root / "home").mkdir(parents=True, exist_ok=True)
    return {"XDG_DATA_DIRS": str(root / "share"), "XDG_DATA_HOME": str(root / "data-home"),
            "HOME": str(root / "home"), "USERPROFILE": str(root / "home"),
            "WINDIR": None, "LOCALAPPDATA": None}


def apply_env(monkeypatch, env: dict[str, str | None]) -> None:
    for k, v in env.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    fonts.clear_cache()


if __name__ == "__main__":
    out = Path(sys.argv[1]).resolve()
    made = windows_fonts(out / "share" / "fonts", None if "--full" in sys.argv else TEXT)
    print("\n".join(f"{k}: {v}" for k, v in made.items()))
    for k, v in only_fonts_env(out).items():
        print(f"export {k}={v}" if v is not None else f"unset {k}")
