"""A scikit-learn training script for tuning: logistic regression on the SMS spam CSV (label first),
scored on the validation channel; prints ``validation-accuracy: <v>`` for the MetricDefinitions regex."""

import argparse
import os

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("-C", "--C", dest="C", type=float, default=1.0)  # the toolkit passes one-letter names as -C
parser.add_argument("--max_iter", type=int, default=100)
parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
args = parser.parse_args()
print(f"training with C={args.C} max_iter={args.max_iter}", flush=True)


def load(channel: str) -> np.ndarray:
    folder = os.environ[f"SM_CHANNEL_{channel.upper()}"]
    return np.vstack([np.loadtxt(os.path.join(folder, name), delimiter=",") for name in sorted(os.listdir(folder))])


train, validation = load("train"), load("validation")
model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(train[:, 1:], train[:, 0])
accuracy = model.score(validation[:, 1:], validation[:, 0])
print(f"validation-accuracy: {accuracy:.6f}", flush=True)
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
