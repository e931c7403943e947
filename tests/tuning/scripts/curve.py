"""A training script with a known learning curve, for early-stopping tests.

Its loss after epoch e is ``(shift - 0.3)**2 + 1 / e``: jobs with a ``shift`` hyperparameter far from 0.3
are worse at every epoch. It prints one ``epoch=<e> loss=<v>`` line per epoch, pausing
``epoch_seconds`` between epochs as real training would take time.
"""

import argparse
import time

parser = argparse.ArgumentParser()
parser.add_argument("--shift", type=float, required=True)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--epoch_seconds", type=float, default=0.3)
args = parser.parse_args()

for epoch in range(1, args.epochs + 1):
    time.sleep(args.epoch_seconds)
    print(f"epoch={epoch} loss={(args.shift - 0.3) ** 2 + 1 / epoch:.6f}", flush=True)
