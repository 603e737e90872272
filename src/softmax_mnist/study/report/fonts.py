"""The Chinese (CJK) fonts of the report and its figures: one list per role, found on any system.

``SERIF`` and ``SANS`` name the candidates (Linux, Windows, macOS) in order of preference. The
first one installed whose character map holds every character in ``GLYPHS`` is used by both the
Typst template (``typst_options()``: its folder, its name) and matplotlib (``matplotlib_family()``),
so the PDF and the figures show the same font; a role with no font of its own borrows the other
role's. Fonts are found by reading the font folders with fontTools, never through matplotlib's
cached font list, so a font installed after that cache was built is found too. When no system
folder holds one, the fonts of a pip-installed font package (``pip install "softmax-mnist[zh]"``
installs mplfonts) are used; ``missing_font_message()`` is the one line for a machine with none.

Folders searched (those that exist; read from the environment, so a test can choose them):

- Windows: ``%WINDIR%\\Fonts`` and ``%LOCALAPPDATA%\\Microsoft\\Windows\\Fonts``
- macOS: ``/System/Library/Fonts``, ``/Library/Fonts``, ``~/Library/Fonts`` and the font
  assets in ``/System/Library/AssetsV2`` (where PingFang lives since macOS 13)
- Linux and BSD: ``$XDG_DATA_HOME/fonts`` (default ``~/.local/share/fonts``), each
  ``$XDG_DATA_DIRS/fonts`` (default ``/usr/local/share:/usr/share``) and ``~/.fonts``

Recipe for a test that shows only one chosen font (say a font renamed "Microsoft YaHei" with
``tests/fontkit.py``): put it in ``TMP/share/fonts/``, set ``XDG_DATA_DIRS=TMP/share``,
``XDG_DATA_HOME=TMP/none``, ``HOME=TMP/home`` (``USERPROFILE`` too), unset ``WINDIR`` and
``LOCALAPPDATA``, and call ``clear_cache()`` (a new process needs no call). Typst is given only
the chosen fonts' folders and ignores the system's, so its PDF embeds the same font.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass, field, replace
from importlib.util import find_spec
from pathlib import Path

# Simplified Chinese first; a font's family as Typst reads it (name ID 16, else 1), any case.
SERIF = (
    "Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", "Noto Serif SC",  # Linux
    "SimSun", "NSimSun", "FangSong",  # Windows
    "Songti SC", "STSong", "STFangsong",  # macOS
    "AR PL UMing CN",  # Linux (fonts-arphic-uming)
)
SANS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",  # Linux
    "Microsoft YaHei", "DengXian", "SimHei",  # Windows
    "PingFang SC", "Hiragino Sans GB", "Heiti SC", "STHeiti",  # macOS
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",  # Linux
)
ROLES = {"serif": SERIF + SANS, "sans": SANS + SERIF}  # a role without a font borrows the other's

# characters of the report and its figures (titles, labels, punctuation): a font must map them all
GLYPHS = ("报告训练验证测试准确率损失学习批大小动量轮次种子最终平均结果附录机器耗时核秒图表式代码"
          "类别真实预测权重混淆矩阵发散缩放中位数阴影值于的一是在不了和有个这为对"
          "例像到占张所按每比滑用统计该集"
          "，。：；、（）“”《》！？—…×")

# the pip route: a package that ships Simplified Chinese fonts, and its folder holding them
FONT_PACKAGES = {"mplfonts": "fonts"}
EXTRA = "softmax-mnist[zh]"
FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc"}
OS_RELEASE = Path("/etc/os-release")
MACOS_ASSETS = Path("/System/Library/AssetsV2")  # fonts macOS downloads on demand


@dataclass(frozen=True)
class Font:
    family: str
    path: Path
    index: int = 0  # the face within a .ttc / .otc collection
    weight: int = 400
    files: tuple[Path, ...] = field(default=(), compare=False)  # every file of the family (weights)


def system_font_dirs() -> list[Path]:
    """The existing font folders of this system (see the module docstring), each once."""
    env, home = os.environ, Path.home()
    dirs = []
    if env.get("WINDIR"):
        dirs.append(Path(env["WINDIR"]) / "Fonts")
    if env.get("LOCALAPPDATA"):
        dirs.append(Path(env["LOCALAPPDATA"]) / "Microsoft" / "Windows" / "Fonts")
    dirs += [Path("/System/Library/Fonts"), Path("/Library/Fonts"), home / "Library" / "Fonts"]
    dirs += sorted(MACOS_ASSETS.glob("com_apple_MobileAsset_Font*"))  # PingFang since macOS 13
    dirs.append(Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "fonts")
    dirs += [Path(d) / "fonts" for d in (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share")
             .split(os.pathsep) if d]
    dirs.append(home / ".fonts")
    return list(dict.fromkeys(d for d in dirs if d.is_dir()))


def package_font_dirs() -> list[Path]:
    """Font folders of installed font packages (the ``[zh]`` extra), found without importing them."""
    dirs = []
    for name, sub in FONT_PACKAGES.items():
        spec = find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec else []:
            if (Path(loc) / sub).is_dir():
                dirs.append(Path(loc) / sub)
    return dirs


def _read_faces(path: Path, read):
    """``read(index, face)`` for each face of a font file (a .ttc/.otc holds several), the file
    read lazily (only the tables ``read`` touches) and closed after."""
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() in (".ttc", ".otc"):
        with TTCollection(path, lazy=True) as coll:
            return [read(i, face) for i, face in enumerate(coll.fonts)]
    with TTFont(path, lazy=True) as face:
        return [read(0, face)]


def _font(path: Path, index: int, face) -> Font | None:
    """A face as a Font, its family as Typst names it: the typographic family (name ID 16),
    else the family (ID 1)."""
    family = face["name"].getDebugName(16) or face["name"].getDebugName(1)
    weight = face["OS/2"].usWeightClass if "OS/2" in face else 400
    return Font(family, path, index, weight) if family else None


def scan(dirs) -> dict[str, list[Font]]:
    """Every font face under ``dirs`` by lowercased family; unreadable files are passed over."""
    found: dict[str, list[Font]] = {}
    for d in dirs:
        for path in sorted(p for p in Path(d).rglob("*") if p.suffix.lower() in FONT_SUFFIXES):
            try:
                faces = _read_faces(path, lambda i, face, path=path: _font(path, i, face))
            except Exception:  # a broken or unsupported font file is not this program's concern
                continue
            for font in filter(None, faces):
                found.setdefault(font.family.lower(), []).append(font)
    return found


def has_glyphs(font: Font, text: str = GLYPHS) -> bool:
    """Whether ``font``'s character map covers every character of ``text``."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(font.path, fontNumber=font.index, lazy=True) as face:
            cmap = face.getBestCmap() or {}
    except Exception:
        return False
    return all(ord(c) in cmap for c in set(text) if not c.isspace())


def _pick(found: dict[str, list[Font]], role: str) -> Font | None:
    """The first candidate of ``role`` present in ``found`` with the glyphs, its regular face."""
    for name in ROLES[role]:
        faces = sorted(found.get(name.lower(), []), key=lambda f: abs(f.weight - 400))
        for font in faces:
            if has_glyphs(font):
                return replace(font, files=tuple(dict.fromkeys(f.path for f in faces)))
    return None


@functools.cache
def cjk_fonts() -> dict[str, Font | None]:
    """``{"serif": Font, "sans": Font}`` for this machine (None where no CJK font exists); the
    system's fonts first, a font package's only when the system has none."""
    for dirs in (system_font_dirs(), package_font_dirs()):
        found = scan(dirs)
        chosen = {role: _pick(found, role) for role in ROLES}
        if all(chosen.values()):
            return chosen
    return {role: None for role in ROLES}


def clear_cache() -> None:
    """Forget the fonts found (after installing one, or in a test that changed the folders)."""
    cjk_fonts.cache_clear()
    _registered.cache_clear()


# ---- the two users: Typst and matplotlib ---------------------------------------------------


def typst_options() -> dict:
    """Keyword arguments for ``typst.compile``: the chosen fonts' folders (and nothing of the
    system's, so the PDF embeds exactly these) and their names for the template."""
    f = cjk_fonts()
    folders = list(dict.fromkeys(str(p.parent) for font in f.values() if font for p in font.files))
    return {"font_paths": folders, "ignore_system_fonts": True,
            "sys_inputs": {f"cjk-{role}": font.family if font else "" for role, font in f.items()}}


@functools.cache
def _registered(font: Font) -> str:
    """Add the font's files (each weight) to matplotlib's font list where its cache predates
    them, once; the name matplotlib draws the chosen face by."""
    from matplotlib import font_manager

    def names(path: Path) -> set[str]:
        target = os.path.realpath(path)
        return {f.name for f in font_manager.fontManager.ttflist if os.path.realpath(f.fname) == target}

    for path in font.files or (font.path,):
        if not names(path):
            font_manager.fontManager.addfont(path)
    have, family = names(font.path), font.family
    # matplotlib < 3.10 reads only the first face of a collection: draw with that one's name
    return next((n for n in have if n.lower() == family.lower()), min(have))


def matplotlib_family(role: str = "sans") -> str | None:
    """The name under which matplotlib draws the chosen ``role`` font, registered if its cache
    predates the font; None when there is no CJK font."""
    font = cjk_fonts()[role]
    return _registered(font) if font else None


# ---- no CJK font at all: the way to get one on this system --------------------------------


def _os_release() -> set[str]:
    """The distribution's ID and ID_LIKE words from os-release (empty where there is none)."""
    try:
        text = OS_RELEASE.read_text(encoding="utf-8")
    except OSError:
        return set()
    words = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            words.update(value.strip().strip("\"'").lower().split())
    return words


LINUX_ROUTES = (  # (os-release words, package manager, command)
    ({"debian", "ubuntu"}, "apt-get", "sudo apt-get install fonts-noto-cjk"),
    ({"fedora", "rhel", "centos"}, "dnf",
     "sudo dnf install google-noto-sans-cjk-fonts google-noto-serif-cjk-fonts"),
    ({"arch", "manjaro"}, "pacman", "sudo pacman -S noto-fonts-cjk"),
)


def system_route(platform: str = sys.platform) -> str:
    """How to get a Simplified Chinese font from the system itself, in a few words."""
    if platform.startswith("win"):
        return ("Windows ships Microsoft YaHei and SimSun: check that C:\\Windows\\Fonts holds "
                "msyh.ttc and simsun.ttc (Settings > Personalization > Fonts)")
    if platform == "darwin":
        return "macOS ships PingFang SC, Songti SC and STHeiti: check in Font Book that they are enabled"
    words = _os_release()
    by_release = [command for ids, _, command in LINUX_ROUTES if words & ids]
    by_manager = [command for _, manager, command in LINUX_ROUTES if shutil.which(manager)]
    if by_release or by_manager:
        return (by_release or by_manager)[0]
    return "install a Noto CJK SC font with your system's package manager"


def missing_font_message(platform: str = sys.platform) -> str:
    """One line: no CJK font here, the system's route, the pip route (no root), or English."""
    return (f"the Chinese report (--lang zh) needs a Simplified Chinese font and none was found "
            f"(未找到中文字体): {system_route(platform)}; or, without admin rights, pip install "
            f"{' '.join(FONT_PACKAGES)} (the {EXTRA} extra); or write the report in English with --lang en")
