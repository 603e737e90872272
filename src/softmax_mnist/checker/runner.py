"""``softmax-mnist check DIR``: is a student's loss.py and optimizer.py right?

The student's ``SoftmaxCrossEntropyLoss`` and ``SGD`` are run against this package's reference
(``softmax_mnist.course.loss``, ``softmax_mnist.course.optimizer``) in a child process
(child.py, started and read by process.Child) with a time limit per check, a memory limit and a
limit on processes, on Windows, macOS and Linux alike, so an exception, an endless loop, a huge
allocation, an exit or a stray process fails one check instead of the checker.

This module only reads the student's files (folder.preflight, never runs them), starts the
child, reads its events and puts the results together (``run_check``; ``run_each`` for every
subfolder, for teachers). Status: 0 every check passed, 1 some failed, 2 the check could not
run (``CannotRun``: no folder, no loss.py, a file not UTF-8, a syntax error, no readable MNIST).
"""
from __future__ import annotations

import os
import re
import signal
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from softmax_mnist.checker.checks import CHECKS, DEFAULT_LIMIT, IMPORT_LIMIT, MEMORY_HINT
from softmax_mnist.checker.folder import CannotRun, preflight
from softmax_mnist.checker.process import MAX_PROCESSES, Child, Output
from softmax_mnist.errors import SoftmaxMnistError

GRACE = 5.0  # the parent kills the child this long after a check's own limit
MEMORY_MB = 2048  # the child's tree, at most


@dataclass
class CheckResult:
    name: str
    passed: bool
    message: str
    hint: str = ""
    seconds: float = 0.0
    details: dict = field(default_factory=dict)


@dataclass
class Report:
    folder: str
    status: int  # 0 all passed, 1 some failed, 2 could not run
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def to_json(self) -> dict:
        return {"folder": self.folder, "status": self.status, "error": self.error,
                "passed": len(self.checks) - len(self.failed), "failed": self.failed,
                "seconds": round(self.seconds, 3), "checks": [asdict(c) for c in self.checks]}


def check_data(data_dir) -> str:
    """The MNIST folder the train check will read, or CannotRun saying how to get it."""
    from softmax_mnist.core.data import FILES, find_file, resolve_data_dir

    where = resolve_data_dir(data_dir)
    try:
        for key in ("train_images", "train_labels"):
            find_file(where, FILES[key])
    except SoftmaxMnistError as e:
        raise CannotRun(f"the train check needs MNIST: {e}") from None
    return str(where.resolve())


def _limits() -> dict:
    limits = {name: float(spec.get("limit", DEFAULT_LIMIT)) for name, spec in CHECKS.items()}
    return {**limits, "default": DEFAULT_LIMIT, "import": IMPORT_LIMIT}


NUMBER = (int, float)
CHECK_EVENTS = {  # the child's events and the fields each must have
    "limits": {"memory": str},
    "ready": {},
    "start": {"check": str},
    "result": {"check": str, "passed": bool, "message": str, "hint": str, "seconds": NUMBER,
               "broken": dict, "frameworks": dict},
    "where": {"where": str, "why": str},
    "fatal": {"error": str},
}


def where_in_dump(path: Path, folder: Path) -> str | None:
    """'loss.py line 37': the most recent frame in the student's files among the tracebacks the
    child's faulthandler wrote to ``path`` (guard.Dumps), or None."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    files = {str(p) for p in folder.glob("*.py")}
    for match in re.finditer(r'^\s*File "(.+)", line (\d+)', text, re.M):
        if match.group(1) in files:
            return f"{Path(match.group(1)).name} line {match.group(2)}"
    return None


def _strings(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items())


def _run_child(folder: Path, data_dir: str, names: list[str], broken: dict, output: Output, cwd: str):
    """Yield the child's events; on a hang, a death or a limit yield {"event": "lost", ...} and
    stop. Every wait has a deadline: a start-up, each check's limit plus GRACE, the gap between
    two checks, and the child's exit after its channel closed."""
    limits = _limits()
    dump = Path(cwd) / "tracebacks.txt"
    spec = {"folder": str(folder), "data_dir": data_dir, "checks": names, "broken": broken,
            "memory_mb": MEMORY_MB, "max_processes": MAX_PROCESSES, "limits": limits, "dump": str(dump),
            "late": GRACE / 2}
    child = Child("softmax_mnist.checker.child", spec, CHECK_EVENTS, output, cwd, MEMORY_MB)
    current, where, done, code = None, {}, set(), None
    deadline = time.monotonic() + limits["import"] + GRACE + 10  # + the child's own start-up
    try:
        while True:
            event = child.next(deadline - time.monotonic())
            kind = event and event["event"]
            if kind == "exit":  # what it wrote before it ended is read within a second
                code = event["code"]
                deadline = min(deadline, time.monotonic() + 1.0)
                continue
            if kind == "eof" or (event is None and code is not None):  # ended, or ended on time
                if code is None:
                    code = child.wait(deadline - time.monotonic())
                if child.stopped:
                    kind = "stopped"
                elif code is None:
                    event = None
                else:
                    if current is not None or code != 0:
                        yield {"event": "lost", "check": current, "why": "died", "code": code}
                    return
            if kind == "stopped" or event is None:
                if event is None:
                    child.poke()
                at = where.get(current) or where_in_dump(dump, folder)
                yield {"event": "lost", "check": current, "why": child.stopped or "hung", "where": at}
                return
            if kind == "limits":
                child.watch_memory = event["memory"] == "none"
                continue
            if kind == "where":
                where[current] = event["where"]
                continue
            if kind == "start":
                if event["check"] not in names or event["check"] in done or current is not None:
                    continue
                current = event["check"]
                deadline = time.monotonic() + limits.get(current, DEFAULT_LIMIT) + GRACE
            elif kind == "result":
                if event["check"] != current or not (_strings(event["broken"])
                                                     and _strings(event["frameworks"])):
                    continue
                current = None
                done.add(event["check"])
                deadline = time.monotonic() + 30  # until the next start
            yield event
            if done == set(names):  # the child's work is done: end it, whatever it started
                return
    finally:
        child.end()


def _lost_message(event: dict, output: Output) -> tuple[str, str]:
    name = event["check"]
    limit = CHECKS.get(name, {}).get("limit", DEFAULT_LIMIT) if name else IMPORT_LIMIT
    at = f"; it was running at {event['where']}" if event.get("where") else ""
    if event["why"] == "hung":
        return (f"did not finish within {limit + GRACE:g} s and was stopped"
                + (at or " (inside a NumPy call or with signals blocked, so the line is unknown)"),
                "an endless loop, or an operation on arrays far larger than the batch")
    if event["why"] == "memory":
        return f"ran out of memory (the limit is {MEMORY_MB} MB) and was stopped{at}", MEMORY_HINT
    if event["why"] == "processes":
        return (f"started more than {MAX_PROCESSES - 1} processes and was stopped{at}",
                "the course's two files need no processes of their own: remove os.fork, "
                "subprocess and multiprocessing")
    code = event.get("code")
    how = f"exit code {code}"
    if code is not None and code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"signal {-code}"
    tail = output.tail()
    return (f"the process running your code died ({how})" + (f": {tail}" if tail else ""),
            "a crash inside a library, os._exit or sys.exit in your code, or the memory limit "
            f"({MEMORY_MB} MB) reached outside Python's own allocator")


def run_check(folder, data_dir=None, checks: list[str] | None = None) -> Report:
    """Check the loss.py and optimizer.py in ``folder``; the result of every check, in order.

    ``checks``: run only these (names of CHECKS, kept in CHECKS' order); all by default.
    """
    start = time.perf_counter()
    folder = Path(folder)
    unknown = sorted(set(checks or ()) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {list(CHECKS)}")
    names = [n for n in CHECKS if checks is None or n in checks]
    try:
        preflight(folder)
        data = check_data(data_dir) if "train" in names else ""
    except CannotRun as e:
        return Report(str(folder), 2, error=str(e), seconds=time.perf_counter() - start)
    folder = folder.resolve()
    results: dict[str, CheckResult] = {}
    broken: dict[str, str] = {}
    frameworks: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="softmax-mnist-check-") as tmp:
        output = Output()  # an empty folder to start the child in (tmp), never written to
        while True:
            todo = [n for n in names if n not in results]
            if not todo:
                break
            for event in _run_child(folder, data, todo, broken, output, tmp):
                kind = event["event"]
                if kind == "fatal":
                    return Report(str(folder), 2, error=event["error"],
                                  seconds=time.perf_counter() - start)
                if kind == "result":
                    details = {k: event[k] for k in ("vectorised", "train") if k in event}
                    results[event["check"]] = CheckResult(event["check"], event["passed"],
                                                          event["message"], event["hint"],
                                                          event["seconds"], details)
                    broken.update(event["broken"])
                    frameworks.update(event["frameworks"])
                elif kind == "lost":
                    if event["check"] is None:  # before any check: at import or start-up
                        message, _ = _lost_message(event, output)
                        return Report(str(folder), 2,
                                      error=f"importing loss.py and optimizer.py failed: {message}",
                                      seconds=time.perf_counter() - start)
                    message, hint = _lost_message(event, output)
                    results[event["check"]] = CheckResult(event["check"], False, message, hint)
            else:
                if all(n in results for n in names):
                    break
                missing = [n for n in names if n not in results]
                if len(missing) == len(todo):  # the child stopped without a word: do not loop
                    for n in missing:
                        results[n] = CheckResult(n, False, "not run: the checking process stopped early",
                                                 output.tail())
    checks = [results[n] for n in names]
    _late_frameworks(checks, frameworks)
    _point_train_at_causes(checks)
    status = 0 if all(c.passed for c in checks) else 1
    return Report(str(folder), status, checks, seconds=time.perf_counter() - start)


def _late_frameworks(checks: list[CheckResult], seen: dict[str, str]) -> None:
    """A framework imported inside a method (after the framework check ran) fails it too."""
    fw = next((c for c in checks if c.name == "framework"), None)
    if fw is None:
        return
    late = {k: v for k, v in seen.items() if k not in fw.message}
    if late and fw.passed:
        fw.passed = False
        fw.message = "a deep learning framework is imported while running: " + ", ".join(
            f"{k} (from {v})" for k, v in late.items())
        fw.hint = "the course asks for NumPy only: remove the import"


def _point_train_at_causes(checks: list[CheckResult]) -> None:
    train = next((c for c in checks if c.name == "train"), None)
    if train is None:
        return
    causes = [c.name for c in checks if not c.passed and c.name not in ("train", "vectorised", "framework")]
    if not train.passed and causes:
        train.hint = f"probably a consequence of the failures above: {', '.join(causes)}"


# ---- for teachers: every subfolder -----------------------------------------------------------


def submissions(folder) -> list[Path]:
    """The subfolders of ``folder`` (one per submission), by name; CannotRun when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CannotRun(f"{folder}: no such folder")
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not subs:
        raise CannotRun(f"{folder}: no subfolders; with --each, put each submission in its own folder")
    return subs


def run_each(folder, data_dir=None, jobs: int | None = None, done=None) -> list[Report]:
    """``run_check`` on every submission folder, ``jobs`` at a time (default: one per core).

    ``done(report)`` is called as each finishes. Each check runs in its own child process, so
    threads here only wait on them. Never stops the class for one submission: a check that
    fails in an unforeseen way is that submission's "could not check" (status 2); without
    MNIST every submission is status 2 with the one reason.
    """
    subs = submissions(folder)
    try:
        check_data(data_dir)  # once, before starting: no MNIST is one reason for everyone
    except CannotRun as e:
        reports = [Report(s.name, 2, error=str(e)) for s in subs]
        for report in reports:
            if done:
                done(report)
        return reports
    jobs = jobs or os.cpu_count() or 1
    reports: dict[Path, Report] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_check, sub, data_dir): sub for sub in subs}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                report = future.result()
            except Exception as e:  # noqa: BLE001 - one submission's trouble is its own row
                report = Report(sub.name, 2, error=f"the checker failed on it: {type(e).__name__}: {e}")
            report.folder = sub.name
            reports[sub] = report
            if done:
                done(report)
    return [reports[s] for s in subs]


