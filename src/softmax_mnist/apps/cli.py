"""Command line: ``softmax-mnist {train,evaluate,download,study,sweep,report,predict,serve,check,skeleton}``.

What each subcommand does: it calls the layers below and prints what they return. The only
module that prints and exits; the flags and their help are in arguments.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

from softmax_mnist.apps import arguments
from softmax_mnist.core.config import TrainConfig, read_toml
from softmax_mnist.core.presets import preset
from softmax_mnist.errors import ConfigError, SoftmaxMnistError, command, in_terms


def progress_bars(quiet: bool = False):
    """A tqdm factory for the core's ``progress`` hooks on a terminal: a bar appears only when
    its task has run for 2 s, and leaves no trace. None (no bars) with --quiet or when the
    output is not a terminal, where the plain lines of each epoch, pass and step stand."""
    if quiet or not sys.stderr.isatty():
        return None
    from functools import partial

    from tqdm import tqdm

    return partial(tqdm, delay=2, leave=False, file=sys.stderr, dynamic_ncols=True)


def resolve_train_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults, overridden by --preset, by --config FILE.toml, then by flags."""
    settings = preset(args.preset) if getattr(args, "preset", None) else {}
    if args.config:
        settings.update(read_toml(args.config))
        settings.pop("data_dir", None)  # a path in the file is honoured below, not a TrainConfig key
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            settings[f.name] = value
    return TrainConfig.from_dict(settings)


def _toml_data_dir(settings: dict, path) -> str | None:
    value = settings.get("data_dir")
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: data_dir must be a path in quotes, got {value!r}")
    return value


def cmd_train(args) -> int:
    from softmax_mnist.study.checkpoint import Interrupted, catch_signals
    from softmax_mnist.study.run import finish_staged, read_run_config, train_run

    if args.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")
    if args.display_freq < 0:
        raise ConfigError(f"--display-freq must be >= 0 (0: a line per epoch only), got {args.display_freq}")
    if args.resume:
        given = [f"--{f.name.replace('_', '-')}" for f in fields(TrainConfig)
                 if getattr(args, f.name, None) is not None] + (["--config"] if args.config else []) \
            + (["--preset"] if args.preset else [])
        if given or args.out:
            raise ConfigError(f"--resume takes its settings from {args.resume}/config.json; "
                              f"drop {', '.join(given + (['--out'] if args.out else []))}")
        moved = finish_staged(Path(args.resume))  # complete, but its swap was refused
        if moved is not None:
            print(f"the run in {args.resume} is complete; moved it to {moved}")
            return 0
        config, saved_dir = read_run_config(args.resume)
        data_dir, out = args.data_dir or saved_dir, args.resume
    else:
        config = resolve_train_config(args)
        data_dir = args.data_dir
        if data_dir is None and args.config:
            data_dir = _toml_data_dir(read_toml(args.config), args.config)
        out = args.out or f"runs/train-{time.strftime('%Y%m%d-%H%M%S')}"
    log = None if args.quiet else print
    from softmax_mnist.study.run import replaced_by

    final = (replaced_by(Path(out)) if args.resume else None) or out  # a staged run moves there
    with catch_signals() as stop:
        try:
            if config.transform() and log:
                log(f"preparing the images: {', '.join(f'{k} {v}' for k, v in config.transform().items())}")
            metrics = train_run(config, data_dir, out, log=log, force=args.force,
                                resume=bool(args.resume), checkpoint_every=args.checkpoint_every,
                                stop=stop, display_freq=args.display_freq,
                                progress=progress_bars(args.quiet))
        except Interrupted as e:
            where = getattr(e, "folder", out)  # <out>.partial when it was to replace a run
            print(f"softmax-mnist train: {stop.signal or 'interrupted'}: {e}; checkpoint saved in "
                  f"{where}; resume with: {command('train', '--resume', where)}", file=sys.stderr)
            return 130
    val = f"  val accuracy {metrics['val_acc']:.4f}" if "val_acc" in metrics else ""
    print(f"test accuracy {metrics['test_acc']:.4f}{val}  "
          f"({metrics['train_seconds']:.1f}s training)  -> {final}")
    return 0


def cmd_evaluate(args) -> int:
    from softmax_mnist.study.run import evaluate_file

    result = evaluate_file(args.model, args.data_dir, args.split, args.val_size)
    print(json.dumps(result) if args.json else
          f"{args.split}: {result['n']:,} images  loss {result['loss']:.4f}  accuracy {result['acc']:.4f}")
    return 0


def cmd_download(args) -> int:
    from functools import partial

    from softmax_mnist.core.download import MIRRORS, download

    bars = progress_bars(args.quiet)  # on a terminal; the line per file gives bytes and rate too
    where = download(args.data_dir, tuple(args.mirror or MIRRORS), args.timeout,
                     log=None if args.quiet else print,
                     progress=bars and partial(bars, unit="B", unit_scale=True))
    print(f"MNIST ready in {where}")
    return 0


# ---- study, sweep, report (study/pipeline.py: plans -> runner -> artifacts -> report) ------


def _run_plan(args, kind: str, plan, data_dir, quick: bool = False) -> int:
    """Train ``plan``, write the study folder and its report; the shared body of study and sweep."""
    from softmax_mnist.study import pipeline
    from softmax_mnist.study.checkpoint import Interrupted, catch_signals
    from softmax_mnist.study.report.typeset import check_fonts

    check_fonts(args.lang)  # before any training: a missing CJK font is a one-line stop
    start = time.perf_counter()
    impl_dir = getattr(args, "impl", None)  # study --impl DIR: the student's classes train
    if args.resume:  # the plan and seed come from the folder; where the data lives is not a setting
        flags = (("--out", args.out), ("--seed", args.seed is not None), ("--force", args.force),
                 ("--quick", quick), ("--impl", impl_dir))
        given = [f for f, v in flags if v]
        if given:
            raise ConfigError(f"--resume takes the plan from {args.resume}/progress.json; drop "
                              f"{', '.join(given)}")
        study = pipeline.resume_study(kind, args.resume, data_dir)
    else:
        study = pipeline.open_study(kind, plan, args.out or f"runs/{kind}-{time.strftime('%Y%m%d-%H%M%S')}",
                                    data_dir, quick, args.force, impl_dir)
    print(f"{kind}: {len(study.plan)} runs on {len(study.data.x_train):,} training images -> {study.out}"
          + (f" (with the classes of {study.impl.folder})" if study.impl else ""))
    with catch_signals() as stop:
        try:
            bars = progress_bars(args.quiet)
            results = study.train(None if args.quiet else print, args.verbose, bars, stop)
        except Interrupted as e:
            print(f"softmax-mnist {kind}: {stop.signal or 'interrupted'}: {e}; progress saved in "
                  f"{study.out}; resume with: "
                  + command(kind, "--resume", study.out, *([args.config] if kind == "sweep" else [])),
                  file=sys.stderr)
            return 130
    written = study.write(results, args.lang, progress_bars(args.quiet))
    _print_report(written.report)
    out = study.close()
    if written.reference is not None:
        print(f"model.npz: {written.reference}, the report's reference (the course's setting with "
              "momentum 0.9)" if kind == "study" else
              f"model.npz: {written.reference}, the best setting on validation")
    if written.best is not None:
        seeds = f"mean over {written.best_seeds} seeds" if written.best_seeds > 1 else "one seed"
        print(f"best on validation accuracy: {written.best} ({written.best_val_acc:.4f}, {seeds})"
              + (f"; its model: model-best.npz ({written.best_model})" if written.best_model else ""))
    print(f"{kind} done in {time.perf_counter() - start:.1f}s (training {written.train_seconds:.1f}s, "
          f"timing {written.timing_seconds:.1f}s, the rest data, report and files) -> {out}")
    return 0


def _print_report(report) -> None:
    """The line of a report built (pipeline.ReportWritten)."""
    if report.markdown is None:  # only typeset
        print(f"report: {report.pdf} ({report.pages} pages) from {report.typst}")
    else:
        print(f"report ({report.lang}): {report.pdf} ({report.pages} pages), {report.markdown}, "
              f"{report.typst}  {report.seconds:.1f}s")


def cmd_study(args) -> int:
    from softmax_mnist.study.plans import study_plan

    return _run_plan(args, "study", study_plan(args.quick, args.seed or 0), args.data_dir, args.quick)


def cmd_sweep(args) -> int:
    from softmax_mnist.study.plans import grid_plan

    spec = read_toml(args.config)
    try:
        plan = grid_plan(spec, args.seed or 0)
    except ConfigError as e:
        raise ConfigError(f"{args.config}: {e}") from None
    return _run_plan(args, "sweep", plan, args.data_dir or _toml_data_dir(spec, args.config))


def cmd_report(args) -> int:
    from pathlib import Path

    folder = Path(args.results_dir)
    if not (folder / "results.json").is_file():
        raise ConfigError(f"{folder / 'results.json'} not found; pass a folder written by "
                          "`softmax-mnist study` or `softmax-mnist sweep`")
    from softmax_mnist.study.report.typeset import check_fonts

    if args.typeset_only:
        from softmax_mnist.study.report.document import output_name

        typ = folder / output_name(args.lang, ".typ")
        if not typ.is_file():
            again = command("report", folder, *([] if args.lang == "zh" else ["--lang", args.lang]))
            raise ConfigError(f"{typ} not found; run `{again}` first to write it")
    else:
        check_fonts(args.lang)
    from softmax_mnist.study.pipeline import build_report

    _print_report(build_report(folder, args.lang, args.typeset_only, progress_bars()))
    return 0


# ---- predict, serve (prepare.py readies photos and drawings; web.py is the page) -----------


def cmd_predict(args) -> int:
    import math
    from pathlib import Path

    from softmax_mnist.apps.prepare import ImageError, predict_proba, prepare_file, to_png
    from softmax_mnist.fileio import atomic_write_bytes
    from softmax_mnist.study.modelfile import load_model

    model, meta = load_model(args.model)
    width = min(40, max(len("image"), *map(len, args.images)))
    if not args.json:
        print(f"{'image':<{width}}  digit  " + "  ".join(f"{d:>5}" for d in range(model.W.shape[1])))
    results, saved = [], set()
    for path in args.images:
        try:
            image = prepare_file(path)
        except ImageError as e:
            results.append({"image": path, "error": str(e)})
            if not args.json:
                print(f"softmax-mnist predict: error: {e}", file=sys.stderr)
            continue
        probs = predict_proba(model, meta, image[None])[0]
        if not all(math.isfinite(p) for p in probs):  # load_model bounds the scores: a last guard
            results.append({"image": path, "error": f"{path}: the model gave non-finite probabilities"})
            if not args.json:
                print(f"softmax-mnist predict: error: {results[-1]['error']}", file=sys.stderr)
            continue
        result = {"image": path, "digit": int(probs.argmax()), "probs": [float(p) for p in probs]}
        if args.save_prepared:
            stem, n = Path(path).stem, 1
            while f"{stem}.png" in saved:  # two inputs with one name: a.png, a-2.png
                stem, n = f"{Path(path).stem}-{n + 1}", n + 1
            saved.add(f"{stem}.png")
            result["prepared"] = str(atomic_write_bytes(Path(args.save_prepared) / f"{stem}.png",
                                                        to_png(image)))
        results.append(result)
        if not args.json:
            print(f"{path:<{width}}  {result['digit']:>5}  "
                  + "  ".join(f"{p:5.3f}" for p in probs))
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False))  # NaN is not JSON
    return 1 if any("error" in r for r in results) else 0


def cmd_serve(args) -> int:
    import logging
    import signal

    from softmax_mnist.apps.playground import create_app, make_server
    from softmax_mnist.apps.web import access_log

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    if args.timeout < 1:
        raise ConfigError(f"--timeout must be at least 1 second, got {args.timeout}")
    app = create_app(args.model, args.data_dir)
    logging.getLogger("waitress.queue").setLevel(logging.INFO if args.verbose else logging.ERROR)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:  # waitress: a production server (a read timeout, threads for work and for the pages)
        server = make_server(access_log(app) if args.verbose else app, args.host, args.port,
                             read_timeout=args.timeout)
    except (OSError, ValueError) as e:  # waitress: ValueError for a host it cannot resolve
        why = getattr(e, "strerror", None) or ("no such address" if isinstance(e, ValueError) else e)
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({why}); "
                          "choose another --port or --host") from None
    port = getattr(server, "effective_port", None) or server.effective_listen[0][1]
    url = f"http://{args.host}:{port}/"
    print(f"serving {args.model} on {url}  (Ctrl+C to stop); the playground is at {url}playground"
          if args.model else f"playground on {url}  (Ctrl+C to stop)", flush=True)

    def interrupted(signum, frame):  # end the pages' streams first, so waitress's threads can stop
        app.playground.close()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    try:
        server.run()  # returns on Ctrl+C
        print("stopped")
    except KeyboardInterrupt:
        print("stopped")
    finally:
        app.playground.close()
        server.close()
    return 0


def cmd_check(args) -> int:
    from softmax_mnist.checker.output import format_each, format_report, results_csv, to_json
    from softmax_mnist.checker.runner import CannotRun, run_check, run_each
    from softmax_mnist.fileio import SPREADSHEET, atomic_write_text

    console_safe("backslashreplace")  # a student's text, shown as \xb5 rather than ?

    if args.skeleton:
        if args.each or args.json:
            raise ConfigError("--skeleton writes two files; drop --each and --json")
        return cmd_skeleton(args)
    if not args.each and (args.jobs is not None or args.out):
        raise ConfigError("--jobs and --out go with --each")
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    if args.each:
        try:
            reports = run_each(args.folder, args.data_dir, args.jobs, done=lambda r: print(
                f"checked {r.folder}: " + ("cannot run" if r.status == 2 else
                                           f"{len(r.checks) - len(r.failed)} of {len(r.checks)} passed"),
                file=sys.stderr, flush=True))
        except CannotRun as e:
            print(f"softmax-mnist check: error: {e}", file=sys.stderr)
            return 2
        csv_path = atomic_write_text(args.out or Path(args.folder) / "results.csv",
                                     results_csv(reports), SPREADSHEET)
        print(json.dumps([r.to_json() for r in reports], indent=2) if args.json else
              f"{format_each(reports)}\nresults: {csv_path}")
        # 2 when nothing could be checked (no readable MNIST: every row says why)
        return 0 if all(r.status == 0 for r in reports) else 2 if all(r.status == 2 for r in reports) else 1
    report = run_check(args.folder, args.data_dir)
    if args.json:
        print(to_json(report))
    elif report.status == 2:
        print(f"softmax-mnist check: error: {format_report(report)}", file=sys.stderr)
    else:
        print(format_report(report))
    return report.status


def cmd_skeleton(args) -> int:
    from softmax_mnist.checker.folder import CannotRun, write_skeleton

    try:
        paths = write_skeleton(args.folder)
    except CannotRun as e:
        print(f"softmax-mnist {args.command}: error: {in_terms(str(e), as_flag)}", file=sys.stderr)
        return 2
    print(f"wrote {paths[0]} and {paths[1]}; fill in the TODOs, then run: "
          f"{command('check', args.folder)}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "download": cmd_download,
            "study": cmd_study, "sweep": cmd_sweep, "report": cmd_report, "predict": cmd_predict,
            "serve": cmd_serve, "check": cmd_check, "skeleton": cmd_skeleton}


def build_parser() -> argparse.ArgumentParser:
    """The command line (arguments.py), each subcommand running its cmd_ function."""
    return arguments.build_parser(COMMANDS)


def console_safe(errors: str = "replace") -> None:
    """Never raise on a character the console cannot show (a GBK console and a µ, a path's
    letters): it prints as ? instead (``errors``: Python's codec error handler). The console's
    own encoding is kept, so Chinese shows."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors=errors)
        except (AttributeError, ValueError):  # a replaced stream (StringIO in tests, a notebook)
            pass


def as_flag(setting: str, value: str | None) -> str:
    """A setting a message names (errors.advice) as this command line's flag: lr=0.1 -> --lr 0.1."""
    flag = "--" + setting.replace("_", "-")
    return flag if value is None else f"{flag} {value}"


def main(argv: list[str] | None = None) -> int:
    console_safe()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SoftmaxMnistError as e:
        print(f"softmax-mnist {args.command}: error: {in_terms(str(e), as_flag)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"softmax-mnist {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
