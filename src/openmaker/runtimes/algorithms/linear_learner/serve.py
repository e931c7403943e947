"""Linear Learner's model server: the first-party server (:mod:`..firstparty.serve`) around the saved model.

Requests are CSV (features only), JSON, JSON Lines, RecordIO-protobuf or NPY; answers are
``{"predictions": [{"score": …, "predicted_label": …}]}`` for a classifier and ``{"score": …}`` for a
regressor, one object a line for ``application/jsonlines``, Records with ``score`` and ``predicted_label``
in their label map for ``application/x-recordio-protobuf``. Under batch transform (``SAGEMAKER_BATCH``) a
request without Accept is answered in JSON Lines: the book's chapter 3 transform sets no Accept and gets
``{"score": …}`` lines in ``testing-housing.csv.out``.
"""

from __future__ import annotations

import dataclasses

from openmaker.runtimes.algorithms.firstparty.serve import handlers_for
from openmaker.runtimes.algorithms.linear_learner.model import LinearLearnerModel
from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.handlers import HandlerSet

_served = handlers_for("linear-learner", LinearLearnerModel.load)


def handlers(env: ServingEnv) -> HandlerSet:
    served = _served(env)
    return dataclasses.replace(served, default_accept=ct.JSONLINES) if env.batch else served
