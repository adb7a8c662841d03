"""Content-addressed storage for uploaded files (whistle's and patrol's photos): a local directory under `var/`
in development, an S3-compatible bucket in production, one `BlobStore` interface for both.

A blob's key is the SHA-256 of its bytes, so storing the same photo twice stores it once, and a key is only
ever 64 hex digits: a key that came over the wire can never name a path outside the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kit.config import Settings, var_dir
from kit.errors import ServiceError

MAX_BLOB_BYTES = 5 * 1024 * 1024
KEY_RE = re.compile(r"[0-9a-f]{64}")

# The photo types accepted, each recognised by its first bytes (the declared type is never trusted).
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
PHOTO_TYPES = (JPEG, PNG, WEBP)


@dataclass(frozen=True)
class BlobRef:
    """What a service stores about a blob (the blob itself stays in the store)."""

    key: str
    size: int
    content_type: str

    def to_wire(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "content_type": self.content_type}


class BlobStore(Protocol):
    def put(self, data: bytes, content_type: str) -> BlobRef: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


def blob_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """The key itself when it is 64 lowercase hex digits; anything else (`../`, a path, a prefix) is refused."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise ServiceError("invalid", "BLOB_KEY_INVALID", "a blob key is 64 hex digits", {"key": ["bad"]})
    return key


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise ServiceError("too_large", "BLOB_TOO_LARGE", f"a file is at most {max_bytes // 1024} KiB")


def _not_found(key: str) -> ServiceError:
    return ServiceError("not_found", "BLOB_NOT_FOUND", f"blob {key} not found")


def sniff_image(data: bytes) -> str | None:
    """The content type the bytes really are, among `PHOTO_TYPES`, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def decode_photo(b64: str, *, max_bytes: int = MAX_BLOB_BYTES, field: str = "photo") -> tuple[bytes, str]:
    """A base64 photo from an RPC payload: its bytes and the content type its magic bytes say.

    The length is checked before decoding (so a huge string is not decoded to be refused), then the bytes
    must be a JPEG, PNG or WebP whatever the client declared.
    """
    if not isinstance(b64, str):
        raise ServiceError("invalid", "PHOTO_UNREADABLE", "a photo is a base64 string", {field: ["bad"]})
    if len(b64) > 4 * ((max_bytes + 2) // 3) + 4:
        raise ServiceError("too_large", "PHOTO_TOO_LARGE", f"a photo is at most {max_bytes // 1024} KiB")
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError("invalid", "PHOTO_UNREADABLE", "the photo is not base64", {field: ["bad"]}) from None
    if len(data) > max_bytes:
        raise ServiceError("too_large", "PHOTO_TOO_LARGE", f"a photo is at most {max_bytes // 1024} KiB")
    content_type = sniff_image(data)
    if content_type is None:
        raise ServiceError(
            "invalid", "PHOTO_TYPE_NOT_ALLOWED", "a photo is a JPEG, PNG or WebP image", {field: ["type"]}
        )
    return data, content_type


class LocalBlobStore:
    """Blobs as files `<root>/<key[:2]>/<key>`; each written to a temporary file, then renamed into place, so
    a reader (or a crash) never sees half a blob."""

    def __init__(self, root: Path, *, max_bytes: int = MAX_BLOB_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        key = check_key(key)
        return self.root / key[:2] / key

    def put(self, data: bytes, content_type: str) -> BlobRef:
        _check_size(data, self.max_bytes)
        ref = BlobRef(blob_key(data), len(data), content_type)
        path = self._path(ref.key)
        if path.exists():
            return ref
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
        return ref

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise _not_found(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3BlobStore:
    """Blobs as objects `<prefix><key>` in one bucket of any S3-compatible store (AWS, MinIO, Ceph, OSS...).

    `client` is a boto3 S3 client (thread-safe; made once per process by `s3_client`).
    """

    def __init__(self, client: Any, bucket: str, *, prefix: str = "", max_bytes: int = MAX_BLOB_BYTES) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.max_bytes = max_bytes

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, data: bytes, content_type: str) -> BlobRef:
        _check_size(data, self.max_bytes)
        ref = BlobRef(blob_key(data), len(data), content_type)
        # Same key, same bytes: writing again is harmless, and cheaper than asking first.
        self.client.put_object(Bucket=self.bucket, Key=self._object(ref.key), Body=data, ContentType=content_type)
        return ref

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except self.client.exceptions.NoSuchKey:
            raise _not_found(key) from None
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def s3_client(
    endpoint: str | None,
    *,
    region: str,
    access_key: str | None,
    secret_key: str | None,
    timeout: float = 10.0,
) -> Any:
    """A boto3 S3 client that S3-compatible stores accept: path-style addressing, checksums only where the
    API requires them (boto3 >= 1.36 adds CRC32 checksums that older MinIO and Ceph refuse), and timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def blob_store(settings: Settings) -> BlobStore:
    """The store the environment names: `BLOB_STORE=local` (default; `BLOB_DIR`, else `var/blobs/<service>`)
    or `BLOB_STORE=s3` (`S3_BUCKET`, `S3_ENDPOINT`, `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`,
    `S3_PREFIX`); `BLOB_MAX_BYTES` bounds one blob."""
    env = settings.extra
    kind = env.get("BLOB_STORE", "local")
    max_bytes = int(env.get("BLOB_MAX_BYTES", str(MAX_BLOB_BYTES)))
    if kind == "local":
        root = Path(env["BLOB_DIR"]) if env.get("BLOB_DIR") else var_dir(env) / "blobs" / settings.service
        return LocalBlobStore(root, max_bytes=max_bytes)
    if kind == "s3":
        bucket = env.get("S3_BUCKET")
        if not bucket:
            raise ValueError("BLOB_STORE=s3 needs S3_BUCKET")
        client = s3_client(
            env.get("S3_ENDPOINT") or None,
            region=env.get("S3_REGION", "us-east-1"),
            access_key=env.get("S3_ACCESS_KEY_ID") or None,
            secret_key=env.get("S3_SECRET_ACCESS_KEY") or None,
        )
        return S3BlobStore(client, bucket, prefix=env.get("S3_PREFIX", ""), max_bytes=max_bytes)
    raise ValueError("BLOB_STORE must be local or s3")
