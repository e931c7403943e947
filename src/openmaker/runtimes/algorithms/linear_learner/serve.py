"""Linear Learner's model server: the first-party server (:mod:`..firstparty.serve`) around the saved model.

Requests are CSV (features only), JSON, JSON Lines, RecordIO-protobuf or NPY; answers are
``{"predictions": [{"score": …, "predicted_label": …}]}`` for a classifier and ``{"score": …}`` for a
regressor, one object a line for ``application/jsonlines``, Records with ``score`` and ``predicted_label``
in their label map for ``application/x-recordio-protobuf``; batch transform without Accept gets JSON Lines.
"""

from __future__ import annotations

from openmaker.runtimes.algorithms.firstparty.serve import handlers_for
from openmaker.runtimes.algorithms.linear_learner.model import LinearLearnerModel

handlers = handlers_for("linear-learner", LinearLearnerModel.load)
