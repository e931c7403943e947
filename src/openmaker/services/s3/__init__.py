"""S3: one handler per operation over the object store at ``ctx.app.objects``."""

from openmaker.services.s3 import buckets, listing, multipart, objects  # noqa: F401
