"""What Amazon's own algorithms (Linear Learner, K-Means, Factorization Machines, PCA, k-NN) share.

They differ from XGBoost in the same ways, so the differences live here once: hyperparameter failures
worded as their JSON-schema validation words them (:mod:`.schema`), metrics as ``#quality_metric`` lines
(:mod:`.quality`), ``application/x-recordio-protobuf`` as the default channel type with ``text/csv``
beside it (:mod:`.data`), and one model server that decodes every request format and answers
``{"predictions": [...]}`` (:mod:`.serve`).
"""
