"""kit.blobs' stores over their real backends: a directory, and an S3-compatible server the test starts
(moto's server, spoken to over HTTP by boto3 as production speaks to MinIO or a cloud bucket)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any

import pytest

from kit.blobs import LocalBlobStore, S3BlobStore, blob_store, decode_photo, s3_client
from kit.config import Settings
from kit.errors import ServiceError

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
BUCKET = "guandu-photos"


@pytest.fixture
def s3_store(s3_endpoint: str) -> S3BlobStore:
    env = {
        "BLOB_STORE": "s3",
        "S3_ENDPOINT": s3_endpoint,
        "S3_BUCKET": BUCKET,
        "S3_PREFIX": "whistle/",
        "S3_ACCESS_KEY_ID": "test-key",
        "S3_SECRET_ACCESS_KEY": "test-secret",
    }
    store = blob_store(Settings.from_env("whistle", env))
    assert isinstance(store, S3BlobStore)
    with contextlib.suppress(store.client.exceptions.BucketAlreadyOwnedByYou):
        store.client.create_bucket(Bucket=BUCKET)
    return store


def round_trip(store: Any) -> None:
    data, content_type = decode_photo(base64.b64encode(PHOTO).decode())
    ref = store.put(data, content_type)
    assert ref.key == hashlib.sha256(PHOTO).hexdigest()
    assert (ref.size, ref.content_type) == (len(PHOTO), "image/png")
    assert store.exists(ref.key)
    assert store.get(ref.key) == PHOTO
    assert store.put(data, content_type) == ref
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(missing)
    with pytest.raises(ServiceError) as caught:
        store.get(missing)
    assert (caught.value.kind, caught.value.code) == ("not_found", "BLOB_NOT_FOUND")
    with pytest.raises(ServiceError) as caught:
        store.get("../" + ref.key[3:])
    assert caught.value.code == "BLOB_KEY_INVALID"


def test_the_local_store_round_trip(tmp_path):
    round_trip(LocalBlobStore(tmp_path / "blobs"))


def test_the_s3_store_round_trip_over_http(s3_store):
    round_trip(s3_store)
    key = hashlib.sha256(PHOTO).hexdigest()
    head = s3_store.client.head_object(Bucket=BUCKET, Key=f"whistle/{key}")
    assert (head["ContentType"], head["ContentLength"]) == ("image/png", len(PHOTO))


def test_an_unreachable_s3_endpoint_fails_within_its_timeout():
    client = s3_client("http://127.0.0.1:9", region="us-east-1", access_key="k", secret_key="s", timeout=1)
    store = S3BlobStore(client, BUCKET)
    with pytest.raises(Exception, match="Could not connect"):
        store.exists(hashlib.sha256(b"x").hexdigest())
