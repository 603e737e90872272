"""The playground's routes: train in the browser and watch the model learn. ``create_app(model, data_dir)``.

    GET  /                       the playground (the draw page when serving a MODEL)
    GET  /playground             the playground (static/playground.html, .js, .css, vendor/uPlot)
    GET  /api/events             Server-Sent Events, at most one message per UPDATE_SECONDS
                                 (playground_stream: hello, runs, run, bye; FULL_SPEED_SECONDS
                                 apart while a run trains at full speed)
    POST /api/train              JSON settings -> 202 {"id"}; 409 {"error"} while a run trains
                                 (one training per server, whichever tab asks); 400 bad settings
    POST /api/stop               stop the run that trains, after its current step
    POST /api/pause, /api/resume hold the run that trains after its current step, and go on
    POST /api/step               go on to the end of the current epoch, then hold again
    DELETE /api/runs/<id>        drop a run from the comparison, for every page (not while it trains)
    GET  /api/runs/<id>/model.npz   the run's weights as the model.npz predict and evaluate read
    POST /api/runs/<id>/predict     a drawn digit -> probs, the 28x28 image, and the evidence
                                 (pixel value x weight) for the predicted class and the runner-up

Errors are JSON {"error": one English line, "code": what went wrong, ...}: the pages say it in
their own language from ``code`` (and ``setting``, the setting at fault), never by parsing the line.

The rooms behind it: playground_runs (the runs and the training thread), playground_stream (the
event streams), playground_form (the settings), playground_pictures (what a model is shown as).
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, jsonify, request

from softmax_mnist.apps.playground_runs import MAX_RUNS, PageError, Playground, Run
from softmax_mnist.apps.playground_stream import MAX_STREAMS, Streams
from softmax_mnist.apps.web import MAX_UPLOAD_BYTES, READ_TIMEOUT, base_app, read_digit, read_json
from softmax_mnist.apps.web import create_app as draw_app
from softmax_mnist.apps.web import make_server as web_server
from softmax_mnist.errors import DataError, SoftmaxMnistError


def create_app(model_path: str | os.PathLike | None = None, data_dir=None,
               max_runs: int = MAX_RUNS, max_bytes: int = MAX_UPLOAD_BYTES) -> Flask:
    """The playground at / (with ``model_path``: the draw page at /, the playground at /playground,
    the model its first run). ``app.playground`` is the Playground."""
    pg = Playground(data_dir, max_runs, draw_page=model_path is not None)
    if model_path is not None:
        app = draw_app(model_path, max_bytes)
        pg.open_model(model_path)
    else:
        app = base_app(max_bytes)
        app.add_url_rule("/", "playground_index", lambda: app.send_static_file("playground.html"))
    app.playground = pg
    streams = Streams(pg)

    @app.errorhandler(SoftmaxMnistError)
    def refused(e: SoftmaxMnistError):
        if isinstance(e, PageError):
            return jsonify(error=str(e), code=e.code, **e.info), e.status
        if isinstance(e, DataError):
            return jsonify(error=str(e), code="no_data", dir=str(pg.data_dir)), 409
        return jsonify(error=str(e), code="setting", setting=getattr(e, "setting", None)), 400

    @app.get("/playground")
    def playground_page():
        return app.send_static_file("playground.html")

    @app.get("/api/events")
    def events():
        stream = streams.open(request.remote_addr,
                              request.environ.get("waitress.client_disconnected", lambda: False))
        return Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/api/train")
    def train():
        run = pg.start(read_json(max_bytes))
        return jsonify(id=run.id, name=run.name), 202

    @app.post("/api/stop")
    def stop():
        run = pg.stop()
        if run is None:
            raise PageError("nothing is training", "idle")
        return jsonify(id=run.id, name=run.name)

    @app.post("/api/pause")
    def pause():
        run = pg.pause(True)
        return jsonify(id=run.id, paused=True)

    @app.post("/api/resume")
    def resume():
        run = pg.pause(False)
        return jsonify(id=run.id, paused=False)

    @app.post("/api/step")
    def one_epoch():
        run = pg.one_epoch()
        return jsonify(id=run.id, paused=False, until="epoch end")

    @app.delete("/api/runs/<int:run_id>")
    def remove(run_id: int):
        pg.remove(run_id)
        return jsonify(id=run_id, removed=True)

    def run_or_404(run_id: int) -> Run:
        run = pg.get(run_id)
        if run is None:
            abort(404, f"no run #{run_id}: the playground keeps the last {pg.max_runs} runs")
        return run

    @app.get("/api/runs/<int:run_id>/model.npz")
    def download(run_id: int):
        data = pg.model_file(run_or_404(run_id))
        return Response(data, mimetype="application/octet-stream", headers={
            "Content-Disposition": f'attachment; filename="model-run{run_id}.npz"'})

    @app.post("/api/runs/<int:run_id>/predict")
    def run_predict(run_id: int):
        run = run_or_404(run_id)
        return jsonify(pg.explain(run, read_digit(max_bytes)))

    return app


def make_server(app, host: str, port: int, read_timeout: int = READ_TIMEOUT):
    """The server for a playground app: a thread for each of the MAX_STREAMS pages it lets open,
    plus web.REQUEST_THREADS for uploads and everything else (web.make_server)."""
    return web_server(app, host, port, read_timeout=read_timeout, long_lived=MAX_STREAMS)
