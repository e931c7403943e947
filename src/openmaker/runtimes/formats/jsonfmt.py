"""``application/json`` and ``application/jsonlines`` records, SageMaker's "common data format" for JSON.

Dense: ``{"instances": [{"features": [1.5, 16.0]}, …]}`` (a JSON lines body has one ``{"features": …}``
per line). Sparse: ``{"data": {"features": {"shape": [8934], "keys": [12, 4000], "values": [1, 1]}}}``
in place of ``{"features": …}``; a ``data.features`` without keys is dense. A bare list of numbers is
taken as one record's features, and ``{"instances": [[…], […]]}`` as rows, because clients send those
too. An optional ``"label"`` (number, list or ``{"values": […]}``) makes JSON usable for training.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from openmaker.runtimes.formats.errors import DataFormatError

Matrix = Any


def _number_list(value: Any, what: str) -> list:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list):
        raise DataFormatError(f"{what} must be a list of numbers, got {type(value).__name__}.")
    return value


def _instance(item: Any, index: int) -> tuple[list, list | None, int | None, Any]:
    """``(values, keys, width, label)`` of one instance; ``keys`` is ``None`` for dense features."""
    if isinstance(item, list):
        return item, None, None, None
    if not isinstance(item, dict):
        raise DataFormatError(f'Instance {index} must be an object with "features" or "data", or a list.')
    label = item.get("label")
    if isinstance(label, dict):
        label = label.get("values")
    if "features" in item:
        features = item["features"]
        if isinstance(features, dict):
            item = {"data": {"features": features}}
        else:
            return _number_list(features, f'Instance {index}\'s "features"'), None, None, label
    data = item.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise DataFormatError(
            f'Instance {index} has neither "features": [...] nor "data": {{"features": {{...}}}}.'
        )
    tensor = data["features"]
    values = _number_list(tensor.get("values", []), f"Instance {index}'s data.features.values")
    shape = tensor.get("shape")
    width = None
    if shape is not None:
        shape = _number_list(shape, f"Instance {index}'s data.features.shape")
        width = int(np.prod(shape)) if shape else 0
    keys = tensor.get("keys")
    if keys is not None:
        keys = _number_list(keys, f"Instance {index}'s data.features.keys")
        if len(keys) != len(values):
            raise DataFormatError(f"Instance {index} has {len(keys)} keys but {len(values)} values.")
    elif width is not None and width != len(values):
        keys = list(range(len(values)))  # a short dense vector with a shape is sparse in effect
    return values, keys, width, label


def instances_to_matrix(
    instances: Iterable[Any], feature_dim: int | None = None
) -> tuple[Matrix, np.ndarray | None]:
    """Instances as a dense float64 matrix (or CSR when any is sparse) and their labels, if every one has one."""
    parsed = [_instance(item, i) for i, item in enumerate(instances)]
    labels = [p[3] for p in parsed]
    y = None
    if parsed and all(label is not None for label in labels):
        try:
            y = np.asarray(labels, dtype=np.float64)
        except ValueError as error:
            raise DataFormatError(f"Labels must be numbers: {error}") from error
    if any(keys is not None for _, keys, _, _ in parsed):
        return _sparse(parsed, feature_dim), y
    rows = [values for values, _, _, _ in parsed]
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        first = len(rows[0])
        bad = next(i for i, row in enumerate(rows) if len(row) != first)
        raise DataFormatError(f"Instance {bad} has {len(rows[bad])} features but instance 0 has {first}.")
    try:
        matrix = np.array(rows, dtype=np.float64).reshape(
            len(rows), widths.pop() if widths else (feature_dim or 0)
        )
    except (TypeError, ValueError) as error:
        raise DataFormatError(f"Features must be numbers: {error}") from error
    if feature_dim is not None and matrix.shape[1] != feature_dim:
        raise DataFormatError(
            f"The request has {matrix.shape[1]} features per record but the model expects {feature_dim}."
        )
    return matrix, y


def _sparse(parsed: list[tuple[list, list | None, int | None, Any]], feature_dim: int | None) -> Matrix:
    from scipy import sparse as sp

    counts = [len(values) for values, _, _, _ in parsed]
    try:
        values = np.array([v for vals, _, _, _ in parsed for v in vals], dtype=np.float64)
        keys = np.array(
            [k for vals, ks, _, _ in parsed for k in (ks if ks is not None else range(len(vals)))],
            dtype=np.int64,
        )
    except (TypeError, ValueError) as error:
        raise DataFormatError(f"Sparse features must have numeric keys and values: {error}") from error
    widths = {w for _, _, w, _ in parsed if w is not None}
    if feature_dim is not None:
        width = feature_dim
        wrong = widths - {feature_dim}
        if wrong:
            raise DataFormatError(
                f"The request has shape [{sorted(wrong)[0]}] but the model expects {feature_dim} features."
            )
    else:
        width = max(widths) if widths else (int(keys.max()) + 1 if keys.size else 0)
    if keys.size and (keys.min() < 0 or keys.max() >= width):
        raise DataFormatError(f"A sparse key is outside the shape [{width}].")
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return sp.csr_matrix((values, keys, indptr), shape=(len(parsed), width))


def _loads(text: bytes | str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataFormatError(f"The {what} is not valid JSON: {error}") from error


def json_instances(body: bytes | str) -> tuple[list, dict | None]:
    """The instances of an ``application/json`` body and its ``"configuration"`` object, if any."""
    document = _loads(body, "application/json body")
    if isinstance(document, dict):
        configuration = document.get("configuration")
        if "instances" in document:
            instances = document["instances"]
        elif "features" in document or "data" in document:
            instances = [document]
        else:
            raise DataFormatError(
                'The JSON body must be {"instances": [...]} (or a single {"features": [...]}).'
            )
        if not isinstance(instances, list):
            raise DataFormatError('"instances" must be a list.')
        return instances, configuration if isinstance(configuration, dict) else None
    if isinstance(document, list):
        if document and all(isinstance(v, int | float) for v in document):
            return [document], None
        return document, None
    raise DataFormatError("The JSON body must be an object or a list.")


def jsonlines_instances(body: bytes | str) -> list:
    """One instance per non-blank line of an ``application/jsonlines`` body."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            document = _loads(line, f"line {number} of the application/jsonlines body")
            if isinstance(document, dict) and "instances" in document:
                out.extend(document["instances"])
            else:
                out.append(document)
    return out
