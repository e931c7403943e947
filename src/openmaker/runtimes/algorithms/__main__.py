"""``python -m openmaker.runtimes.algorithms <algorithm>``: until the algorithms land, fail clearly.

The failure goes to ``output/failure`` so the job's FailureReason says what happened instead of a bare
exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    algorithm = argv[0] if argv else os.environ.get("OPENMAKER_ALGORITHM", "unknown")
    message = (
        f"The built-in algorithm {algorithm!r} is not implemented in openmaker yet. "
        "Use a framework estimator (for example SKLearn or XGBoost with an entry_point script) meanwhile."
    )
    root = Path(os.environ.get("OPENMAKER_OPT_ML") or "/opt/ml")
    failure = Path(os.environ.get("SM_OUTPUT_DIR") or root / "output") / "failure"
    try:
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(message)
    except OSError:
        pass
    print(message, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
