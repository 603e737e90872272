"""What a person runs: the command line and the web pages. Imports every other layer;
only cli parses argv, prints for the user and exits.

    cli          the `softmax-mnist` command
    web          the draw-a-digit page (static/ holds its HTML, JS, CSS)
    playground   serve's playground: its routes; its rooms playground_runs (the runs, the training
                 thread), playground_stream (Server-Sent Events), playground_form (settings ->
                 TrainConfig), playground_pictures (what a model is shown as); static/vendor: uPlot
    prepare      photos and drawings -> MNIST-style 28x28
"""
