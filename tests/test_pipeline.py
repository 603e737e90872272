"""study/pipeline.py without the CLI: a sweep folder from a plan, with nothing printed."""

from softmax_mnist.study import pipeline, plans


def test_a_sweep_folder_is_written_without_a_line_printed(mnist_dir, tmp_path, capsys):
    plan = plans.grid_plan({"grid": {"lr": [0.1, 0.05]}, "fixed": {"epochs": 1}})
    lines = []
    study = pipeline.open_study("sweep", plan, tmp_path / "sweep", mnist_dir)
    assert (study.out / "progress.json").is_file() and study.folder == study.out
    results = study.train(lines.append)
    written = study.write(results, "en")
    assert study.close() == tmp_path / "sweep"
    assert capsys.readouterr().out == ""  # the progress went to the callback
    assert len(lines) == 2 and lines[0].startswith("[1/1] 2 settings in one pass")
    assert written.reference == f"{written.best}@s0" and written.best_seeds == 1
    assert written.best_model is None  # the best setting is the reference: no model-best.npz
    assert written.report.pdf == tmp_path / "sweep" / "report.en.pdf" and written.report.pages > 0
    names = {p.name for p in (tmp_path / "sweep").iterdir()}
    assert {"results.json", "model.npz", "examples.npz", "report.en.md"} <= names
    assert not names & {"progress.json", "checkpoint.npz"}
