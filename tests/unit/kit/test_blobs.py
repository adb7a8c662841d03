"""kit.blobs: keys that cannot escape the store, photos that are really photos, the local store's round trip."""

import base64
import hashlib

import pytest

from kit.blobs import (
    JPEG,
    PNG,
    WEBP,
    BlobRef,
    LocalBlobStore,
    S3BlobStore,
    blob_store,
    check_key,
    decode_photo,
    sniff_image,
)
from kit.config import Settings
from kit.errors import ServiceError

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP_BYTES = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "key",
    ["", "../" + "a" * 61, "A" * 64, "a" * 63, "a" * 65, "/etc/passwd", "a" * 62 + "/x", "g" * 64, "a" * 63 + "\n"],
)
def test_a_key_is_exactly_64_lowercase_hex_digits(key):
    with pytest.raises(ServiceError) as caught:
        check_key(key)
    assert (caught.value.kind, caught.value.code) == ("invalid", "BLOB_KEY_INVALID")


def test_a_valid_key_passes():
    key = hashlib.sha256(b"x").hexdigest()
    assert check_key(key) == key


@pytest.mark.parametrize(("data", "kind"), [(PNG_BYTES, PNG), (JPEG_BYTES, JPEG), (WEBP_BYTES, WEBP)])
def test_photos_are_recognised_by_their_magic_bytes(data, kind):
    assert sniff_image(data) == kind
    assert decode_photo(b64(data)) == (data, kind)


@pytest.mark.parametrize(
    "data", [b"GIF89a" + b"\x00" * 10, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7", b"RIFF1234WAVE", b""]
)
def test_anything_else_is_not_a_photo_whatever_it_claims(data):
    with pytest.raises(ServiceError) as caught:
        decode_photo(b64(data))
    assert (caught.value.kind, caught.value.code) == ("invalid", "PHOTO_TYPE_NOT_ALLOWED")
    assert caught.value.errors == {"photo": ["type"]}


@pytest.mark.parametrize("text", ["not base64!", "iVBORw0KGgo", "aGVsbG8=\n===", 42])
def test_a_photo_that_is_not_base64_is_unreadable(text):
    with pytest.raises(ServiceError) as caught:
        decode_photo(text, field="photos.0")
    assert (caught.value.kind, caught.value.code) == ("invalid", "PHOTO_UNREADABLE")
    assert caught.value.errors == {"photos.0": ["bad"]}


def test_a_photo_over_the_limit_is_too_large_before_and_after_decoding():
    limit = 1024
    just_right = PNG_BYTES + b"\x00" * (limit - len(PNG_BYTES))
    assert decode_photo(b64(just_right), max_bytes=limit)[1] == PNG
    for text in (b64(just_right + b"\x00"), "A" * (10 * limit)):
        with pytest.raises(ServiceError) as caught:
            decode_photo(text, max_bytes=limit)
        assert (caught.value.kind, caught.value.code) == ("too_large", "PHOTO_TOO_LARGE")


def test_the_local_store_is_content_addressed_and_writes_each_blob_once(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    ref = store.put(PNG_BYTES, PNG)
    assert ref == BlobRef(hashlib.sha256(PNG_BYTES).hexdigest(), len(PNG_BYTES), PNG)
    assert ref.to_wire() == {"key": ref.key, "size": len(PNG_BYTES), "content_type": PNG}
    assert store.exists(ref.key)
    assert store.get(ref.key) == PNG_BYTES
    assert store.put(PNG_BYTES, PNG) == ref
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [ref.key]  # no temporary file left behind


def test_the_local_store_refuses_bad_keys_missing_blobs_and_oversized_ones(tmp_path):
    store = LocalBlobStore(tmp_path, max_bytes=10)
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(ServiceError) as caught:
        store.get(missing)
    assert caught.value.code == "BLOB_NOT_FOUND"
    with pytest.raises(ServiceError) as caught:
        store.get("../../etc/passwd")
    assert caught.value.code == "BLOB_KEY_INVALID"
    with pytest.raises(ServiceError) as caught:
        store.put(b"x" * 11, PNG)
    assert (caught.value.kind, caught.value.code) == ("too_large", "BLOB_TOO_LARGE")


def test_the_factory_defaults_to_a_local_store_under_var(tmp_path):
    settings = Settings.from_env("whistle", {"GUANDU_VAR_DIR": str(tmp_path)})
    store = blob_store(settings)
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "blobs" / "whistle"
    store = blob_store(Settings.from_env("whistle", {"BLOB_DIR": str(tmp_path / "x"), "BLOB_MAX_BYTES": "99"}))
    assert isinstance(store, LocalBlobStore)
    assert (store.root, store.max_bytes) == (tmp_path / "x", 99)


def test_the_factory_builds_an_s3_store_and_refuses_a_bad_configuration():
    # Keys given: without them boto3 would look for credentials, up to the cloud's metadata address.
    env = {
        "BLOB_STORE": "s3",
        "S3_BUCKET": "guandu-photos",
        "S3_ENDPOINT": "http://127.0.0.1:1",
        "S3_PREFIX": "w/",
        "S3_ACCESS_KEY_ID": "k",
        "S3_SECRET_ACCESS_KEY": "s",
    }
    store = blob_store(Settings.from_env("whistle", env))
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("guandu-photos", "w/")
    with pytest.raises(ValueError, match="S3_BUCKET"):
        blob_store(Settings.from_env("whistle", {"BLOB_STORE": "s3"}))
    with pytest.raises(ValueError, match="local or s3"):
        blob_store(Settings.from_env("whistle", {"BLOB_STORE": "ftp"}))
