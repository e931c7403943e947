"""Every store on PostgreSQL: S3, IAM/STS and Logs through a real server, jobs and metrics directly.

The session's database (see conftest) has an ICU default collation and a non-UTC server time zone,
so these tests also pin that PostgreSQL orders and dates things exactly as SQLite does.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from openmaker.storage.db import Database

pytestmark = pytest.mark.timeout(300)


def utf8_sorted(names):
    return sorted(names, key=lambda k: k.encode("utf-8"))


def test_database_is_not_byte_ordered_nor_utc(pg_url: str) -> None:
    """The cluster really is hostile: default collation not "C", session time zone not UTC."""
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW TimeZone")).scalar() != "UTC"
            ordered = [
                r[0] for r in conn.execute(text("SELECT x FROM (VALUES ('B'), ('a')) v(x) ORDER BY x"))
            ]
            provider = conn.execute(
                text("SELECT datlocprovider FROM pg_database WHERE datname = current_database()")
            ).scalar()
    finally:
        engine.dispose()
    if provider == "i":
        assert ordered == ["a", "B"]  # ICU en-US; S3 wants "B" < "a"


# --- S3 ---------------------------------------------------------------------------------------


def test_buckets_and_objects(s3) -> None:
    names = ["pg-b-c", "pg-bc", "pg-b.d", "pg-b0"]
    for name in names:
        s3.create_bucket(Bucket=name)
    listed = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("pg-b")]
    assert listed == utf8_sorted(names)
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket="pg-bc")
    assert info.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"

    long_type = "application/x-" + "t" * 500
    s3.put_object(
        Bucket="pg-bc",
        Key="dir/hello.txt",
        Body=b"hello postgres",
        ContentType=long_type,
        Metadata={"colour": "blue", "unicode": "ja"},
        CacheControl="max-age=60",
    )
    head = s3.head_object(Bucket="pg-bc", Key="dir/hello.txt")
    assert head["ContentLength"] == 14
    assert head["ContentType"] == long_type
    assert head["Metadata"] == {"colour": "blue", "unicode": "ja"}
    assert head["CacheControl"] == "max-age=60"
    assert abs(head["LastModified"] - datetime.now(UTC)) < timedelta(minutes=2)
    assert s3.get_object(Bucket="pg-bc", Key="dir/hello.txt")["Body"].read() == b"hello postgres"

    copied = s3.copy_object(
        Bucket="pg-b0", Key="copy/of/hello", CopySource={"Bucket": "pg-bc", "Key": "dir/hello.txt"}
    )
    assert copied["CopyObjectResult"]["ETag"] == head["ETag"]
    got = s3.get_object(Bucket="pg-b0", Key="copy/of/hello")
    assert got["Body"].read() == b"hello postgres"
    assert got["Metadata"] == {"colour": "blue", "unicode": "ja"}

    s3.delete_object(Bucket="pg-bc", Key="dir/hello.txt")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="pg-bc", Key="dir/hello.txt")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket="pg-b0")
    assert info.value.response["Error"]["Code"] == "BucketNotEmpty"
    s3.delete_object(Bucket="pg-b0", Key="copy/of/hello")
    for name in names:
        s3.delete_bucket(Bucket=name)
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("pg-b")]


UNICODE_KEYS = [
    "A",
    "B",
    "a",
    "b",
    "a b",
    "a+b",
    "a-b",
    "a_b",
    "ab",
    "_under",
    "~tilde",
    "Zeta",
    "zeta",
    "é",
    "e\u0301",  # e + combining acute: canonically equal to "é" but different bytes
    "f",
    "ü/über",
    "ü/zebra",
    "日本/語",
    "日本語",
    "\ufffd",
    "\U0001f600/smile",  # above the BMP: after U+FFFD in UTF-8, before it in UTF-16
    "tab\tkey",
    "sp ace/x",
    "%2F%00",
    # PostgreSQL text cannot hold NUL: stored escaped, order and prefixes must survive
    "nul",
    "nul\x00",
    "nul\x00key",
    "nul\x00\x01",
    "nul\x01key",
    "nul\x01\x01",
    "nul\x02",
    "nul/\x00/x",
]


def _keys() -> list[str]:
    keys = [f"dir{i % 4}/file-{i:03d}" for i in range(240)]
    keys += [f"top-{i:02d}" for i in range(30)]
    keys += [f"Top-{i:02d}" for i in range(10)]
    return keys + UNICODE_KEYS


def test_list_objects_v2_orders_by_utf8_bytes(s3, bucket: str) -> None:
    keys = _keys()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), keys))

    seen: list[str] = []
    kwargs = {"Bucket": bucket, "MaxKeys": 37}
    while True:
        page = s3.list_objects_v2(**kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert seen == utf8_sorted(keys)

    # prefix + delimiter, paged: keys and common prefixes interleaved in byte order
    names: list[str] = []
    kwargs = {"Bucket": bucket, "Delimiter": "/", "MaxKeys": 7}
    while True:
        page = s3.list_objects_v2(**kwargs)
        names += [o["Key"] for o in page.get("Contents", [])]
        names += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    expected = {k if "/" not in k else k.split("/", 1)[0] + "/" for k in keys}
    assert utf8_sorted(names) == utf8_sorted(expected)
    assert len(names) == len(expected)

    page = s3.list_objects_v2(Bucket=bucket, Prefix="dir2/", MaxKeys=1000)
    assert [o["Key"] for o in page["Contents"]] == utf8_sorted(k for k in keys if k.startswith("dir2/"))
    page = s3.list_objects_v2(Bucket=bucket, Prefix="ü/", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["ü/zebra", "ü/über"]  # "z" is 0x7a, "ü" 0xc3 0xbc
    page = s3.list_objects_v2(Bucket=bucket, StartAfter="f", MaxKeys=3)
    assert [o["Key"] for o in page["Contents"]] == [k for k in utf8_sorted(keys) if k.encode() > b"f"][:3]
    assert s3.get_object(Bucket=bucket, Key="\U0001f600/smile")["Body"].read() == "\U0001f600/smile".encode()
    page = s3.list_objects_v2(Bucket=bucket, Prefix="nul\x00")
    assert [o["Key"] for o in page["Contents"]] == ["nul\x00", "nul\x00\x01", "nul\x00key"]
    assert s3.get_object(Bucket=bucket, Key="nul\x00key")["Body"].read() == b"nul\x00key"
    s3.delete_object(Bucket=bucket, Key="nul\x00")
    assert s3.head_object(Bucket=bucket, Key="nul\x00key")["ContentLength"] == 7


def test_versioning_and_delete_markers(s3, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2
    marker = s3.delete_object(Bucket=bucket, Key="doc")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="doc")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)

    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert [v["IsLatest"] for v in versions["Versions"]] == [False, False]
    assert [(m["VersionId"], m["IsLatest"]) for m in versions["DeleteMarkers"]] == [
        (marker["VersionId"], True)
    ]
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"

    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"])  # undelete
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="doc", Body=b"null").get("VersionId", "null") == "null"
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", v1]


def test_multipart_upload(s3, bucket: str) -> None:
    key = "big/ünïcode-multipart.bin"
    part1 = b"a" * (5 * 1024 * 1024)
    part2 = b"tail of the object"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/octet-stream")
    uid = upload["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [(key, uid)]
    e1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(part1)), (2, len(part2))]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    assert done["ETag"].endswith('-2"')
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ContentLength"] == len(part1) + len(part2)
    assert got["Body"].read() == part1 + part2
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)

    aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=aborted, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as info:
        s3.list_parts(Bucket=bucket, Key="gone", UploadId=aborted)
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"


# --- IAM / STS --------------------------------------------------------------------------------

TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}'
)


def test_iam_users_keys_roles_and_assume_role(server) -> None:
    iam = server.client("iam")
    sts = server.client("sts")
    role = iam.create_role(RoleName="PgRole", AssumeRolePolicyDocument=TRUST, Description="on postgres")[
        "Role"
    ]
    assert abs(role["CreateDate"] - datetime.now(UTC)) < timedelta(minutes=2)
    iam.attach_role_policy(RoleName="PgRole", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    iam.put_role_policy(
        RoleName="PgRole", PolicyName="inline", PolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    assert iam.get_role(RoleName="pgrole")["Role"]["Arn"] == role["Arn"]  # names are case-insensitive
    attached = iam.list_attached_role_policies(RoleName="PgRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]

    users = ["pg-user", "pg_user2", "pgUser3", "pg.user4"]
    for name in users:
        iam.create_user(UserName=name)
    listed = [u["UserName"] for u in iam.list_users()["Users"] if u["UserName"].lower().startswith("pg")]
    assert listed == sorted(users, key=str.lower)
    key = iam.create_access_key(UserName="pg-user")["AccessKey"]
    assert abs(key["CreateDate"] - datetime.now(UTC)) < timedelta(minutes=2)

    as_user = server.client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    assert as_user.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/pg-user"
    keys = iam.list_access_keys(UserName="pg-user")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]

    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="pg-session", DurationSeconds=900)
    creds = assumed["Credentials"]
    remaining = creds["Expiration"] - datetime.now(UTC)
    assert timedelta(minutes=13) < remaining <= timedelta(minutes=15, seconds=5)
    session = server.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    who = session.get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::000000000000:assumed-role/PgRole/pg-session"

    iam.delete_access_key(UserName="pg-user", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError):
        as_user.get_caller_identity()
    for name in users:
        iam.delete_user(UserName=name)


# --- Logs -------------------------------------------------------------------------------------


def test_logs_groups_streams_events_and_filter(server) -> None:
    logs = server.client("logs")
    groups = ["/pg/B", "/pg/a", "/pg/a-b", "/pg/ab", "/pg/_x", "/pg/Z#1", "/pg/a.b"]
    for name in groups:
        logs.create_log_group(logGroupName=name)
    described = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/pg/")["logGroups"]]
    assert described == utf8_sorted(groups)
    paged: list[str] = []
    kwargs = {"logGroupNamePrefix": "/pg/", "limit": 2}
    while True:
        page = logs.describe_log_groups(**kwargs)
        paged += [g["logGroupName"] for g in page["logGroups"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert paged == described

    group = "/pg/a"
    for stream in ("Beta", "alpha"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["Beta", "alpha"]

    base = int(time.time() * 1000) - 60_000
    token = None
    for batch in range(3):
        events = [
            {
                "timestamp": base + batch * 100 + i,
                "message": f"{'ERROR' if i % 5 == 0 else 'INFO'} b{batch} e{i} ü",
            }
            for i in range(20)
        ]
        kwargs = {"logGroupName": group, "logStreamName": "alpha", "logEvents": events}
        if token:
            kwargs["sequenceToken"] = token
        token = logs.put_log_events(**kwargs).get("nextSequenceToken")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="Beta",
        logEvents=[{"timestamp": base + 50, "message": "ERROR beta \x00 nul \x01\x01 soh"}],
    )

    messages: list[str] = []
    kwargs = {"logGroupName": group, "logStreamName": "alpha", "startFromHead": True, "limit": 7}
    while True:
        page = logs.get_log_events(**kwargs)
        if not page["events"]:
            break
        messages += [e["message"] for e in page["events"]]
        kwargs["nextToken"] = page["nextForwardToken"]
    assert len(messages) == 60
    assert messages[0] == "ERROR b0 e0 ü" and messages[-1] == "INFO b2 e19 ü"
    newest = logs.get_log_events(logGroupName=group, logStreamName="alpha", limit=5)["events"]
    assert [e["message"] for e in newest] == messages[-5:]

    found = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]
    assert len(found) == 13
    assert [e["timestamp"] for e in found] == sorted(e["timestamp"] for e in found)
    assert {e["logStreamName"] for e in found} == {"alpha", "Beta"}
    assert [e["message"] for e in found if e["logStreamName"] == "Beta"] == [
        "ERROR beta \x00 nul \x01\x01 soh"
    ]
    by_time = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in by_time["logStreams"]] == ["alpha", "Beta"]
    stream = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="alpha")["logStreams"][0]
    assert stream["firstEventTimestamp"] == base and stream["lastEventTimestamp"] == base + 219

    logs.delete_log_group(logGroupName="/pg/B")
    assert "/pg/B" not in [
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/pg/")["logGroups"]
    ]


# --- jobs and metrics (the stores, against the same database) ---------------------------------


@pytest.fixture
def pg_db(pg_url: str):
    db = Database(pg_url)
    yield db
    db.dispose()


def test_job_store(pg_db: Database) -> None:
    from openmaker.storage.jobs import JobExists, JobStore

    store = JobStore(pg_db, "000000000000", "us-east-1")
    arn = "arn:aws:sagemaker:us-east-1:000000000000:training-job/{}"
    before = datetime.now(UTC) - timedelta(seconds=1)
    names = ["pg-Job-b", "pg-job-a", "pg-job-C", "pg-job-10", "pg-job-9"]
    for name in names:
        store.create(
            "TrainingJob",
            name,
            arn.format(name),
            {
                "AlgorithmSpecification": {"TrainingImage": "xgboost"},
                "HyperParameters": {"eta": "0.1", "ü": "ß"},
            },
            tags=[{"Key": "team", "Value": "ml"}, {"Key": "Env", "Value": "dev"}],
        )
    with pytest.raises(JobExists):
        store.create("TrainingJob", "pg-job-a", arn.format("pg-job-a"), {})

    job = store.require("TrainingJob", "pg-job-a")
    assert job.spec["HyperParameters"] == {"eta": "0.1", "ü": "ß"}
    assert job.creation_time.tzinfo is not None and job.creation_time.utcoffset() == timedelta(0)
    assert before <= job.creation_time <= datetime.now(UTC)
    assert job.state["SecondaryStatusTransitions"][0]["Status"] == "Starting"

    started = datetime.now(UTC)
    store.update(
        "TrainingJob", "pg-job-a", secondary_status="Training", start_time=started, state={"Metrics": [1, 2]}
    )
    done = store.update(
        "TrainingJob",
        "pg-job-a",
        status="Completed",
        secondary_status="Completed",
        end_time=datetime.now(UTC),
        state={"ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"}},
    )
    assert done.status == "Completed" and done.terminal
    assert [t["Status"] for t in done.state["SecondaryStatusTransitions"]] == [
        "Starting",
        "Training",
        "Completed",
    ]
    assert done.state["Metrics"] == [1, 2]
    reread = store.require("TrainingJob", "pg-job-a")
    assert reread.start_time == started and reread.start_time.utcoffset() == timedelta(0)
    assert store.update("TrainingJob", "pg-job-a", status="Failed", only_if_active=True).status == "Completed"
    assert store.request_stop("TrainingJob", "pg-job-C").status == "Stopping"

    ours = [
        r.name
        for r in store.list("TrainingJob", sort_by="Name", descending=False)
        if r.name.startswith("pg-")
    ]
    assert ours == sorted(names)  # byte order, as on SQLite
    newest = store.list("TrainingJob", name_contains="PG-JOB", limit=2)
    assert [r.name for r in newest] == ["pg-job-9", "pg-job-10"]
    assert [r.name for r in store.list("TrainingJob", status="Completed")] == ["pg-job-a"]
    assert {r.name for r in store.list("TrainingJob", created_after=before)} >= set(names)
    assert not {r.name for r in store.list("TrainingJob", created_before=before)} & set(names)
    assert "pg-job-a" not in {r.name for r in store.active("TrainingJob")}

    job_arn = arn.format("pg-job-a")
    assert store.list_tags(job_arn) == [{"Key": "Env", "Value": "dev"}, {"Key": "team", "Value": "ml"}]
    store.add_tags(job_arn, [{"Key": "team", "Value": "platform"}, {"Key": "cost", "Value": "1"}])
    assert [t["Key"] for t in store.list_tags(job_arn)] == ["Env", "cost", "team"]  # byte order
    store.delete_tags(job_arn, ["Env"])
    assert store.list_tags(job_arn) == [{"Key": "cost", "Value": "1"}, {"Key": "team", "Value": "platform"}]


def test_metric_store(pg_db: Database) -> None:
    from openmaker.storage.metrics import MetricStore

    store = MetricStore(pg_db, "000000000000", "us-east-1")
    t0 = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    store.put(
        "/aws/sagemaker/TrainingJobs",
        "train:loss",
        {"Host": "algo-1", "TrainingJobName": "pg"},
        [(t0 + timedelta(seconds=i), 1.0 / (i + 1)) for i in range(10)],
    )
    store.put(
        "/aws/sagemaker/TrainingJobs",
        "train:loss",
        [{"Name": "TrainingJobName", "Value": "pg"}, {"Name": "Host", "Value": "algo-1"}],
        [(t0.replace(tzinfo=None) + timedelta(seconds=10), 0.05)],
    )
    points = store.query(
        "/aws/sagemaker/TrainingJobs",
        "train:loss",
        {"TrainingJobName": "pg", "Host": "algo-1"},
        t0 + timedelta(seconds=2),
        t0 + timedelta(seconds=11),
    )
    assert [p.value for p in points] == [1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7, 1 / 8, 1 / 9, 1 / 10, 0.05]
    assert points[0].timestamp == t0 + timedelta(seconds=2)
    assert points[0].timestamp.utcoffset() == timedelta(0)
    naive = store.query(
        "/aws/sagemaker/TrainingJobs",
        "train:loss",
        {"TrainingJobName": "pg", "Host": "algo-1"},
        (t0 + timedelta(seconds=2)).replace(tzinfo=None),
        (t0 + timedelta(seconds=11)).replace(tzinfo=None),
    )
    assert naive == points  # naive datetimes mean UTC, as on SQLite (not the server's TimeZone)
    # the same instant in another zone finds the same points
    other = t0.astimezone(datetime.now().astimezone().tzinfo)
    assert (
        len(
            store.query(
                "/aws/sagemaker/TrainingJobs",
                "train:loss",
                {"Host": "algo-1", "TrainingJobName": "pg"},
                other,
                other + timedelta(seconds=1),
            )
        )
        == 1
    )
    assert ("/aws/sagemaker/TrainingJobs", "train:loss", "Host=algo-1;TrainingJobName=pg") in store.series(
        "/aws/sagemaker/TrainingJobs"
    )


# --- schema -----------------------------------------------------------------------------------


def test_migrate_is_idempotent_and_matches_the_models(pg_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from openmaker.storage.schemas import metadata

    db = Database(pg_url)
    try:

        def snapshot():
            with db.engine.connect() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
                columns = conn.execute(
                    text(
                        "SELECT table_name, column_name, data_type, character_maximum_length, collation_name "
                        "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
                    )
                ).all()
                indexes = conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
                ).all()
            return version, columns, indexes

        first = snapshot()
        db.migrate()
        db.migrate()
        assert snapshot() == first
        assert len(first[0]) == 1
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        keys = {(t, c): coll for t, c, _, _, coll in first[1]}
        assert keys[("s3_object_versions", "key")] == "C"
        assert keys[("s3_multipart_uploads", "key")] == "C"
    finally:
        db.dispose()


def test_restart_keeps_everything(pg_server, s3) -> None:
    s3.create_bucket(Bucket="pg-restart")
    s3.put_object(Bucket="pg-restart", Key="ß/kept", Body=b"still here")
    server = pg_server.current
    server.client("iam").create_user(UserName="pg-restart-user")
    key = server.client("iam").create_access_key(UserName="pg-restart-user")["AccessKey"]
    logs = server.client("logs")
    logs.create_log_group(logGroupName="/pg/restart")
    logs.create_log_stream(logGroupName="/pg/restart", logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/pg/restart",
        logStreamName="s",
        logEvents=[{"timestamp": now_ms, "message": "kept"}],
    )

    server = pg_server.restart()
    s3 = server.client("s3")
    assert s3.get_object(Bucket="pg-restart", Key="ß/kept")["Body"].read() == b"still here"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="pg-restart")["Contents"]] == ["ß/kept"]
    as_user = server.client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    assert as_user.get_caller_identity()["Arn"].endswith(":user/pg-restart-user")
    events = server.client("logs").get_log_events(
        logGroupName="/pg/restart", logStreamName="s", startFromHead=True
    )
    assert [e["message"] for e in events["events"]] == ["kept"]
    # writes keep working after the restart (sequences resumed, no key collisions)
    s3.put_object(Bucket="pg-restart", Key="after", Body=b"new")
    server.client("logs").put_log_events(
        logGroupName="/pg/restart",
        logStreamName="s",
        logEvents=[{"timestamp": now_ms + 1, "message": "new"}],
    )
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="pg-restart")["Contents"]] == ["after", "ß/kept"]
