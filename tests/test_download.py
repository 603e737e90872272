"""download(): mirrors tried in turn, checksums enforced, nothing half-written left behind.

Everything is served from 127.0.0.1 (a local HTTP server, or file://); no test touches the internet.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from softmax_mnist.core import download as downloading
from softmax_mnist.core.data import FILES, load_raw
from softmax_mnist.core.download import download
from softmax_mnist.errors import DataError

NAMES = list(FILES.values())
QUIET = {"timeout": 5, "log": lambda s: None}


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]  # set per server

    def do_GET(self):
        self.requests.append(self.path)
        if self.path.startswith("/drop/"):  # promise the whole file, send half, hang up
            data = (Path(self.directory) / "good" / self.path[len("/drop/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format, *args):  # silence the per-request log lines
        pass


def _flip(data: bytes, start: int, count: int = 16) -> bytes:
    out = bytearray(data)
    for i in range(start, min(start + count, len(out))):
        out[i] ^= 0xFF
    return bytes(out)


@pytest.fixture(scope="module")
def site(mnist_dir, tmp_path_factory):
    """A local server with mirrors good/ (real files), bad*/ (corrupt copies), empty/ (404s),
    drop/ (connection dropped half-way)."""
    root = tmp_path_factory.mktemp("site")
    variants = {
        "bad_early/": lambda d: _flip(d, 100),  # breaks the deflate stream (zlib.error)
        "bad_crc/": lambda d: _flip(d, len(d) - 8, 4),  # data intact, gzip CRC wrong
        "bad_cut/": lambda d: d[: len(d) // 2],  # truncated transfer
        "bad_html/": lambda d: b"<html>moved</html>\n",  # a captive portal page
    }
    (root / "good").mkdir()
    (root / "empty").mkdir()
    for name in NAMES:
        real = mnist_dir / f"{name}.gz"
        if not real.is_file():
            pytest.fail(f"the download tests need the .gz files in {mnist_dir}", pytrace=False)
        shutil.copyfile(real, root / "good" / f"{name}.gz")
        data = real.read_bytes()
        for sub, corrupt in variants.items():
            (root / sub).mkdir(exist_ok=True)
            (root / sub / f"{name}.gz").write_bytes(corrupt(data))
    requests: list[str] = []
    with serving(root, _Handler, requests=requests) as site:
        yield site


@contextlib.contextmanager
def serving(root, handler, **shared):
    """A threaded HTTP server on 127.0.0.1 serving folder ``root`` with ``handler`` (a
    SimpleHTTPRequestHandler); ``shared`` become attributes of the handler class and of the
    site yielded, whose ``url`` ends in a slash."""
    cls = type("Handler", (handler,), shared)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(cls, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    site = type("Site", (), {"root": root, **shared})()
    site.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Keep urllib from sending 127.0.0.1 requests through a proxy set in the environment."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def requests(site):
    site.requests.clear()
    return site.requests


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def labels_only(monkeypatch) -> list[str]:
    """download() fetches only the two small label files: for tests of the mirror logic,
    which is the same for every file, without decompressing 47 MB of images each time."""
    files = {k: v for k, v in FILES.items() if k.endswith("labels")}
    monkeypatch.setattr(downloading, "FILES", files)
    return list(files.values())


def assert_all_good(dest: Path, site) -> None:
    names = list(downloading.FILES.values())  # all four, or the labels under labels_only
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{n}.gz" for n in names)
    for name in names:
        good = (site.root / "good" / f"{name}.gz").read_bytes()
        assert (dest / f"{name}.gz").read_bytes() == good


def test_download_all_four_then_load(tmp_path, site, requests):
    dest = tmp_path / "new" / "mnist"  # created, parents too
    messages = []
    assert download(dest, mirrors=(site.url + "good",), timeout=5, log=messages.append) == dest
    assert_all_good(dest, site)
    assert sorted(requests) == sorted(f"/good/{n}.gz" for n in NAMES)
    assert len(messages) == 4 and all("downloaded from" in m for m in messages)
    images, labels = load_raw(dest, "t10k")
    assert images.shape == (10000, 28, 28) and labels[0] == 7

    messages.clear()  # a second run finds all four present and valid: no request at all
    download(dest, mirrors=(site.url + "good",), timeout=5, log=messages.append)
    assert len(requests) == 4
    assert len(messages) == 4 and all("present, checksum ok" in m for m in messages)


def test_corrupt_first_mirror_falls_back_to_second(tmp_path, site, requests):
    dest = tmp_path / "mnist"
    download(dest, mirrors=(site.url + "bad_early/", site.url + "good/"), **QUIET)
    assert_all_good(dest, site)
    assert requests == [f"/{m}/{n}.gz" for n in NAMES for m in ("bad_early", "good")]


def test_each_kind_of_bad_mirror_is_skipped(tmp_path, site, requests, labels_only):
    bads = ["bad_early/", "bad_crc/", "bad_cut/", "bad_html/", "drop/"]
    dest = tmp_path / "mnist"
    download(dest, mirrors=(*(site.url + b for b in bads), site.url + "good/"), **QUIET)
    assert_all_good(dest, site)
    # each file tried on every bad mirror in turn, then taken from the good one
    assert requests == [f"/{m}{n}.gz" for n in labels_only for m in (*bads, "good/")]


@pytest.mark.parametrize(
    "bads", [("bad_early/",), ("bad_crc/", "bad_cut/", "bad_html/"), ("empty/",)]
)
def test_all_mirrors_bad_is_one_line_error_and_leaves_nothing(tmp_path, site, requests, bads):
    dest = tmp_path / "mnist"
    with pytest.raises(DataError) as info:
        download(dest, mirrors=tuple(site.url + b for b in bads), **QUIET)
    msg = str(info.value)
    assert "\n" not in msg
    assert "could not download train-images-idx3-ubyte.gz" in msg
    assert "check the internet connection" in msg
    for b in bads:
        assert f"{site.url}{b}train-images-idx3-ubyte.gz" in msg
    if bads != ("empty/",):
        assert "checksum mismatch" in msg
    assert list(dest.iterdir()) == []  # no file, no .tmp leftover


def test_404_then_good_mirror(tmp_path, site, requests, labels_only):
    dest = tmp_path / "mnist"
    download(dest, mirrors=(site.url + "empty/", site.url + "good/"), **QUIET)
    assert_all_good(dest, site)
    assert requests == [f"/{m}/{n}.gz" for n in labels_only for m in ("empty", "good")]


def test_404_message_says_not_found(tmp_path, site):
    with pytest.raises(DataError, match="(?i)not found"):
        download(tmp_path / "d", mirrors=(site.url + "empty/",), **QUIET)


def test_unreachable_mirror_is_clear_offline_error(tmp_path):
    dest = tmp_path / "mnist"
    url = f"http://127.0.0.1:{closed_port()}/mnist/"
    with pytest.raises(DataError) as info:
        download(dest, mirrors=(url,), **QUIET)
    msg = str(info.value)
    assert "\n" not in msg
    assert "could not download train-images-idx3-ubyte.gz" in msg
    assert "refused" in msg.lower()
    assert "check the internet connection" in msg and str(dest) in msg
    assert list(dest.iterdir()) == []


def test_unreachable_then_good_mirror(tmp_path, site, requests, labels_only):
    dest = tmp_path / "mnist"
    download(dest, mirrors=(f"http://127.0.0.1:{closed_port()}/", site.url + "good/"), **QUIET)
    assert_all_good(dest, site)
    assert requests == [f"/good/{n}.gz" for n in labels_only]


def test_present_valid_files_not_downloaded_again(tmp_path, site, requests, labels_only):
    dest = tmp_path / "mnist"
    mirrors = (site.url + "good/",)
    download(dest, mirrors=mirrors, **QUIET)
    assert len(requests) == 2
    mtimes = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}

    download(dest, mirrors=mirrors, **QUIET)
    assert len(requests) == 2  # no new request
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == mtimes

    (dest / "t10k-labels-idx1-ubyte.gz").unlink()
    download(dest, mirrors=mirrors, **QUIET)
    assert requests[2:] == ["/good/t10k-labels-idx1-ubyte.gz"]  # only the missing one
    assert_all_good(dest, site)
    assert (dest / "train-labels-idx1-ubyte.gz").stat().st_mtime_ns == mtimes[
        "train-labels-idx1-ubyte.gz"]


def test_present_corrupt_file_is_replaced(tmp_path, site, requests, labels_only):
    dest = tmp_path / "mnist"
    dest.mkdir()
    for name in labels_only:
        shutil.copyfile(site.root / "good" / f"{name}.gz", dest / f"{name}.gz")
    target = dest / "train-labels-idx1-ubyte.gz"
    target.write_bytes(_flip(target.read_bytes(), 100))
    download(dest, mirrors=(site.url + "good/",), **QUIET)
    assert requests == ["/good/train-labels-idx1-ubyte.gz"]
    assert_all_good(dest, site)


def test_mirror_gz_md5_accepted_as_is(tmp_path, site, monkeypatch, requests):
    """A file whose .gz md5 is the mirrors' is accepted without looking inside."""
    dest = tmp_path / "mnist"
    dest.mkdir()
    for name in NAMES:
        shutil.copyfile(site.root / "good" / f"{name}.gz", dest / f"{name}.gz")
    own = {n: hashlib.md5((dest / f"{n}.gz").read_bytes()).hexdigest() for n in NAMES}
    monkeypatch.setattr(downloading, "MD5_GZ", own)
    monkeypatch.setattr(downloading, "MD5_RAW", dict.fromkeys(NAMES, "0" * 32))
    download(dest, mirrors=(site.url + "good/",), **QUIET)
    assert requests == []


def test_file_url_mirror(tmp_path, site):
    dest = tmp_path / "mnist"
    download(dest, mirrors=((site.root / "good").as_uri() + "/",), **QUIET)
    assert_all_good(dest, site)
    _, labels = load_raw(dest, "train")
    assert labels[0] == 5 and np.bincount(labels)[0] == 5923


def test_file_url_missing_then_http(tmp_path, site, requests, labels_only):
    dest = tmp_path / "mnist"
    download(dest, mirrors=((tmp_path / "nothing").as_uri(), site.url + "good"), **QUIET)
    assert_all_good(dest, site)
    assert requests == [f"/good/{n}.gz" for n in labels_only]


def test_unwritable_destination(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DataError, match="cannot create"):
        download(blocker / "mnist", mirrors=("http://127.0.0.1:9/",), **QUIET)
