"""XGBoost defaults (``sagemaker-xgboost-container``) in framework mode, and the model file loader.

*Framework mode* (a user script): the script's functions over defaults that read the body into a
``DMatrix`` (``text/csv``, ``text/libsvm``/``text/x-libsvm``, and here also JSON and NPY), predict with
``booster.predict(dmatrix, validate_features=False)`` and encode like the toolkit (CSV one value per
line, JSON a plain list). The container has no default ``model_fn``; the model file is loaded anyway.

*Algorithm mode* (no script: the built-in algorithm's model) is the algorithm's own server, in
:mod:`openmaker.runtimes.algorithms.xgboost.serve`; it reuses this module's loader and decoders.

The model file is ``xgboost-model`` (else the first regular file), tried as a pickle first and then with
``Booster.load_model`` — the container's order, since older images pickled the Booster.
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.serving import codecs
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.errors import BadRequestError
from openmaker.runtimes.serving.frameworks import generic
from openmaker.runtimes.serving.handlers import HandlerSet

MODEL_FILE = "xgboost-model"
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")


def model_path(model_dir: str) -> Path:
    directory = Path(model_dir)
    if (directory / MODEL_FILE).is_file():
        return directory / MODEL_FILE
    files = sorted(path for path in directory.iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"No {MODEL_FILE} (or any model file) in the model directory {model_dir}.")
    return files[0]


def model_fn(model_dir: str) -> Any:
    import xgboost as xgb

    path = model_path(model_dir)
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except Exception as pickle_error:
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
        except Exception as xgb_error:
            raise RuntimeError(f"Model {path} cannot be loaded:\nPickle load error={pickle_error}\n"
                               f"XGB load model error={xgb_error}") from xgb_error
        return booster


def csv_to_array(body: bytes | str) -> np.ndarray:
    """CSV records as floats; the delimiter is sniffed from the first line like the container does."""
    text = body.decode() if isinstance(body, bytes) else body
    text = text.strip()
    first = text.split("\n", 1)[0]
    if "," in first or not first:
        return codecs.csv_to_numpy(text)
    delimiter = csv.Sniffer().sniff(first[:512]).delimiter
    delimiter = "," if delimiter.isalnum() else delimiter
    rows = [[field if field else "nan" for field in line.split(delimiter)] for line in text.split("\n")]
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError as error:
        raise BadRequestError(f"Loading csv data failed, please ensure data is in csv format: {error}") from error


def libsvm_to_csr(body: bytes | str) -> Any:
    """``label idx:value …`` lines as a CSR matrix; 1-based indices shift to columns from 0.

    Absent entries stay missing (not zero), as in ``DMatrix`` built from a libsvm file.
    """
    from scipy.sparse import csr_matrix

    text = body.decode() if isinstance(body, bytes) else body
    rows, cols, values = [], [], []
    lines = text.strip().split("\n")
    for row, line in enumerate(lines):
        for token in line.split():
            if ":" in token:
                index, value = token.split(":", 1)
                rows.append(row)
                cols.append(int(index))
                values.append(float(value))
    if not cols:
        raise BadRequestError("Loading libsvm data failed: no index:value pairs in the body.")
    columns = np.asarray(cols)
    if columns.min() >= 1:
        columns = columns - 1
    return csr_matrix((values, (rows, columns)), shape=(len(lines), int(columns.max()) + 1))


def input_fn(body: bytes | str, content_type: str) -> Any:
    import xgboost as xgb

    kind = codecs.media_type(content_type)
    try:
        if kind == codecs.CSV:
            return xgb.DMatrix(csv_to_array(body))
        if kind in LIBSVM_TYPES:
            return xgb.DMatrix(libsvm_to_csr(body))
    except (ValueError, csv.Error) as error:
        raise BadRequestError(f"Loading {kind} data failed, please ensure data is in {kind} format: {error}") from error
    return xgb.DMatrix(generic.input_fn(body, content_type))


def predict_fn(data: Any, model: Any) -> Any:
    import xgboost as xgb

    if not isinstance(data, xgb.DMatrix):
        data = xgb.DMatrix(data)
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    return booster.predict(data, validate_features=False)


def framework_handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name="xgboost", model_fn=model_fn, input_fn=input_fn, predict_fn=predict_fn,
                      output_fn=generic.output_fn)
