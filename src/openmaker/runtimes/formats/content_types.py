"""Content-type names and the parsing of ``type/subtype; key=value`` strings.

Channels and requests name their format loosely: XGBoost accepts ``csv`` and ``libsvm`` as well as the
MIME types, clients add ``charset`` or ``label_size`` parameters and vary the case. Everything here
normalises to the canonical names below so the readers dispatch on one spelling.
"""

from __future__ import annotations

CSV = "text/csv"
LIBSVM = "text/libsvm"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
PARQUET = "application/x-parquet"
JSON = "application/json"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"

_ALIASES = {
    "csv": CSV,
    "text/csv": CSV,
    "libsvm": LIBSVM,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "recordio-protobuf": RECORDIO_PROTOBUF,
    "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
    "parquet": PARQUET,
    "application/x-parquet": PARQUET,
    "application/json": JSON,
    "json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
    "jsonlines": JSONLINES,
    "application/x-npy": NPY,
}


def parse(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``"Text/CSV; label_size=1"`` -> ``("text/csv", {"label_size": "1"})``; aliases become canonical.

    An unknown type is returned lower-cased, so the caller can name it in its error.
    """
    if not content_type:
        return "", {}
    media, *rest = content_type.split(";")
    params: dict[str, str] = {}
    for part in rest:
        key, _, value = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    media = media.strip().lower()
    return _ALIASES.get(media, media), params


def canonical(content_type: str | None) -> str:
    """Just the canonical media type of :func:`parse`."""
    return parse(content_type)[0]
