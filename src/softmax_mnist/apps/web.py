"""A draw-a-digit page for a trained model: ``create_app(model_path)`` returns a Flask app.
(The playground, playground.py and its rooms, builds on this module's ``base_app`` and ``read_digit``.)

    GET  /                      the page (static/index.html, app.js, style.css; no external asset)
    GET  /templates/<d>.png     column d of W as a 28x28 picture: red raises the score, blue lowers it
    POST /api/predict           body: an image file (or a multipart form with one file)
                                200 {"digit", "probs", "image": the 28x28 the model saw, as a data URL}
                                422 {"error": "no digit found"}; 400 {"error": ...} for a bad request,
                                413 for a body over the limit (raw or multipart alike)
                                503 {"error": ...} when WORK_SLOTS images are being read and none
                                frees within WORK_WAIT_SECONDS

``make_server`` serves an app through waitress (a production WSGI server): connections are read
by one event loop, so a stalled client holds no thread, and is closed after ``read_timeout``
seconds of silence; a request reaches a worker thread only once its body has arrived whole (a
chunked body is de-chunked and given a Content-Length, so the size limit applies to it too).
connections.py adds per-request deadlines and a per-client connection cap, and refuses a body
announced over the limit before the client sends it.
"""

from __future__ import annotations

import base64
import ctypes
import json
import logging
import os
import threading
import time

import numpy as np
from flask import Flask, Response, abort, current_app, jsonify, request
from waitress.server import create_server
from werkzeug.exceptions import HTTPException

from softmax_mnist.apps.connections import guard, too_large_message
from softmax_mnist.apps.prepare import ImageError, NoDigitError, predict_proba, prepare_file, to_png
from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES
from softmax_mnist.errors import ConfigError
from softmax_mnist.study.modelfile import load_model

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a 280x280 canvas PNG is a few kB
MAX_UPLOAD_PIXELS = 4_000_000  # a small PNG can hold a huge blank image; decoding it costs memory
# decoding a 4-megapixel upload takes about 70 MB for a moment: at most this many at once
# (2 cores: more would not be faster), the others wait for a slot, then get 503
WORK_SLOTS = 2
WORK_WAIT_SECONDS = 10.0
READ_TIMEOUT = 30  # seconds a connection may stay silent (mid-request or idle) before it is closed
REQUEST_THREADS = 8  # worker threads for ordinary requests; long-lived ones (the playground's) add theirs
MAX_CONNECTIONS = 500  # open connections (a stalled one costs a socket and a buffer, no thread)
BODY_BACKSTOP = 4  # the server itself refuses bodies over this many times max_bytes (plain text)


def template_image(w: np.ndarray, scale: float) -> np.ndarray:
    """A weight column (784,) -> RGB uint8 (28, 28, 3): white at 0, red positive, blue negative."""
    t = np.clip(w.reshape(28, 28) / scale, -1, 1)
    fade = (255 * (1 - np.abs(t))).astype(np.uint8)
    full = np.full_like(fade, 255)
    return np.stack([np.where(t > 0, full, fade), fade, np.where(t < 0, full, fade)], axis=-1)


class UploadError(Exception):
    """A request refused (a body that is not one readable digit image, not JSON, too large, ...):
    ``status`` and a one-line message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def read_digit(max_bytes: int) -> np.ndarray:
    """The digit image in the current request's body (raw, or a one-file multipart form), prepared
    as MNIST was: uint8 (28, 28). Raises UploadError."""
    size = request.content_length
    if size is not None and size > max_bytes:  # refuse before reading the body
        raise UploadError(too_large_message(size, max_bytes), 413)
    if request.mimetype == "multipart/form-data":  # curl -F image=@digit.png
        data = b"".join(f.read() for f in request.files.values())
    else:  # the raw file as the body, whatever Content-Type it claims
        data = read_body(max_bytes)
    if not data:
        raise UploadError("empty request: POST an image file (PNG, JPEG, ...) as the body")
    with current_app.extensions["softmax_mnist.work"]:  # base_app's WorkSlots
        try:
            return prepare_file(data, "upload", MAX_UPLOAD_PIXELS)
        except NoDigitError:
            raise UploadError("no digit found", 422) from None
        except ImageError as e:
            raise UploadError(str(e)) from None


def read_body(max_bytes: int) -> bytes:
    """The request's body, refused (UploadError) as soon as it is seen to be over ``max_bytes``:
    also a body without Content-Length (chunked), which a server may hand over unmeasured."""
    chunks, size = [], 0
    while size <= max_bytes:
        part = request.stream.read(min(1 << 16, max_bytes + 1 - size))
        if not part:
            break
        chunks.append(part)
        size += len(part)
    if size > max_bytes:
        raise UploadError(too_large_message(None, max_bytes), 413)
    return b"".join(chunks)


def read_json(max_bytes: int):
    """The current request's body as JSON; UploadError (400, one line) when it is not JSON or
    nests deeper than Python's parser goes (a 100,000-deep array is a RecursionError, not a 500)."""
    try:
        return json.loads(read_body(max_bytes) or b"null")
    except RecursionError:
        raise UploadError("the JSON body nests too deeply; send the settings as one flat JSON object") \
            from None
    except ValueError as e:  # UnicodeDecodeError included
        raise UploadError(f"the body is not JSON ({e}); send the settings as a JSON object") from None


def _libc():
    """The C library, for glibc's malloc_trim and mallopt; None where there is none by that name
    (Windows). On macOS or musl the functions may be absent: each is looked up before use."""
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):
        return None


LIBC = _libc()
MALLOC_TRIM = getattr(LIBC, "malloc_trim", None)
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 1 << 20  # blocks of 1 MiB or more are mapped apart, and unmapped when freed
ARENAS = 2  # heaps shared by the server's threads (glibc's default: 8 per core, one per thread here)


def keep_heap_small() -> None:
    """Let the memory of large images go back to the system once they are freed (glibc only).

    glibc gives each thread of the server its own heap (arena), and raises its mmap threshold each
    time a large block is freed (up to 32 MB), so after the first decodes every 4 MB array comes
    from one of those heaps, and what they free mostly stays in the process: three bursts of 16
    concurrent 4-megapixel uploads left 250 MB behind (740 MB before images were reduced to
    WORK_SIDE). A fixed threshold keeps such arrays mapped apart, and ARENAS heaps for all threads
    keep the rest together: 78 MB after, about the RSS before (benchmarks/upload_burst.py).
    Called before the server's threads start; a serving process only (training elsewhere keeps
    glibc's defaults)."""
    mallopt = getattr(LIBC, "mallopt", None)
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        mallopt(M_ARENA_MAX, ARENAS)


class WorkSlots:
    """At most ``slots`` images decoded at once: ``with slots:`` waits up to ``wait`` seconds for
    one, then refuses with 503 (UploadError), so concurrent uploads cannot pile up memory.

    When the last image of a burst is done, the smaller blocks freed are handed back too
    (malloc_trim, glibc only; the large ones see keep_heap_small)."""

    def __init__(self, slots: int, wait: float):
        self.slots, self.wait = slots, wait
        self._sem = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._busy = 0

    def __enter__(self):
        if not self._sem.acquire(timeout=self.wait):
            raise UploadError(f"the server is busy reading {self.slots} other images; try again in a "
                              "moment", 503)
        with self._lock:
            self._busy += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._busy -= 1
            idle = self._busy == 0
        self._sem.release()
        if idle and MALLOC_TRIM is not None:
            MALLOC_TRIM(0)


def png_data_url(image: np.ndarray) -> str:
    """A uint8 (H, W) or (H, W, 3) image as a data:image/png URL."""
    return "data:image/png;base64," + base64.b64encode(to_png(image)).decode("ascii")


def base_app(max_bytes: int = MAX_UPLOAD_BYTES) -> Flask:
    """A Flask app serving softmax_mnist/static, whose /api/ routes always answer JSON errors."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    app.extensions["softmax_mnist.work"] = WorkSlots(WORK_SLOTS, WORK_WAIT_SECONDS)

    @app.errorhandler(UploadError)
    def upload_error(e: UploadError):
        if e.status == 503:
            return jsonify(error=str(e)), 503, {"Retry-After": "1"}
        return jsonify(error=str(e)), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if request.path.startswith("/api/"):  # the API always answers JSON
            if e.code == 413:  # a multipart body, or one without Content-Length, over the limit
                return jsonify(error=too_large_message(request.content_length, max_bytes)), 413
            return jsonify(error=e.description or e.name), e.code or 400
        return e

    return app


def create_app(model_path: str | os.PathLike, max_bytes: int = MAX_UPLOAD_BYTES) -> Flask:
    """The web app for the model file at ``model_path`` (loaded once, read-only while serving)."""
    model, meta = load_model(model_path)
    if model.W.shape != (NUM_FEATURES, NUM_CLASSES):
        raise ConfigError(f"{model_path}: serve needs a 28x28, 10-class model, "
                          f"this one has W of shape {model.W.shape}")
    scale = float(np.abs(model.W).max()) or 1.0  # one scale for all ten, so they compare
    templates = [to_png(template_image(model.W[:, d], scale)) for d in range(NUM_CLASSES)]
    app = base_app(max_bytes)

    @app.get("/")
    def index():
        return app.send_static_file("index.html")

    @app.get("/templates/<int:digit>.png")
    def template(digit: int):
        if not 0 <= digit < NUM_CLASSES:
            abort(404)
        return Response(templates[digit], mimetype="image/png")

    @app.post("/api/predict")
    def predict():
        image = read_digit(max_bytes)
        probs = predict_proba(model, meta, image[None])[0]
        if not np.isfinite(probs).all():  # NaN is not JSON; load_model bounds the scores, a last guard
            raise UploadError(f"{model_path}: the model gave non-finite probabilities", 500)
        return jsonify(digit=int(probs.argmax()), probs=[round(float(p), 6) for p in probs],
                       image=png_data_url(image))

    return app


def make_server(app, host: str, port: int, *, read_timeout: int = READ_TIMEOUT, long_lived: int = 0,
                max_bytes: int = MAX_UPLOAD_BYTES):
    """A waitress server for ``app`` on host:port (port 0: any free one; ``.effective_port`` says
    which); ``.run()`` serves until Ctrl+C, ``.close()`` stops listening. Raises OSError when it
    cannot listen there.

    ``long_lived``: how many requests may hold a thread for good (the playground's event streams,
    capped by the app), on top of REQUEST_THREADS for everything else, so neither starves the other.
    """
    keep_heap_small()
    return guard(create_server(
        app, host=host, port=port, ident="softmax-mnist",
        threads=long_lived + REQUEST_THREADS,
        channel_timeout=read_timeout,  # a connection silent this long is closed ...
        cleanup_interval=1,  # ... checked every second (waitress's default: every 30 s)
        connection_limit=MAX_CONNECTIONS,
        # bodies are read whole before the app runs, over inbuf_overflow (512 kB) into a temporary
        # file; the app answers a JSON 413 for a body over max_bytes, waitress the same 413
        # (connections.TooLarge, without reading further) for one over this
        max_request_body_size=BODY_BACKSTOP * max_bytes,
        # keep reading a connection while its request runs, so a page that closes is noticed and
        # its event stream ends at its next write (not only when a write fails)
        channel_request_lookahead=1,
        # each write of a response is sent at once: waitress 3 no longer buffers small writes (its
        # send_bytes is 1 and deprecated), which the playground's event stream depends on
        expose_tracebacks=False,
    ), max_bytes)


def access_log(app, log=None):
    """``app`` logging one line per request: method, path, status, milliseconds (serve -v)."""
    log = log or logging.getLogger("softmax_mnist.serve")

    def logged(environ, start_response):
        start, status = time.perf_counter(), []

        def record(s, headers, exc_info=None):
            status.append(s.split(" ", 1)[0])
            return start_response(s, headers, exc_info)

        try:
            return app(environ, record)
        finally:
            log.info("%s %s %s %.0f ms", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                     status[0] if status else "-", (time.perf_counter() - start) * 1000)

    return logged
