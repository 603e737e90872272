"""The report's CJK fonts on any system: the first candidate installed with the glyphs, the same
one in the PDF (Typst) and the figures (matplotlib), found past matplotlib's stale cache; the
one-line route where none exists; the pip route (a font package) that needs no root."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import pytest
from fontkit import ASCII, apply_env, noto, only_fonts_env, renamed, windows_fonts, write
from matplotlib import font_manager
from matplotlib.figure import Figure

from softmax_mnist.apps.cli import main
from softmax_mnist.study.report import fonts, typeset
from softmax_mnist.study.report import visualize as viz
from softmax_mnist.study.report.typeset import Document, Heading, Para, TypesetError
from softmax_mnist.study.report.wording import say

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_fonts():
    """Each test looks the fonts up anew, and leaves matplotlib's font list as it found it."""
    before = list(font_manager.fontManager.ttflist)
    fonts.clear_cache()
    yield
    font_manager.fontManager.ttflist[:] = before
    font_manager.fontManager._findfont_cached.cache_clear()
    fonts.clear_cache()


@pytest.fixture
def windows(tmp_path, monkeypatch):
    """Only a simulated Windows' fonts are visible: msyh.ttc and simsun.ttc (renamed Noto)."""
    root = tmp_path / "系统 fonts"
    made = windows_fonts(root / "share" / "fonts")
    apply_env(monkeypatch, only_fonts_env(root))
    return made


def pdffonts(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, encoding="utf-8",
                          check=True).stdout


def typeset_zh(folder: Path) -> Path:
    doc = Document("中文报告", "准确率与损失", "zh")
    doc.add(Heading("训练与验证"), Para(fonts.GLYPHS + " softmax 0.92"))
    return Path(typeset.compile_pdf(typeset.write_typst(doc, folder)) and folder / "report.pdf")


def draw_zh(path: Path) -> str:
    """Save a figure with Chinese text under the zh style; the file matplotlib drew it with."""
    style = viz.figure_style("zh")
    with matplotlib.rc_context(style), warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" fails the test
        fig = Figure(figsize=(2, 1))
        fig.suptitle(say("zh", "figure.val_acc") + " "
                     + say("zh", "figure.confusion", n=10000, acc=0.9))
        fig.savefig(path)
        return font_manager.findfont(font_manager.FontProperties(family=style["font.family"]))


# ---- the chosen font: PDF and figures ------------------------------------------------------


def test_only_windows_fonts_visible_the_pdf_and_figures_use_them(windows, tmp_path):
    typeset.check_fonts("zh")  # today's main: stops or picks Noto from matplotlib's cache
    chosen = fonts.cjk_fonts()
    assert (chosen["serif"].family, chosen["serif"].path) == ("SimSun", windows["serif"])
    # the second face of msyh.ttc: collections work by face, not file
    assert (chosen["sans"].family, chosen["sans"].index) == ("Microsoft YaHei", 1)

    listed = pdffonts(typeset_zh(tmp_path / "报告 folder"))
    for name in ("SimSun-Regular", "MicrosoftYaHei-Bold"):  # text in SimSun, headings in YaHei bold
        assert name in listed, listed
    assert "Noto" not in listed, listed  # Typst saw no system font

    assert viz.figure_style("zh")["font.sans-serif"][0] == "Microsoft YaHei"
    assert Path(draw_zh(tmp_path / "f.png")) == windows["sans"]
    bold = font_manager.FontProperties(family="Microsoft YaHei", weight="bold")
    assert Path(font_manager.findfont(bold)) == windows["sans-bold"]  # each weight registered


def test_a_font_without_the_glyphs_is_passed_over(tmp_path, monkeypatch):
    share = tmp_path / "share" / "fonts"
    write(share / "msyh.ttf", [renamed(noto("sans"), "Microsoft YaHei", ASCII)])  # Latin only
    write(share / "simhei.ttf", [renamed(noto("sans"), "SimHei")])
    apply_env(monkeypatch, only_fonts_env(tmp_path))
    assert fonts.cjk_fonts()["sans"].family == "SimHei"
    assert fonts.cjk_fonts()["serif"].family == "SimHei"  # no serif font: the sans one serves


def test_the_report_appendix_names_the_fonts(windows):
    from softmax_mnist.study.report import document as report

    doc = Document("t", "s", "zh")
    report.appendix(doc, {"meta": {"machine": {"cpu": "X"}}}, "zh")
    assert "正文 SimSun，标题与图 Microsoft YaHei" in doc.blocks[-1].text


def test_a_font_installed_after_matplotlibs_cache_was_built_is_found(tmp_path):
    """matplotlib's font cache (on disk, in MPLCONFIGDIR) is built by a first run; then a font is
    installed in the user's font folder; the next run draws with it."""
    root = tmp_path / "machine"
    env = {k: v for k, v in os.environ.items() if k not in ("WINDIR", "LOCALAPPDATA")}
    env.update({k: v for k, v in only_fonts_env(root).items() if v is not None})
    env.update(MPLCONFIGDIR=str(tmp_path / "mpl"), PYTHONPATH=str(ROOT / "src"))
    probe = ("import json; from matplotlib import font_manager as fm; "
             "from softmax_mnist.study.report import visualize as viz; "
             "cached = any(f.name == 'Microsoft YaHei' for f in fm.fontManager.ttflist); "
             "family = viz.figure_style('zh').get('font.sans-serif', [None])[0]; "
             "drawn = family and fm.findfont(fm.FontProperties(family=family), fallback_to_default=False); "
             "print(json.dumps([cached, family, drawn]))")

    def run():
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                             encoding="utf-8")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert run() == [False, None, None]  # no CJK font yet; the run built matplotlib's cache
    assert list((tmp_path / "mpl").glob("fontlist-*.json"))
    made = windows_fonts(root / "data-home" / "fonts")  # ~/.local/share/fonts: the user's folder
    cached, family, drawn = run()
    assert not cached  # matplotlib's own list does not know the new font ...
    assert family == "Microsoft YaHei" and Path(drawn) == made["sans"]  # ... the lookup does


# ---- no CJK font: one line with the route; the pip route -----------------------------------


def test_no_cjk_font_is_one_line_with_this_systems_route(tmp_path, monkeypatch, capsys):
    apply_env(monkeypatch, only_fonts_env(tmp_path / "bare"))
    monkeypatch.setattr(fonts, "OS_RELEASE", tmp_path / "os-release")
    (tmp_path / "os-release").write_text('ID=linuxmint\nID_LIKE="ubuntu debian"\n', encoding="utf-8")
    rc = main(["study", "--quick", "--out", str(tmp_path / "s"), "--lang", "zh"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert "sudo apt-get install fonts-noto-cjk" in err and "pip install mplfonts" in err
    assert "--lang en" in err
    assert not (tmp_path / "s").exists()  # stopped before writing anything
    with pytest.raises(TypesetError):
        typeset.check_fonts("zh")
    typeset.check_fonts("en")  # an English report needs none


@pytest.mark.parametrize("platform, os_release, managers, expected", [
    ("win32", None, (), "Microsoft YaHei"),
    ("darwin", None, (), "PingFang SC"),
    ("linux", 'ID=fedora\n', (), "sudo dnf install google-noto-sans-cjk-fonts"),
    ("linux", 'ID="arch"\n', (), "sudo pacman -S noto-fonts-cjk"),
    ("linux", 'ID=debian\n', (), "sudo apt-get install fonts-noto-cjk"),
    ("linux", None, ("pacman",), "sudo pacman -S noto-fonts-cjk"),  # no os-release: the manager there
    ("linux", None, (), "your system's package manager"),
])
def test_the_route_fits_the_system(platform, os_release, managers, expected, tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "OS_RELEASE", tmp_path / "os-release")
    if os_release:
        (tmp_path / "os-release").write_text(os_release, encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for m in managers:
        (bin_dir / m).write_text("#!/bin/sh\n", encoding="utf-8")
        (bin_dir / m).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    message = fonts.missing_font_message(platform)
    assert expected in message and "pip install mplfonts" in message and "\n" not in message


def test_the_pip_font_package_is_found_when_the_system_has_none(tmp_path, monkeypatch):
    site = tmp_path / "site"
    pkg = site / "mplfonts"
    (pkg / "fonts").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('the lookup must not import it')\n",
                                     encoding="utf-8")
    write(pkg / "fonts" / "NotoSansCJKsc-Regular.otf", [renamed(noto("sans"), "Noto Sans CJK SC")])
    write(pkg / "fonts" / "NotoSerifCJKsc-Regular.otf", [renamed(noto("serif"), "Noto Serif CJK SC")])
    monkeypatch.syspath_prepend(str(site))
    apply_env(monkeypatch, only_fonts_env(tmp_path / "bare"))
    chosen = fonts.cjk_fonts()
    assert chosen["sans"].path.parent == pkg / "fonts" and chosen["serif"].family == "Noto Serif CJK SC"
    typeset.check_fonts("zh")
    assert fonts.typst_options()["font_paths"] == [str(pkg / "fonts")]
    assert "pip install mplfonts" in fonts.missing_font_message("linux")

    windows_fonts(tmp_path / "bare" / "share" / "fonts")  # a system font wins over the package's
    fonts.clear_cache()
    assert fonts.cjk_fonts()["sans"].family == "Microsoft YaHei"


def test_the_zh_extra_installs_the_font_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = text.split("[project.optional-dependencies]", 1)[1]
    zh = next(line for line in extra.splitlines() if line.startswith("zh = "))
    assert all(name in zh for name in fonts.FONT_PACKAGES) and fonts.EXTRA == "softmax-mnist[zh]"


# ---- the folders searched --------------------------------------------------------------------


def test_font_folders_follow_the_environment(tmp_path, monkeypatch):
    folders = ("win/Fonts", "local/Microsoft/Windows/Fonts", "home/Library/Fonts",
               "assets/com_apple_MobileAsset_Font7", "xdg-home/fonts", "a/fonts", "b/fonts", "home/.fonts")
    for d in folders:
        (tmp_path / d).mkdir(parents=True)
    monkeypatch.setattr(fonts, "MACOS_ASSETS", tmp_path / "assets")
    monkeypatch.setenv("WINDIR", str(tmp_path / "win"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-home"))
    monkeypatch.setenv("XDG_DATA_DIRS", f"{tmp_path / 'a'}:{tmp_path / 'missing'}:{tmp_path / 'b'}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    got = [p for p in fonts.system_font_dirs() if str(p).startswith(str(tmp_path))]
    assert got == [tmp_path / d for d in folders]


def test_the_default_xdg_folders_hold_this_machines_noto(monkeypatch):
    for k in ("XDG_DATA_DIRS", "XDG_DATA_HOME"):
        monkeypatch.delenv(k, raising=False)
    assert Path("/usr/share/fonts") in fonts.system_font_dirs()
    chosen = fonts.cjk_fonts()
    assert (chosen["serif"].family, chosen["sans"].family) == ("Noto Serif CJK SC", "Noto Sans CJK SC")
    assert shutil.which("pdffonts")
    buf = io.BytesIO()
    Figure().savefig(buf, format="png")  # matplotlib still works after the lookup
