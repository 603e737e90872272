"""Runs and the study: one run's folder, checkpoints and model files; the study's plans,
results, times, figures, sentences and report. Imports the core and the course.

    run          one training run and its folder (config.json, history.csv, model.npz, ...)
    checkpoint   checkpoint files, resume, SIGINT/SIGTERM handling
    modelfile    model.npz: weights + JSON meta, loaded without pickle
    plans        which runs a study or sweep trains: settings, seeds, controls, a sweep file
    runner       a plan trained -> the results dict: stacked passes, resumed runs (no files, no printing)
    artifacts    model.npz, examples.npz, model-best.npz of a study folder
    pipeline     a study folder end to end: stage, progress.json, runner, artifacts, report
    machine      the machine a study ran on: CPU name, cores, versions, load
    impl         `study --impl`: the study's runs trained with a student's own classes
    timing       interleaved epoch times and the cost of one update: the only times reported
    results      the results schema, in one place: names, thresholds, summaries, noise
    visualize    the study's plots, as functions returning Figures, labelled in zh or en
    findings     what the numbers show, in no language: the noise rule's verdicts, gaps, fits
    phrases_zh   each finding's sentence in Chinese (phrases_en: in English), with format fields
    words_zh     the report's own words in Chinese (words_en: in English): headings, captions, labels
    wording      numbers and lists as the report writes them; say(): an entry of those tables filled in
    discussion   the report's sentences: a finding from findings, phrased from its language's table
    report       the report laid out (title, summary, method, setup, sections, appendix), written
    method       the method section: formulas, the gradient check's verdict, the key code
    sections     the result sections: tables, figures, and the findings placed between them
    measures     what the report computes or reads itself: gradient check, model.npz, examples.npz
    keycode      the code the report shows: the course's three functions, a student's from impl/
    typeset      blocks -> report.typ (Typst, templates/report.typ) -> report.pdf, and report.md
"""
