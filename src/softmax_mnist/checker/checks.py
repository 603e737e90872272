"""The checks, in the order they run: what each says, which of the student's methods it calls
(a method that hung once is not called again), its time limit, and its function.

Each function takes the Student and a dict for numbers it leaves for the result, and returns a
one-line message on success or raises CheckFailed (cases.py). They live by subject:

    checks_loss       framework, construction, forward (4 cases), accuracy, gradient shapes, gradient
    checks_sgd        sgd, momentum, frozen: the student's SGD on a plain layer object
    checks_training   vectorised (time and lines per sample), train (one epoch of MNIST)
"""
from __future__ import annotations

from softmax_mnist.checker.checks_loss import (
    check_accuracy,
    check_construction,
    check_forward,
    check_forward_odd,
    check_forward_one,
    check_forward_overflow,
    check_framework,
    check_gradient,
    check_gradient_shapes,
)
from softmax_mnist.checker.checks_sgd import check_frozen, check_momentum, check_sgd
from softmax_mnist.checker.checks_training import check_train, check_vectorised

# The checks in order: what they say, which of the student's methods they call (a method that
# hung once is not called again), and their time limit in seconds.
CHECKS: dict[str, dict] = {
    "framework": {"about": "no deep learning framework imported; the classes are the folder's own",
                  "uses": (), "limit": 5},
    "construction": {"about": "W, b: shapes, dtypes, finite, not all zero", "uses": ("__init__",)},
    "forward": {"about": "loss against the reference, batch of 100", "uses": ("__init__", "forward")},
    "forward-overflow": {"about": "loss with logits near +-1000", "uses": ("__init__", "forward")},
    "forward-batch-of-one": {"about": "loss on a batch of 1", "uses": ("__init__", "forward")},
    "forward-odd-batch": {"about": "loss on a batch of 37", "uses": ("__init__", "forward")},
    "accuracy": {"about": "accuracy on batches of 100, 37, 1", "uses": ("__init__", "forward")},
    "gradient-shapes": {"about": "grad_W (784, 10), grad_b (1, 10)",
                        "uses": ("__init__", "forward", "gradient_computing")},
    "gradient": {"about": "against the reference and central differences",
                 "uses": ("__init__", "forward", "gradient_computing")},
    "sgd": {"about": "momentum 0 is plain SGD", "uses": ("step",)},
    "momentum": {"about": "v <- mu v - lr g, w <- w + v over steps", "uses": ("step",)},
    "frozen": {"about": "nothing changes when trainable is False", "uses": ("step",)},
    "vectorised": {"about": "time per minibatch, no loop over samples",
                   "uses": ("__init__", "forward", "gradient_computing", "step"), "limit": 20},
    "train": {"about": "short MNIST run reaches the reference's accuracy",
              "uses": ("__init__", "forward", "gradient_computing", "step"), "limit": 40},
}
DEFAULT_LIMIT = 5.0  # seconds per check; a correct submission needs well under one
IMPORT_LIMIT = 10.0  # seconds to import loss.py and optimizer.py
MEMORY_HINT = ("an array far larger than needed: the whole batch needs only (N, 784) and (N, 10) "
               "arrays and the (784, 10) gradient")

FUNCTIONS = {
    "framework": check_framework, "construction": check_construction, "forward": check_forward,
    "forward-overflow": check_forward_overflow, "forward-batch-of-one": check_forward_one,
    "forward-odd-batch": check_forward_odd, "accuracy": check_accuracy,
    "gradient-shapes": check_gradient_shapes, "gradient": check_gradient, "sgd": check_sgd,
    "momentum": check_momentum, "frozen": check_frozen, "vectorised": check_vectorised,
    "train": check_train,
}

