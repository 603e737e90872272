"""What a person runs: the command line and the web pages. Imports every other layer;
only cli parses argv, prints for the user and exits.

    cli          the `softmax-mnist` command
    web          the draw-a-digit page (static/ holds its HTML, JS, CSS)
    playground   serve's playground: a training thread, Server-Sent Events, runs (static/vendor: uPlot)
    prepare      photos and drawings -> MNIST-style 28x28
"""
