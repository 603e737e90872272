"""``python -m softmax_mnist`` runs the ``softmax-mnist`` command."""

import sys

from softmax_mnist.apps.cli import main

sys.exit(main())
