"""``python -m openmaker.runtimes.serving``: see :mod:`openmaker.runtimes.serving.server`."""

import sys

from openmaker.runtimes.serving.server import main

if __name__ == "__main__":
    sys.exit(main())
