"""Domain errors of the object store, named after the S3 error codes they become.

Storage does not import ``openmaker.aws``: the S3 service maps each of these to an ``AwsError``
with the same ``code`` (and its HTTP status), so the names and messages here are S3's own.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every object-store error; ``code`` is the S3 error code, ``fields`` extra members."""

    code = "InternalError"
    status = 500
    default_message = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, **fields: object) -> None:
        self.message = message or self.default_message
        self.fields = fields
        super().__init__(f"{self.code}: {self.message}")


class NoSuchBucket(StorageError):
    code, status, default_message = "NoSuchBucket", 404, "The specified bucket does not exist."


class BucketAlreadyOwnedByYou(StorageError):
    code, status = "BucketAlreadyOwnedByYou", 409
    default_message = "Your previous request to create the named bucket succeeded and you already own it."


class BucketAlreadyExists(StorageError):
    code, status = "BucketAlreadyExists", 409
    default_message = (
        "The requested bucket name is not available. The bucket namespace is shared by all users of "
        "the system. Please select a different name and try again."
    )


class BucketNotEmpty(StorageError):
    code, status, default_message = "BucketNotEmpty", 409, "The bucket you tried to delete is not empty"


class NoSuchKey(StorageError):
    code, status, default_message = "NoSuchKey", 404, "The specified key does not exist."

    def __init__(
        self,
        message: str | None = None,
        *,
        delete_marker: bool = False,
        version_id: str | None = None,
        **fields: object,
    ) -> None:
        super().__init__(message, **fields)
        self.delete_marker = delete_marker  # the latest version is a delete marker
        self.version_id = version_id


class NoSuchVersion(StorageError):
    code, status = "NoSuchVersion", 404
    default_message = "The specified version does not exist."


class NoSuchUpload(StorageError):
    code, status = "NoSuchUpload", 404
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
        "been aborted or completed."
    )


class InvalidPart(StorageError):
    code, status = "InvalidPart", 400
    default_message = (
        "One or more of the specified parts could not be found.  The part may not have been uploaded, "
        "or the specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(StorageError):
    code, status = "InvalidPartOrder", 400
    default_message = "The list of parts was not in ascending order. Parts must be ordered by part number."


class EntityTooSmall(StorageError):
    code, status = "EntityTooSmall", 400
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class InvalidRequest(StorageError):
    code, status, default_message = "InvalidRequest", 400, "Invalid Request"


class InvalidRange(StorageError):
    code, status, default_message = "InvalidRange", 416, "The requested range is not satisfiable"


class KeyTooLongError(StorageError):
    code, status, default_message = "KeyTooLongError", 400, "Your key is too long"
