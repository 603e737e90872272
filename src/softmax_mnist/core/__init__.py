"""The numerical core: data (read, split, preprocess), minibatches, the model, the loss,
the optimizer's update and the one training loop. It imports nothing of the other layers
(tests/test_layers.py checks it).

    idx          read/write IDX files (raw or .gz), every header field checked
    data         find, read, split (split_at, the one train/validation split), preprocess
    download     fetch MNIST from the mirrors: deadline, size cap, md5-checked, locked temporary files
    transforms   deskew, size-normalise, blur (the best preset's image transform)
    batches      seeded minibatches, batch-size checks
    functional   log_softmax, softmax, cross_entropy -> (loss, dlogits) for (N, C) or (N, K, C),
                 init_std (the course's init scale), confusion_matrix
    gradcheck    central_differences (the numerical gradient every gradient check compares with)
    model        SoftmaxRegression: W (D, K*C), b (1, K*C); K = 1 for one model
    optimizer    sgd_update (the one SGD update, numbers scalar or per column), Setting
    config       TrainConfig (frozen, validated), TOML reading
    presets      named settings (--preset best)
    learner      Learner: what the loop needs of whatever it trains (a typed Protocol)
    loop         train (the loop), History, Hooks, TrainState, evaluate, the divergence rule
    fit          Stack (K models side by side, the package's Learner), fit, fit_stacked
    twocores     a sweep's two halves in two processes, or in turn: where that pays
"""
