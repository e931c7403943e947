"""Data preparation of the inference-pipeline tutorial (SEED-WORKFLOWS §2), written from its description:
every post of ``20news-bydate.tar.gz`` loses its first 5 (header) lines and its empty lines, is lowercased,
has every non-letter replaced by a space and the English stop words removed; the result is written as
``train.csv`` / ``test.csv`` with an index column and the columns data, data_subject, label_names, label."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

HEADER_LINES = 5
NON_LETTERS = re.compile(r"[^a-z]+")
SPLITS = {"20news-bydate-train": "train.csv", "20news-bydate-test": "test.csv"}


def clean(text: str, stop_words: frozenset[str]) -> str:
    words = NON_LETTERS.sub(" ", text.lower()).split()
    return " ".join(word for word in words if word not in stop_words)


def post_fields(raw: str, stop_words: frozenset[str]) -> tuple[str, str]:
    """(data, data_subject) of one post."""
    lines = raw.splitlines()
    subject = next(
        (line[len("Subject:") :] for line in lines[: HEADER_LINES * 4] if line.startswith("Subject:")), ""
    )
    body = [line for line in lines[HEADER_LINES:] if line.strip()]
    return clean("\n".join(body), stop_words), clean(subject, stop_words)


def prepare(archive: Path, out_dir: Path) -> dict[str, Path]:
    """Write ``train.csv`` and ``test.csv`` into ``out_dir``; returns their paths by split name."""
    import pandas as pd
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stop_words = frozenset(ENGLISH_STOP_WORDS)
    rows: dict[str, list[tuple[str, str, str]]] = {name: [] for name in SPLITS}
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or parts[0] not in SPLITS:
                continue
            raw = tar.extractfile(member).read().decode("latin-1")
            data, subject = post_fields(raw, stop_words)
            rows[parts[0]].append((data, subject, parts[1]))
    labels = sorted({group for split in rows.values() for _, _, group in split})
    index = {name: number for number, name in enumerate(labels)}
    paths = {}
    for split, filename in SPLITS.items():
        frame = pd.DataFrame(rows[split], columns=["data", "data_subject", "label_names"])
        frame["label"] = frame["label_names"].map(index)
        path = out_dir / filename
        frame.to_csv(path)  # the index becomes the first, unnamed column (read back with index_col=0)
        paths[filename.removesuffix(".csv")] = path
    return paths
