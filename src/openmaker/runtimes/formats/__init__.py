"""The data formats of SageMaker's built-in algorithms, for training channels and model-server requests.

- :mod:`.reader` — ``read_training_data(path, content_type, *, label, feature_dim) -> Dataset``
- :mod:`.inference` — ``decode_request`` / ``parse_request`` and ``encode_predictions``
- :mod:`.protobuf` — recordio-protobuf records: ``decode_record``, ``encode_dense``, ``encode_sparse``,
  ``read_protobuf`` (built on :mod:`.recordio`'s ``iter_records`` / ``write_record``)
- :mod:`.text`, :mod:`.jsonfmt` — CSV, LIBSVM, JSON and JSON lines
- :class:`DataFormatError` — the one error, with an HTTP ``status`` for the server

Runs inside jobs and model servers: NumPy always, SciPy for sparse data, pandas for fast CSV, pyarrow
for parquet; never the SageMaker SDK or the ``protobuf`` package, and nothing of openmaker outside
``runtimes/``. Importing this package is cheap: the heavy modules load when used.
"""

from openmaker.runtimes.formats.errors import DataFormatError, UnsupportedContentTypeError

__all__ = ["DataFormatError", "UnsupportedContentTypeError"]
