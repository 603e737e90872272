"""A draw-a-digit page for a trained model: ``create_app(model_path)`` returns a Flask app.
(The playground, playground.py, builds on this module's ``base_app`` and ``read_digit``.)

    GET  /                      the page (static/index.html, app.js, style.css; no external asset)
    GET  /templates/<d>.png     column d of W as a 28x28 picture: red raises the score, blue lowers it
    POST /api/predict           body: an image file (or a multipart form with one file)
                                200 {"digit", "probs", "image": the 28x28 the model saw, as a data URL}
                                422 {"error": "no digit found"}; 400 {"error": ...} for a bad request
"""

from __future__ import annotations

import base64
import os

import numpy as np
from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from softmax_mnist.errors import ConfigError
from softmax_mnist.modelfile import load_model
from softmax_mnist.prepare import ImageError, NoDigitError, predict_proba, prepare_file, to_png

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a 280x280 canvas PNG is a few kB
MAX_UPLOAD_PIXELS = 4_000_000  # a small PNG can hold a huge blank image; decoding it costs memory


def template_image(w: np.ndarray, scale: float) -> np.ndarray:
    """A weight column (784,) -> RGB uint8 (28, 28, 3): white at 0, red positive, blue negative."""
    t = np.clip(w.reshape(28, 28) / scale, -1, 1)
    fade = (255 * (1 - np.abs(t))).astype(np.uint8)
    full = np.full_like(fade, 255)
    return np.stack([np.where(t > 0, full, fade), fade, np.where(t < 0, full, fade)], axis=-1)


class UploadError(Exception):
    """A request whose body is not one readable digit image: ``status`` and a one-line message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def read_digit(max_bytes: int) -> np.ndarray:
    """The digit image in the current request's body (raw, or a one-file multipart form), prepared
    as MNIST was: uint8 (28, 28). Raises UploadError."""
    size = request.content_length
    if size is not None and size > max_bytes:  # refuse before reading the body
        raise UploadError(f"image too large: {size:,} bytes, the limit is {max_bytes:,}")
    if request.mimetype == "multipart/form-data":  # curl -F image=@digit.png
        data = b"".join(f.read() for f in request.files.values())
    else:  # the raw file as the body, whatever Content-Type it claims
        data = request.get_data(cache=False)
    if not data:
        raise UploadError("empty request: POST an image file (PNG, JPEG, ...) as the body")
    try:
        return prepare_file(data, "upload", MAX_UPLOAD_PIXELS)
    except NoDigitError:
        raise UploadError("no digit found", 422) from None
    except ImageError as e:
        raise UploadError(str(e)) from None


def png_data_url(image: np.ndarray) -> str:
    """A uint8 (H, W) or (H, W, 3) image as a data:image/png URL."""
    return "data:image/png;base64," + base64.b64encode(to_png(image)).decode("ascii")


def base_app(max_bytes: int = MAX_UPLOAD_BYTES) -> Flask:
    """A Flask app serving softmax_mnist/static, whose /api/ routes always answer JSON errors."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_bytes

    @app.errorhandler(UploadError)
    def upload_error(e: UploadError):
        return jsonify(error=str(e)), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if request.path.startswith("/api/"):  # the API always answers JSON
            if e.code == 413:  # a body without Content-Length that outgrew the limit
                return jsonify(error=f"image too large: the limit is {max_bytes:,} bytes"), 413
            return jsonify(error=e.description or e.name), e.code or 400
        return e

    return app


def create_app(model_path: str | os.PathLike, max_bytes: int = MAX_UPLOAD_BYTES) -> Flask:
    """The web app for the model file at ``model_path`` (loaded once, read-only while serving)."""
    model, meta = load_model(model_path)
    if model.W.shape != (784, 10):
        raise ConfigError(f"{model_path}: serve needs a 28x28, 10-class model, "
                          f"this one has W of shape {model.W.shape}")
    scale = float(np.abs(model.W).max()) or 1.0  # one scale for all ten, so they compare
    templates = [to_png(template_image(model.W[:, d], scale)) for d in range(10)]
    app = base_app(max_bytes)

    @app.get("/")
    def index():
        return app.send_static_file("index.html")

    @app.get("/templates/<int:digit>.png")
    def template(digit: int):
        if not 0 <= digit < 10:
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
