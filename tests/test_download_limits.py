"""download() against hostile mirrors: a per-file deadline, a size cap, no temporary file left
behind (not even after a SIGKILL), ordinary file modes, and the CLI's progress output.

Every server runs on 127.0.0.1; no test touches the internet.
"""

from __future__ import annotations

import gzip
import http.server
import io
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from test_download import serving

from softmax_mnist.apps.cli import main
from softmax_mnist.core import download as downloading
from softmax_mnist.core.download import download
from softmax_mnist.errors import ConfigError, DataError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LABELS = "t10k-labels-idx1-ubyte"  # the smallest file (4,542 bytes on the mirrors)
CAP = 4542 + 4542 // 8  # what it may be: room for another gzip level of the same content
BIG = 64 << 20  # what the oversized mirror would send if nobody stopped it
SAFETY = 60  # seconds: a test that has not finished by then has hung (a net, not the assertion)


class _Handler(http.server.SimpleHTTPRequestHandler):
    sent: dict  # per server: path -> bytes written before the client hung up (or the end)

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/paced/"):  # the real file in four parts over 2.4 s
            data = (Path(self.directory) / "good" / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(4):
                time.sleep(0.6)
                self.wfile.write(data[i * len(data) // 4:(i + 1) * len(data) // 4])
                self.wfile.flush()
            return
        if self.path.startswith(("/slow/", "/big/", "/biglen/")):
            slow = self.path.startswith("/slow/")
            length = (Path(self.directory) / "good" / name).stat().st_size if slow else BIG
            self.send_response(200)
            if not self.path.startswith("/big/"):  # /big/ announces nothing and streams on
                self.send_header("Content-Length", str(length))
            self.end_headers()
            self.sent[self.path] = 0
            chunk = b"\x1f" if slow else bytes(1 << 16)
            try:
                while self.sent[self.path] < length:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    self.sent[self.path] += len(chunk)
                    if slow:
                        time.sleep(0.2)  # one byte every 0.2 s: no single read ever times out
            except OSError:  # the client hung up
                pass
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site(mnist_dir, tmp_path_factory):
    """good/ (the real .gz files), paced/ (the same over 2.4 s), slow/ (drips), big/ and biglen/
    (endless, without and with a Content-Length of 64 MiB)."""
    root = tmp_path_factory.mktemp("site")
    (root / "good").mkdir()
    for name in downloading.FILES.values():
        shutil.copyfile(mnist_dir / f"{name}.gz", root / "good" / f"{name}.gz")
    with serving(root, _Handler, sent={}) as site:
        yield site


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def one_file(monkeypatch):
    """download() fetches only the smallest file (the logic is the same for all four)."""
    monkeypatch.setattr(downloading, "FILES", {"test_labels": LABELS})


def within(seconds: float, fn, *args, **kwargs):
    """fn(*args, **kwargs) in a thread; fail if it has not returned after ``seconds``."""
    result: dict = {}

    def target():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: B036 - handed to the test thread
            result["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s (safety net)", pytrace=False)
    result["elapsed"] = time.monotonic() - start
    return result


def quiet(**kwargs):
    return {"log": lambda s: None, **kwargs}


def test_slow_mirror_is_cut_at_the_deadline_then_the_next_is_tried(tmp_path, site, one_file):
    dest = tmp_path / "mnist"
    url = site.url + f"slow/{LABELS}.gz"
    got = within(SAFETY, download, dest, mirrors=(site.url + "slow/",), **quiet(timeout=1.0))
    error = got.get("error")
    assert isinstance(error, DataError), got
    msg = str(error)
    assert "\n" not in msg and url in msg
    assert "deadline" in msg and "longer `timeout`" in msg
    assert list(dest.iterdir()) == []
    time.sleep(0.5)  # let the server notice the hang-up
    # cut at 1 s: about 5 bytes at one per 0.2 s (a per-read timeout would take all 4,542)
    assert site.sent[f"/slow/{LABELS}.gz"] < 15

    got = within(SAFETY, download, dest, mirrors=(site.url + "slow/", site.url + "good/"),
                 **quiet(timeout=1.0))
    assert "error" not in got, got
    assert (dest / f"{LABELS}.gz").read_bytes() == (site.root / "good" / f"{LABELS}.gz").read_bytes()


@pytest.mark.parametrize("mirror", ["big/", "biglen/"])
def test_oversized_stream_is_cut_at_the_cap(tmp_path, site, one_file, mirror):
    dest = tmp_path / "mnist"
    got = within(SAFETY, download, dest, mirrors=(site.url + mirror,), **quiet(timeout=30))
    error = got.get("error")
    assert isinstance(error, DataError), got
    time.sleep(0.5)
    # the client hung up long before the end (what is sent is also held in socket buffers)
    assert site.sent[f"/{mirror}{LABELS}.gz"] < BIG // 4
    assert list(dest.iterdir()) == []  # neither the file nor a .tmp
    msg = str(error)
    assert "\n" not in msg and site.url + mirror + LABELS + ".gz" in msg
    assert f"{CAP:,} bytes" in msg and "another `mirror`" in msg

    download(dest, mirrors=(site.url + mirror, site.url + "good/"), **quiet(timeout=30))
    assert [p.name for p in dest.iterdir()] == [f"{LABELS}.gz"]


def test_the_cap_leaves_room_for_a_gzip_of_another_level(mnist_dir):
    assert downloading.size_cap(LABELS) == CAP
    for name, size in downloading.GZ_SIZES.items():
        assert size < downloading.size_cap(name) < size * 1.2
        fastest = len(gzip.compress(gzip.decompress((mnist_dir / f"{name}.gz").read_bytes()), 1))
        assert fastest <= downloading.size_cap(name)  # gzip -1 of the same content still fits


def test_stale_temporary_file_is_removed(tmp_path, site, one_file):
    dest = tmp_path / "mnist"
    dest.mkdir()
    stale = [dest / f".{LABELS}.k1ll3d.tmp", dest / f".{LABELS}.gz.abc123.tmp"]
    for p in stale:
        p.write_bytes(b"")  # what a killed download leaves
    keep = dest / "notes.tmp"
    keep.write_text("not ours")
    download(dest, mirrors=(site.url + "good/",), **quiet())
    assert sorted(p.name for p in dest.iterdir()) == sorted([f"{LABELS}.gz", "notes.tmp"])


@pytest.mark.skipif(fcntl is None, reason="a running download is told by its flock here; "
                    "Windows has no fcntl (there an open file cannot be removed)")
def test_temporary_file_of_a_running_download_is_kept(tmp_path, site, one_file):

    dest = tmp_path / "mnist"
    dest.mkdir()
    live = dest / f".{LABELS}.gz.running.tmp"
    with open(live, "wb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # as a download in another process holds it
        download(dest, mirrors=(site.url + "good/",), **quiet())
        assert live.exists()


def test_sigkilled_download_leaves_nothing_after_the_next_run(tmp_path, site, one_file):
    """A real SIGKILL half-way through a file; the next download cleans up what it left."""
    dest = tmp_path / "mnist"
    code = textwrap.dedent(f"""
        from softmax_mnist.core import download as downloading
        downloading.FILES = {{"test_labels": {LABELS!r}}}
        downloading.download({str(dest)!r}, mirrors=({site.url + 'slow/'!r},), timeout=60)
    """)
    env = {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)
    try:
        end = time.monotonic() + SAFETY
        while not list(dest.glob("*.tmp")) and time.monotonic() < end and child.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)  # a few bytes in
        child.kill()
    finally:
        child.kill()
        child.wait(10)
    left = list(dest.glob("*.tmp"))
    assert len(left) == 1, left  # the aftermath of SIGKILL: no code ran to clean it up

    download(dest, mirrors=(site.url + "good/",), **quiet())
    assert [p.name for p in dest.iterdir()] == [f"{LABELS}.gz"]


def test_downloaded_files_are_ordinary_files(tmp_path, site, one_file):
    umask = os.umask(0)
    os.umask(umask)
    dest = tmp_path / "mnist"
    download(dest, mirrors=(site.url + "good/",), **quiet())
    mode = (dest / f"{LABELS}.gz").stat().st_mode & 0o777
    assert mode == 0o666 & ~umask
    assert umask != 0o022 or mode == 0o644


def test_multi_member_gzip_is_accepted(tmp_path, site, one_file):
    """Checked while streaming: a .gz of two members (as `cat a.gz b.gz` makes) is still MNIST."""
    raw = gzip.decompress((site.root / "good" / f"{LABELS}.gz").read_bytes())
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / f"{LABELS}.gz").write_bytes(gzip.compress(raw[:5000]) + gzip.compress(raw[5000:]))
    dest = tmp_path / "mnist"
    download(dest, mirrors=(mirror.as_uri() + "/",), **quiet())
    assert (dest / f"{LABELS}.gz").is_file()


def test_content_longer_than_mnist_is_refused(tmp_path, site, one_file):
    """The decompressed side has its cap too: MNIST's content followed by more is not MNIST."""
    raw = gzip.decompress((site.root / "good" / f"{LABELS}.gz").read_bytes())
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / f"{LABELS}.gz").write_bytes(gzip.compress(raw + bytes(1000)))
    with pytest.raises(DataError, match="checksum mismatch"):
        download(tmp_path / "mnist", mirrors=(mirror.as_uri() + "/",), **quiet())


def test_nonpositive_timeout_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="timeout must be more than 0") as e:
        download(tmp_path / "d", mirrors=("http://127.0.0.1:9/",), **quiet(timeout=0))
    assert e.value.setting == "timeout"


# ---- the command line: progress on a terminal, plain lines elsewhere, nothing with --quiet ----


def cli(capsys, *argv):
    code = main(["download", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_quiet_prints_only_the_final_line(tmp_path, site, one_file, capsys):
    code, out, err = cli(capsys, "--data-dir", str(tmp_path), "--mirror", site.url + "good/", "--quiet")
    assert code == 0 and out == f"MNIST ready in {tmp_path}\n" and err == ""


def test_cli_plain_lines_with_bytes_and_rate_when_not_a_terminal(tmp_path, site, one_file, capsys):
    code, out, err = cli(capsys, "--data-dir", str(tmp_path), "--mirror", site.url + "good/")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and err == ""
    size = (site.root / "good" / f"{LABELS}.gz").stat().st_size
    assert "downloaded from" in lines[0] and f"{size:,} bytes" in lines[0] and "/s" in lines[0]
    assert "\r" not in out


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_cli_progress_bar_on_a_terminal(tmp_path, site, one_file, capsys, monkeypatch):
    """A file that takes more than 2 s gets a bar with its bytes and rate (tqdm's)."""
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    code = main(["download", "--data-dir", str(tmp_path), "--mirror", site.url + "paced/"])
    assert code == 0
    bar = term.getvalue()
    assert f"{LABELS}.gz" in bar and "B/s" in bar and "\r" in bar
    assert "downloaded from" in capsys.readouterr().out  # the line that stays


def test_cli_help_says_the_timeout_is_per_file(capsys):
    with pytest.raises(SystemExit):
        main(["download", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "per file" in text and "--quiet" in text
