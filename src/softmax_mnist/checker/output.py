"""What ``check`` shows: one PASS/FAIL line per check (format_report), the JSON (to_json), and
for ``--each`` a table per submission (format_each) and a CSV with one column per check."""

from __future__ import annotations

import csv
import io
import json

from softmax_mnist.checker.checks import CHECKS
from softmax_mnist.checker.runner import Report


def results_csv(reports: list[Report]) -> str:
    """One row per submission, one column per check (PASS / FAIL; empty when it could not run)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "status", "passed", "failed", *CHECKS, "error"])
    for r in reports:
        verdict = {c.name: "PASS" if c.passed else "FAIL" for c in r.checks}
        writer.writerow([r.folder, r.status, len(r.checks) - len(r.failed), len(r.failed),
                         *(verdict.get(n, "") for n in CHECKS), r.error])
    return out.getvalue()


def format_each(reports: list[Report]) -> str:
    """A table: each submission's passed checks and failures, then failures per check."""
    width = max(len("submission"), *(len(r.folder) for r in reports))
    lines = [f"{'submission':<{width}}  passed  failed"]
    for r in reports:
        if r.status == 2:
            lines.append(f"{r.folder:<{width}}  {'-':>6}  cannot run: {r.error}")
        else:
            lines.append(f"{r.folder:<{width}}  {len(r.checks) - len(r.failed):>2} of {len(r.checks):<2} "
                         f"{', '.join(r.failed)}")
    counts = {n: sum(1 for r in reports if n in r.failed) for n in CHECKS}
    per_check = ", ".join(f"{n} {k}" for n, k in counts.items() if k) or "none"
    ok = sum(1 for r in reports if r.status == 0)
    cannot = sum(1 for r in reports if r.status == 2)
    lines.append(f"{ok} of {len(reports)} submissions pass every check"
                 + (f", {cannot} could not be run" if cannot else "") + f"; failures per check: {per_check}")
    return "\n".join(lines)


def format_report(report: Report) -> str:
    """One PASS/FAIL line per check (with the hint under a failure), then a summary line."""
    if report.status == 2:
        return f"cannot check {report.folder}: {report.error}"
    width = max(len(c.name) for c in report.checks) if report.checks else 0
    lines = [f"checking {report.folder}"]
    for c in report.checks:
        lines.append(f"{'PASS' if c.passed else 'FAIL'}  {c.name:<{width}}  {c.message}")
        if not c.passed and c.hint:
            lines.append(f"      {'':<{width}}  hint: {c.hint}")
    n, failed = len(report.checks), report.failed
    summary = f"{n - len(failed)} of {n} checks passed"
    summary += f", {len(failed)} failed: {', '.join(failed)}" if failed else ""
    lines.append(f"{summary}  ({report.seconds:.1f} s)")
    return "\n".join(lines)


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
