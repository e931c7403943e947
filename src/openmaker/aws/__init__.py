"""The generic AWS protocol layer, driven by botocore's service models.

Nothing here knows a particular service: routing, parsing, validation, serialization, errors and
SigV4 are derived from ``botocore/data/<service>/<version>/service-2.json``.
"""
