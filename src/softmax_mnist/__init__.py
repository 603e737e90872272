"""softmax-mnist: softmax regression on MNIST, from scratch in NumPy."""

from softmax_mnist.errors import ConfigError, DataError, DivergenceError, SoftmaxMnistError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "DivergenceError", "SoftmaxMnistError", "__version__"]
