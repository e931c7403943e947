"""The PCA model server: the first-party server (:mod:`..firstparty.serve`) with PCA's JSON answer.

Every record gets ``{"projection": [...]}``. PCA's JSON answer names its list ``projections``, not
``predictions`` (``{"projections": [{"projection": [...]}, …]}``); JSON Lines, CSV (one projection a line)
and RecordIO-protobuf (label ``projection``, what the SDK's ``PCAPredictor`` reads) are the shared ones.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from openmaker.runtimes.algorithms.firstparty.serve import handlers_for
from openmaker.runtimes.algorithms.pca.model import PCAModel
from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.inference import choose_accept, encode_predictions
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.handlers import HandlerSet

_shared = handlers_for("pca", PCAModel.load)


def output_fn(predictions: list[dict[str, Any]], accept: str) -> tuple[bytes, str]:
    if choose_accept(accept) == ct.JSON:
        return json.dumps({"projections": predictions}).encode(), ct.JSON
    return encode_predictions(predictions, accept)


def handlers(env: ServingEnv) -> HandlerSet:
    return dataclasses.replace(_shared(env), output_fn=output_fn)
