"""``python -m openmaker.runtimes.training``: see :mod:`openmaker.runtimes.training.entry`."""

import sys

from openmaker.runtimes.training.entry import main

if __name__ == "__main__":
    sys.exit(main())
