"""The child process of ``softmax-mnist check``: it imports a student's loss.py and optimizer.py
and runs the checks on them, reporting one JSON line per event to the parent (runner.py).

    python -X utf8 -m softmax_mnist.checker.child      (the spec as one JSON line on stdin)

Spec: {"key", "folder", "data_dir", "checks": [names], "broken": {method: why}, "memory_mb",
"max_processes", "limits": {name: seconds}, "dump": a file for tracebacks (guard.Dumps), "late":
seconds}. Events, each with the spec's "key": {"event": "limits", "memory": "rlimit" | "none"},
{"event": "ready"}, {"event": "start", "check"}, {"event": "result", "check", "passed",
"message", "hint", "seconds", "broken", "frameworks"}, {"event": "where", "check", "where",
"why"}, {"event": "fatal", "error", "data"}. The events go to this process's own stdout, kept
as a private copy (guard.open_channel); file descriptor 1 itself then points at stderr and 0 at
the null device, so whatever the student's code prints (Python or C) lands on stderr and
``input()`` ends at once. The limits and the watchdog are guard.py's.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# everything the checks need is imported before the student's folder goes on sys.path, so a
# file of theirs named like a library cannot shadow it
from softmax_mnist.checker.cases import CheckFailed, DataProblem
from softmax_mnist.checker.checks import CHECKS, FUNCTIONS, MEMORY_HINT
from softmax_mnist.checker.folder import Student, outer_student_function, source_line, student_location
from softmax_mnist.checker.guard import (
    CheckTimeout,
    Dumps,
    Watchdog,
    cap_processes,
    end_with_parent,
    limit_memory,
    limit_processes,
    open_channel,
)


def describe_error(e: BaseException, student: Student, limits_mb: int) -> tuple[str, str]:
    """(message, hint) for an exception out of the student's code."""
    where = student_location(student.files, e.__traceback__)
    fn = outer_student_function(student.files, e.__traceback__)
    code = source_line(where, student.folder)
    at = f" at {where}" + (f" ({code})" if code else "") if where else ""
    in_fn = f"{fn}() " if fn else ""
    if isinstance(e, CheckTimeout):
        return (f"{in_fn}did not finish within {e.seconds:g} s" + (f"; it was running{at}" if at else ""),
                "an endless loop? look at the loop around that line: does its condition ever change? "
                "(or code far slower than the reference: see the vectorised check)")
    if isinstance(e, MemoryError):
        return f"{in_fn}ran out of memory (the limit is {limits_mb} MB){at}: {e}", MEMORY_HINT
    if where is None:  # raised in the checker, on something the student's code returned
        return (f"checking what your code returned failed: {type(e).__name__}: {e}",
                "see the shapes and types the course asks for: forward -> (loss, acc); "
                "grad_W (784, 10), grad_b (1, 10)")
    return (f"{in_fn}raised {type(e).__name__}: {e}{at}",
            "call your class on a small batch yourself to see the whole traceback, e.g. "
            "m = SoftmaxCrossEntropyLoss(784, 10); m.forward(x, y); m.gradient_computing()")


def main() -> int:
    spec, emit, stdin = open_channel()
    end_with_parent(stdin)
    memory = limit_memory(spec["memory_mb"])
    limit_processes()
    cap_processes(spec["max_processes"])
    emit(event="limits", memory=memory)
    sys.dont_write_bytecode = True  # no __pycache__ in the student's folder
    folder = Path(spec["folder"])
    os.chdir(folder)
    files = {str(p) for p in folder.resolve().glob("*.py")}
    current = [None]
    dog = Watchdog(files, lambda where, why: emit(event="where", check=current[0], where=where, why=why),
                   memory_mb=spec["memory_mb"] if memory == "none" else None)
    dumps = Dumps(spec["dump"], spec["late"])
    import_limit = spec["limits"]["import"]
    dog.arm(import_limit)
    dumps.arm(import_limit)
    try:
        try:
            student = Student(folder)
        finally:
            dog.disarm()
            dumps.disarm()
    except CheckTimeout:
        emit(event="fatal", error=f"importing loss.py and optimizer.py did not finish within "
             f"{import_limit:g} s (code at the top level of a file runs on import)")
        return 0
    except BaseException as e:  # noqa: BLE001 - anything the student's import raises is reported
        where = student_location(files, e.__traceback__)
        if isinstance(e, SyntaxError) and e.filename:
            where = f"{Path(e.filename).name} line {e.lineno}"
        emit(event="fatal", error=f"importing the student's files raised {type(e).__name__}: {e}"
             + (f" ({where})" if where else ""))
        return 0
    emit(event="ready")
    broken: dict[str, str] = dict(spec["broken"])
    ctx = {"data_dir": spec["data_dir"]}
    for name in spec["checks"]:
        uses = CHECKS[name]["uses"]
        current[0] = name
        emit(event="start", check=name)
        start = time.perf_counter()
        passed, hint, new_broken = False, "", {}
        blocked = [m for m in uses if m in broken]
        for key in ("vectorised", "train"):  # numbers a check leaves for its result's details
            ctx.pop(key, None)
        if blocked:
            message = f"not run: {blocked[0]}() {broken[blocked[0]]}"
        else:
            try:
                limit = spec["limits"].get(name, spec["limits"]["default"])
                dog.arm(limit)
                dumps.arm(limit)
                try:
                    message = FUNCTIONS[name](student, ctx)
                finally:
                    dog.disarm()
                    dumps.disarm()
                passed = True
            except CheckFailed as e:
                message, hint = e.message, e.hint
            except DataProblem as e:
                emit(event="fatal", error=f"the train check needs MNIST: {e}", data=True)
                return 0
            except BaseException as e:  # noqa: BLE001 - the student's code may raise anything
                if isinstance(e, KeyboardInterrupt):
                    raise
                message, hint = describe_error(e, student, spec["memory_mb"])
                fn = outer_student_function(student.files, e.__traceback__)
                if isinstance(e, CheckTimeout) and fn:
                    new_broken[fn] = f"did not finish within {e.seconds:g} s in the {name} check"
        broken.update(new_broken)
        extra = {k: ctx[k] for k in ("vectorised", "train") if k in ctx}
        emit(event="result", check=name, passed=passed, message=message, hint=hint,
             seconds=time.perf_counter() - start, broken=new_broken,
             frameworks=dict(student.blocker.seen), **extra)
        current[0] = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
