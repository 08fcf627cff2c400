"""Fitroom's named errors, one tree for every layer.

Every failure a client can cause, or an engine can meet, is one of these classes. Each
carries a stable snake_case ``code``; the dialects in ``fitroom.api`` map codes to their
vendor's status and body, so no layer below the API knows about HTTP.

    FitroomError
    ├── InputError                       the client sent something unusable (a 400 everywhere)
    │   ├── InvalidParameter             a field missing, mistyped, out of range, unknown enum
    │   │   └── MissingParameter         a required field absent
    │   ├── InvalidRequestBody           the body is not JSON / not a form / empty
    │   ├── UnsupportedContentType       neither JSON nor multipart where both are allowed
    │   ├── BodyTooLarge                 the request body is over the server's cap
    │   └── ImageError                   an image field could not become pixels
    │       ├── InvalidImageReference    neither a URL, base64 nor a data URI
    │       ├── ImageFetchError          a URL could not be fetched
    │       │   ├── UrlRefused           SSRF guard: scheme, non-public address, redirects
    │       │   └── FetchFailed          timeout, connection error, non-2xx status
    │       ├── ImageTooLarge            more bytes than the dialect allows
    │       ├── MalformedImage           bytes that do not decode (truncated, not an image)
    │       ├── UnsupportedImageFormat   decodes, but the dialect does not take the format
    │       ├── ResolutionTooHigh        larger than the dialect's maximum side
    │       ├── ResolutionTooLow         smaller than the dialect's minimum side
    │       └── DecompressionBomb        pixel count over the cap, refused before decoding
    ├── AccessError                      who may do what
    │   ├── Unauthenticated              missing, unknown or revoked key (401)
    │   ├── InsufficientCredits          balance below the job's cost
    │   ├── RateLimited                  token bucket empty; carries retry_after
    │   │   └── ConcurrencyLimited       too many queued or running jobs for the key
    │   └── JobNotFound                  no such job for this key (404, also for other keys' jobs)
    ├── EngineError                      the engine ran and could not produce a result
    │   ├── NoPersonFound                no body in the person image
    │   ├── NoGarmentFound               no garment in the garment image
    │   ├── RegionNotVisible             the garment's region is not in the photo
    │   ├── NoFaceFound                  no face in the person image
    │   ├── GlassesNotFound              no frame in the glasses image
    │   └── EngineUnavailable            the named engine is not installed / not registered
    └── StorageError
        ├── BlobNotFound                 no blob under that key (or it expired)
        ├── SignatureInvalid             a signed URL was tampered with or has expired
        └── StorageUnavailable           the object store cannot be reached, or has no such bucket

A job that fails stores ``code`` and ``message`` of the error that failed it, so a
dialect can render the failure long after the exception is gone.
"""

from __future__ import annotations


class FitroomError(Exception):
    """Base of every error Fitroom raises on purpose."""

    code: str = "fitroom_error"

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.field = field

    def __str__(self) -> str:
        return self.message


# --- input -----------------------------------------------------------------------------


class InputError(FitroomError):
    """The request cannot be used as sent."""

    code = "invalid_input"


class InvalidParameter(InputError):
    """A parameter was provided but is invalid."""

    code = "invalid_parameter"


class MissingParameter(InvalidParameter):
    """A required parameter was not provided."""

    code = "missing_parameter"


class InvalidRequestBody(InputError):
    """The request body was empty or could not be parsed."""

    code = "invalid_request_body"


class UnsupportedContentType(InputError):
    """The request's content type is not one this endpoint takes."""

    code = "unsupported_content_type"


class BodyTooLarge(InputError):
    """The request body is larger than the server accepts."""

    code = "body_too_large"


class ImageError(InputError):
    """An image field could not be turned into pixels."""

    code = "image_error"


class InvalidImageReference(ImageError):
    """The value is neither an http(s) URL, base64 data, nor a data URI."""

    code = "invalid_image_reference"


class ImageFetchError(ImageError):
    """An image URL could not be fetched."""

    code = "image_fetch_error"


class UrlRefused(ImageFetchError):
    """The URL points at an address the server will not connect to."""

    code = "url_refused"


class FetchFailed(ImageFetchError):
    """The image URL did not answer with an image in time."""

    code = "fetch_failed"


class ImageTooLarge(ImageError):
    """The image file is larger than this endpoint accepts."""

    code = "file_size_too_large"


class MalformedImage(ImageError):
    """The image could not be decoded."""

    code = "malformed_image"


class UnsupportedImageFormat(ImageError):
    """The image format is not supported by this endpoint."""

    code = "unsupported_image_format"


class ResolutionTooHigh(ImageError):
    """The image resolution is larger than this endpoint accepts."""

    code = "resolution_too_high"


class ResolutionTooLow(ImageError):
    """The image resolution is smaller than this endpoint accepts."""

    code = "resolution_too_low"


class DecompressionBomb(ImageError):
    """The image declares more pixels than the server will decode."""

    code = "decompression_bomb"


# --- access ----------------------------------------------------------------------------


class AccessError(FitroomError):
    """The caller may not do this now."""

    code = "access_error"


class Unauthenticated(AccessError):
    """The API key is missing, unknown or revoked."""

    code = "unauthenticated"


class InsufficientCredits(AccessError):
    """The key's credit balance is below the cost of the job."""

    code = "insufficient_credits"


class RateLimited(AccessError):
    """Too many requests for this key; retry after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class ConcurrencyLimited(RateLimited):
    """The key already has as many queued or running jobs as it may."""

    code = "concurrency_limited"


class JobNotFound(AccessError):
    """No job with this id belongs to the caller."""

    code = "job_not_found"


# --- engines ---------------------------------------------------------------------------


class EngineError(FitroomError):
    """The engine could not produce a result from these inputs."""

    code = "engine_error"


class NoPersonFound(EngineError):
    """No person was found in the person image."""

    code = "no_person_found"


class NoGarmentFound(EngineError):
    """No garment was found in the garment image."""

    code = "no_garment_found"


class RegionNotVisible(EngineError):
    """The part of the body this garment needs is not in the person image."""

    code = "region_not_visible"


class NoFaceFound(EngineError):
    """No face was found in the person image."""

    code = "no_face_found"


class GlassesNotFound(EngineError):
    """No glasses frame was found in the glasses image."""

    code = "glasses_not_found"


class EngineUnavailable(EngineError):
    """The requested engine is not available on this server."""

    code = "engine_unavailable"


# --- storage ---------------------------------------------------------------------------


class StorageError(FitroomError):
    """A blob could not be stored or read."""

    code = "storage_error"


class BlobNotFound(StorageError):
    """No blob is stored under this key."""

    code = "blob_not_found"


class SignatureInvalid(StorageError):
    """The signed URL was altered or has expired."""

    code = "signature_invalid"


class StorageUnavailable(StorageError):
    """The object store cannot be reached, refuses the credentials, or has no such bucket."""

    code = "storage_unavailable"
