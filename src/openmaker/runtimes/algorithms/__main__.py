"""``python -m openmaker.runtimes.algorithms <algorithm> [train|serve]``: train (the default), or serve.

Training is :func:`openmaker.runtimes.algorithms.base.run`. ``serve`` starts the shared model server with
the algorithm's handlers, which is what the engine does with ``python -m openmaker.runtimes.serving`` and
``OPENMAKER_ALGORITHM``; it is here for images registered with an explicit entry point.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    algorithm = argv[0] if argv else os.environ.get("OPENMAKER_ALGORITHM", "")
    role = argv[1] if len(argv) > 1 else "train"
    if role == "serve":
        from openmaker.runtimes.algorithms import register_serving
        from openmaker.runtimes.serving.server import serve

        register_serving()
        return serve(algorithm=algorithm)
    from openmaker.runtimes.algorithms.base import run

    return run(algorithm or "unknown")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
