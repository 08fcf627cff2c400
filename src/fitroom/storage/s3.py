"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, R2), through boto3.

Chosen with ``FITROOM_STORAGE_URL=s3://bucket/prefix``. The endpoint, region and
credentials come from the standard AWS variables and files (``AWS_ENDPOINT_URL``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``, ...), so the same settings
reach any S3-compatible store. Every API server and worker of a cluster then sees the
same inputs and results.

Result URLs are either this server's signed ``/files`` URLs, served by reading the object
here (``FITROOM_RESULT_URLS=signed``, the default: the store stays private), or the
store's own presigned GET URLs (``presigned``: clients download from the store directly).
Both expire as configured.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fitroom.errors import BlobNotFound, StorageUnavailable
from fitroom.storage.base import BlobInfo, Storage
from fitroom.storage.signing import UrlSigner

_DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        prefix: str,
        signer: UrlSigner,
        base_url: str,
        *,
        presigned_urls: bool = False,
        client: Any = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.signer = signer
        self._base_url = base_url.rstrip("/")
        self.presigned_urls = presigned_urls
        # Retries with backoff for the store's own hiccups; boto3 clients are thread-safe.
        # A store that does not answer within seconds is down: fail rather than hang a request.
        config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        self._client = client or boto3.client("s3", config=config)
        if presigned_urls:
            # Credentials resolve lazily, possibly over the network (instance metadata):
            # now, once, rather than inside a request that only wanted to sign a URL.
            self._client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "-"}, ExpiresIn=1)

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"bucket {self.bucket!r} at {self._client.meta.endpoint_url}"
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            reasons = {
                "404": "no such bucket: create it first",
                "NoSuchBucket": "no such bucket: create it first",
                "403": "access denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            }
            reason = reasons.get(code, str(exc))
            raise StorageUnavailable(f"{where}: {reason}") from None
        except BotoCoreError as exc:  # no endpoint, no credentials, a bad region
            raise StorageUnavailable(f"{where}: {exc} (set AWS_ENDPOINT_URL and the AWS credentials)") from None

    def _object(self, key: str) -> str:
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
            raise ValueError(f"not a blob key: {key!r}")
        return self.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        # A PUT is atomic in S3: readers see the whole object or none.
        self._client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data, ContentType=content_type)
        return self.info(key)

    def get(self, key: str) -> tuple[bytes, str]:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._object(key))
        except self._client.exceptions.NoSuchKey:
            raise BlobNotFound() from None
        return answer["Body"].read(), answer.get("ContentType", "application/octet-stream")

    def info(self, key: str) -> BlobInfo:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._object(key))
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise BlobNotFound() from None
            raise
        return BlobInfo(
            key=key,
            size=int(head["ContentLength"]),
            content_type=head.get("ContentType", "application/octet-stream"),
            modified_at=head["LastModified"].astimezone(UTC),
        )

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        batch: list[dict[str, str]] = []
        for page in pages:
            for item in page.get("Contents", []):
                batch.append({"Key": item["Key"]})
                if len(batch) == _DELETE_BATCH:
                    deleted += self._delete(batch)
                    batch = []
        if batch:
            deleted += self._delete(batch)
        return deleted

    def _delete(self, batch: list[dict[str, str]]) -> int:
        self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(batch)

    def url(self, key: str, expires_in: int) -> str:
        if self.presigned_urls:
            url: str = self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._object(key)}, ExpiresIn=expires_in
            )
            return url
        self._object(key)  # a URL for a key that could never be stored is a bug upstream
        return self.signer.files_url(self._base_url, key, expires_in)
