"""Issue 22, item 8: text from outside reaches Typst only as text, and a tampered results.json is
one line naming the field.

A study's folder name for `--impl` and the fields of results.json are the user's (or anyone's who
can write the file): `x$#panic("pwned")$y` used to stop the build and `$#read("results.json")$`
to copy a file into the PDF. They are shown as they are, in report.typ, the PDF and report.md.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from test_report import momentum_case

from softmax_mnist.apps.cli import main
from softmax_mnist.fileio import atomic_write_json
from softmax_mnist.study.report import document as report

PANIC = 'x$#panic("pwned")$y'
READ = 'a$#read("results.json")$b'


def study_folder(tmp_path, **meta):
    """A study folder of synthetic results (as test_report's), with ``meta`` fields set."""
    res, _ = momentum_case([0.9351, 0.9346, 0.9349])
    res["meta"].update(meta)
    atomic_write_json(tmp_path / "results.json", res)
    return tmp_path


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("field", ["impl", "version", "started"])
def test_markup_in_outside_text_is_shown_as_it_is_not_run(tmp_path, field):
    folder = study_folder(tmp_path, **{field: PANIC})
    paths = report.build_report(folder, "en")  # main: TypesetError, panicked with "pwned"
    text = pdf_text(paths.pdf).replace("\n", " ")
    shown = PANIC if field != "started" else PANIC[:10]  # the report shows the date part of started
    assert shown in text.replace(" ", "") or shown in text, text[:300]
    md = paths.markdown.read_text(encoding="utf-8")
    assert "$#" not in md and shown in re.sub(r"\\(.)", r"\1", md)  # escaped, reads the same


def test_outside_text_cannot_copy_a_file_into_the_pdf(tmp_path):
    folder = study_folder(tmp_path, impl=READ)
    paths = report.build_report(folder, "en")
    text = pdf_text(paths.pdf)
    assert '"runs"' not in text and "final_val_acc" not in text  # main: results.json is in the PDF
    assert READ in text.replace("\n", "")


@pytest.mark.parametrize("field,value", [
    ("meta.seeds", -1),
    ("meta.thresholds", "0.9"),
    ("meta.machine", "a fast one"),
    ("meta.reference", "no-such-run@s0"),
    ("setup.n_val", "5000"),
    ("runs[0].config.batch_size", "x"),
    ("runs[0].history.val_acc", [0.9, 5.0]),
    ("runs[0].name", "x`$#panic()$"),
    ("groups.momentum", "momentum-0@s0"),
    ("passes", {"id": 1}),
    ("timing.epoch", [1, 2]),
    ("timing.step.momentum-0", {"median": "fast"}),
    ("timing.step.momentum-0", {}),
    ("runs[0].history", {}),
    ("runs[0].config.lr", None),
    ("meta.train_seconds", None),
    ("meta.thresholds", []),
    ("passes[0]", {}),
])
def test_a_tampered_results_json_is_one_line_naming_the_field(tmp_path, capsys, field, value):
    folder = study_folder(tmp_path)
    res = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    res.setdefault("timing", {"epoch": {}, "step": {"momentum-0": {"median": 4.0}}})
    res.setdefault("passes", [{"id": 1, "runs": [r["name"] for r in res["runs"]], "seconds": 1.0}])
    target, *path = field.replace("[0]", ".0").split(".")
    holder = res
    for key in [target, *path][:-1]:
        holder = holder[int(key)] if key.isdigit() else holder[key]
    last = [target, *path][-1]
    holder[int(last) if last.isdigit() else last] = value
    (folder / "results.json").write_text(json.dumps(res), encoding="utf-8")
    code = main(["report", str(folder), "--lang", "en"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1, err[-600:]
    assert field.split("[")[0].split(".")[0] in err and "results.json" in err, err
    assert field in err, err
