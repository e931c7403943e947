"""Data for the Linear Learner tests: the book's chapter 3 housing rows and the Boston rows it left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The book's column order: the label medv first, then 11 features (no rad, no b).
HOUSING_COLUMNS = ("medv", "crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "tax", "ptratio", "lstat")


def housing_split(datasets: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)``: the book's ``training-housing.csv`` (266 rows, label first) and the other 240
    rows of the 506-row Boston data in the same columns, a held-out set the book's training never saw."""
    import csv

    train = np.loadtxt(datasets / "book" / "chapter3" / "training-housing.csv", delimiter=",")
    with open(datasets / "boston-housing" / "BostonHousing.csv", newline="") as handle:
        rows = [[float(row[name]) for name in HOUSING_COLUMNS] for row in csv.DictReader(handle)]
    boston = np.array(rows)
    seen = {tuple(np.round(row, 4)) for row in train}
    held_out = boston[[tuple(np.round(row, 4)) not in seen for row in boston]]
    return train, held_out


def r2(labels: np.ndarray, predictions: np.ndarray) -> float:
    residual = float(np.sum((labels - predictions) ** 2))
    return 1.0 - residual / float(np.sum((labels - labels.mean()) ** 2))
