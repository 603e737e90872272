"""The checker: a student's own loss.py and optimizer.py, read, imported and checked against
the reference (``softmax-mnist check DIR``, ``--each`` for a class, ``skeleton`` to start), and
held in a worker for ``study --impl``. Between the course (the reference it compares with) and
the study (which trains a student's classes). A check's verdict, from the command down:

    runner           run_check / run_each: preflight, start the child, read its events -> Report
    output           format_report, to_json, format_each, results_csv
    process          Child (the parent's side of a child process: events, limits, ending the tree),
                     WindowsJob, Output
    child            the check's child process (python -m softmax_mnist.checker.child): imports the
                     folder and runs each check under its limit
    guard            inside such a child: the event channel, memory and process limits, Watchdog,
                     Dumps (used by the child and by study --impl's worker)
    folder           reading a student's folder (read_source, preflight, framework_imports), importing
                     it (FrameworkBlocker, CourseShims, Student), write_skeleton
    checks           the table: each check's name, methods, time limit and function (FUNCTIONS)
    checks_loss      framework, construction, forward, accuracy, gradient (vs central differences)
    checks_sgd       sgd, momentum, frozen
    checks_training  vectorised, train
    cases            CheckFailed, seeded weights and batches, the reference, call_forward
    learner          CourseLearner: course objects trained by core.loop.train (the train check's
                     student and reference side by side; study --impl's one setting)
    skeleton/        the course's loss.py and optimizer.py with TODOs (package data)
"""
