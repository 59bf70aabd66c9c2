"""``python -m focalflow``: the ``focalflow`` command (see :mod:`focalflow.commands`)."""
import sys

from focalflow.commands import main

if __name__ == "__main__":
    sys.exit(main())
