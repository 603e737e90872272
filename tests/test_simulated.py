"""The main commands as a student runs them on Windows and macOS, simulated on this machine.

Each command runs in a subprocess under tests/simulate/sitecustomize.py (what the system
lacks taken away, its start method; see that file), with a GBK console (PYTHONIOENCODING=gbk,
a Chinese Windows' code page), every path under a folder with Chinese characters and spaces,
and any text file the package opens without an explicit encoding an error (``-X
warn_default_encoding``; the "linux" runs are this machine as it is, with that check too).
On a real Windows or macOS the simulation says nothing new, so these tests skip there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import softmax_mnist

SIMULATE = Path(__file__).parent / "simulate"
SRC = Path(softmax_mnist.__file__).resolve().parents[1]  # the code under test (PYTHONPATH)
SYSTEMS = ["linux", "windows", "macos"]  # linux first: the others' sweeps are compared with it

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="simulates Windows and macOS on Linux; on a real Windows or macOS the suite itself runs there")


FONT_ENV: dict[str, dict] = {}  # system -> the environment that shows only its fonts


def env_for(system: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOFTMAX_MNIST_", "PYTHONIOENCODING"))}
    env.update(PYTHONPATH=os.pathsep.join([str(SIMULATE), str(SRC)]), MPLBACKEND="Agg",
               SOFTMAX_MNIST_STRICT_ENCODING="1", PYTHONWARNDEFAULTENCODING="1")
    if system != "linux":
        env.update(SOFTMAX_MNIST_SIMULATE=system, PYTHONIOENCODING="gbk")
    for k, v in FONT_ENV.get(system, {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def system_fonts(system: str, root: Path) -> None:
    """Only that system's own CJK fonts visible (the installed Noto CJK renamed with fontTools,
    tests/fontkit.py): Microsoft YaHei and SimSun in %WINDIR%\\Fonts; PingFang SC and Songti SC in
    ~/Library/Fonts. Linux keeps its Noto CJK."""
    import fontkit

    if system == "linux":
        return
    env = fontkit.only_fonts_env(root)  # no system folder, HOME under root
    if system == "windows":
        fontkit.windows_fonts(root / "Windows" / "Fonts")
        env["WINDIR"] = str(root / "Windows")
    else:
        folder = root / "home" / "Library" / "Fonts"
        fontkit.write(folder / "PingFang.otf", [fontkit.renamed(fontkit.noto("sans"), "PingFang SC")])
        fontkit.write(folder / "Songti.otf", [fontkit.renamed(fontkit.noto("serif"), "Songti SC")])
    FONT_ENV[system] = env


def pdffonts(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, encoding="utf-8",
                          check=True, timeout=60).stdout


def run(system: str, cwd: Path, *args, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m softmax_mnist ARGS`` as ``system`` would run it; its output decoded the way
    its console encodes it (GBK for the simulated ones)."""
    enc = "utf-8" if system == "linux" else "gbk"
    return subprocess.run([sys.executable, "-m", "softmax_mnist", *map(str, args)], cwd=cwd,
                          env=env_for(system), capture_output=True, encoding=enc, errors="strict",
                          timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=SYSTEMS)
def home(request, tmp_path_factory, mnist_dir):
    """A student's folder with Chinese characters and spaces, the MNIST files under it too."""
    base = tmp_path_factory.mktemp(request.param) / "我的 作业"
    base.mkdir()
    system_fonts(request.param, base.parent / "系统")
    (base / "数据 集").symlink_to(Path(mnist_dir).resolve(), target_is_directory=True)
    return request.param, base


@pytest.fixture(scope="module")
def trained(home):
    system, base = home
    result = run(system, base, "train", "--data-dir", base / "数据 集", "--epochs", "1",
                 "--out", base / "第一次 训练")
    return system, base, result


def test_train(trained):
    system, base, result = trained
    out = ok(result)
    assert "test accuracy 0.8" in out or "test accuracy 0.9" in out, out
    assert str(base / "第一次 训练") in out
    assert (base / "第一次 训练" / "history.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel's BOM


def test_train_force_replaces_the_run(trained):
    system, base, _ = trained
    ok(run(system, base, "train", "--data-dir", base / "数据 集", "--epochs", "1", "--lr", "0.02",
           "--out", base / "第一次 训练", "--force", "-q"))
    assert not (base / "第一次 训练.partial").exists()


def test_predict_names_a_file_the_console_cannot_show(trained):
    """µ is not in GBK: the line prints with ? in its place, never a UnicodeEncodeError."""
    from PIL import Image

    system, base, _ = trained
    img = np.zeros((28, 28), np.uint8)
    img[6:22, 12:16] = 255  # a 1
    Image.fromarray(img).save(base / "µ 一.png")
    out = ok(run(system, base, "predict", base / "第一次 训练" / "model.npz", "µ 一.png"))
    assert "一.png" in out and "    1  " in out, out


def test_sweep_in_two_halves(home):
    """16 settings on the whole training split: enough work to split in two (fork on Linux,
    spawn or in turn elsewhere); the same bits whichever way."""
    system, base = home
    (base / "网格 sweep.toml").write_text(
        "[grid]\nlr = [0.01, 0.02, 0.05, 0.1]\nmomentum = [0.0, 0.5, 0.8, 0.9]\n"
        "[fixed]\nepochs = 1\n", encoding="utf-8")
    out = ok(run(system, base, "sweep", "网格 sweep.toml", "--data-dir", base / "数据 集",
                 "--out", base / "扫描 结果", "--lang", "en", "-q"))
    assert "best on validation accuracy" in out
    import json

    results = json.loads((base / "扫描 结果" / "results.json").read_text(encoding="utf-8"))
    losses = {r["name"]: r["final_val_loss"] for r in results["runs"]}
    assert len(losses) == 16
    SWEEPS[system] = losses
    if "linux" in SWEEPS:  # forked halves (Linux), spawned or in turn (the others): the same bits
        assert losses == SWEEPS["linux"]


SWEEPS: dict[str, dict] = {}


@pytest.fixture(scope="module")
def studied(home):
    system, base = home
    result = run(system, base, "study", "--quick", "--data-dir", base / "数据 集",
                 "--out", base / "课程 研究", "-q")
    return system, base, result


def test_study_quick_in_chinese(studied):
    system, base, result = studied
    out = ok(result)
    assert "report (zh)" in out and (base / "课程 研究" / "report.pdf").is_file(), out
    embedded = pdffonts(base / "课程 研究" / "report.pdf")
    expected = {"linux": "NotoSerifCJK", "windows": "SimSun", "macos": "SongtiSC"}[system]
    assert expected in embedded and (system == "linux" or "Noto" not in embedded), embedded
    assert (base / "课程 研究" / "results.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_report_in_english(studied):
    system, base, _ = studied
    out = ok(run(system, base, "report", base / "课程 研究", "--lang", "en"))
    assert str(base / "课程 研究" / "report.en.pdf") in out, out


def test_a_suggested_command_pastes_whole(home):
    """A suggested command quotes the path with a space, so it pastes into a shell whole."""
    import shlex

    system, base = home
    (base / "空 文件夹").mkdir(exist_ok=True)
    result = run(system, base, "train", "--data-dir", base / "空 文件夹")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"softmax-mnist download --data-dir {shlex.quote(str(base / '空 文件夹'))}" in result.stderr


def test_serve(trained):
    from conftest import start_serve

    system, base, _ = trained
    proc, match, line = start_serve(str(base / "第一次 训练" / "model.npz"), "--data-dir",
                                    str(base / "数据 集"), "--port", "0", env=env_for(system), cwd=base)
    try:
        url = f"http://127.0.0.1:{match.group(1)}/"
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200
        with urllib.request.urlopen(url + "playground", timeout=30) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err


CASES = Path(__file__).parent / "check_cases"


@pytest.fixture(scope="module")
def submissions(home):
    """A correct submission and one whose gradient is summed, not averaged, in folders with
    Chinese names and spaces; the wrong one prints a µ the GBK console cannot show."""
    import shutil

    system, base = home
    right, wrong = base / "对的 作业", base / "错的 作业"
    for case, folder in ((CASES / "correct", right), (CASES / "not_divided", wrong)):
        if not folder.exists():
            shutil.copytree(case, folder)
    loss = wrong / "loss.py"
    loss.write_text(loss.read_text(encoding="utf-8") + '\nprint("µ 调试")\n', encoding="utf-8")
    return system, base, right, wrong


def test_check_a_correct_submission(submissions):
    system, base, right, _ = submissions
    out = ok(run(system, base, "check", right.name))
    assert re.search(r"^(\d+) of \1 checks passed", out, re.M) and "FAIL" not in out, out


def test_check_a_wrong_submission(submissions):
    system, base, _, wrong = submissions
    result = run(system, base, "check", wrong.name)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "FAIL  gradient" in result.stdout, result.stdout
    assert "PASS  forward" in result.stdout, result.stdout


def test_study_impl(submissions):
    system, base, right, _ = submissions
    out = ok(run(system, base, "study", "--impl", right.name, "--quick", "--lang", "en",
                 "--data-dir", base / "数据 集", "--out", base / "我的 研究", "-q"))
    assert (base / "我的 研究" / "report.en.pdf").is_file(), out
