"""The Factorization Machines model server: the first-party server (:mod:`..firstparty.serve`) over
:class:`.model.FactorizationMachinesModel`.

Requests: ``application/json`` (dense ``{"instances": [{"features": […]}]}`` or the sparse
``{"instances": [{"data": {"features": {"shape": [N], "keys": […], "values": […]}}}]}`` the book sends),
JSON lines, RecordIO-protobuf (what ``FactorizationMachinesPredictor`` sends), CSV. Answers
``{"predictions": [{"score": …}]}`` for a regressor and ``{"score": …, "predicted_label": 0|1}`` for a
binary classifier.
"""

from __future__ import annotations

from openmaker.runtimes.algorithms.factorization_machines.model import FactorizationMachinesModel
from openmaker.runtimes.algorithms.firstparty.serve import handlers_for

handlers = handlers_for("factorization-machines", FactorizationMachinesModel.load)
