"""The course's names over the core, as the course's own files call them: Solver,
SoftmaxCrossEntropyLoss, SGD, Dataset / DataLoader / build_dataloader, plot_loss_and_acc.
Imports only the core (the checker of a student's own files is the layer below: checker/).

    loss         SoftmaxCrossEntropyLoss (forward, gradient_computing, onehot_labels, XavierInit)
    optimizer    SGD(model, learning_rate, momentum).step(), over core.optimizer.sgd_update
    solver       Solver(cfg).train() / .test(), over core.fit.fit
    dataloader   Dataset, DataLoader, build_dataloader
    visualize    plot_loss_and_acc, and showing Figures in a notebook
"""
