"""The numerical core: data (read, split, preprocess), minibatches, the model, the loss,
the optimizer's update and the one training loop. It imports nothing of the other layers
(tests/test_layers.py checks it).

    idx          read/write IDX files (raw or .gz), every header field checked
    data         find, download, verify, split (split_at, the one train/validation split), preprocess
    transforms   deskew, size-normalise, blur (the best preset's image transform)
    batches      seeded minibatches, batch-size checks
    functional   log_softmax, softmax, cross_entropy -> (loss, dlogits) for (N, C) or (N, K, C)
    gradcheck    central_differences (the numerical gradient every gradient check compares with)
    model        SoftmaxRegression: W (D, K*C), b (1, K*C); K = 1 for one model
    optimizer    sgd_update (the one SGD update, numbers scalar or per column), Setting
    config       TrainConfig (frozen, validated), TOML reading
    presets      named settings (--preset best)
    loop         train (the loop), Stack (K models side by side), fit, fit_stacked, History
"""
