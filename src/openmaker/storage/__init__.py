"""Persistence: the metadata database, the object store and the log-event store."""
