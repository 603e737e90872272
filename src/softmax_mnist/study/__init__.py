"""Runs and the study: one run's folder, checkpoints and model files; a study laid out as
plans -> runner -> artifacts -> report. Imports the core, the course and the checker.

    run          one training run and its folder (config.json, history.csv, model.npz, ...)
    checkpoint   checkpoint files, resume, SIGINT/SIGTERM handling
    modelfile    model.npz: weights + JSON meta, loaded without pickle
    plans        which runs a study or sweep trains: settings, seeds, controls, a sweep file
    runner       a plan trained -> the results dict: stacked passes, resumed runs (no files, no printing)
    timing       interleaved epoch times and the cost of one update: the only times reported
    machine      the machine a study ran on: CPU name, cores, versions, load
    impl         `study --impl`: the study's runs trained with a student's own classes
    results      the results schema, in one place: names, thresholds, summaries, noise
    artifacts    model.npz, examples.npz, model-best.npz of a study folder
    report/      the report: figures, findings and their words, the document, Typst (see its __init__)
    pipeline     a study folder end to end: stage, progress.json, runner, artifacts, report
"""
