"""Pixelcut's try-on and background removal (docs/api.md §5).

Each endpoint takes JSON or a multipart form, so it reads its body itself and dispatches
on the content type; both become the same request model. By default it answers only
when the result is ready, up to a server-side cap, after which it hands out a job id to
poll, as it does at once for ``wait_for_result=false``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response

from fitroom.api.deps import KeyDep, ServiceDep
from fitroom.api.dialect import Dialect, RouteNotFound, lookup
from fitroom.api.fields import (
    ImageRef,
    LenientBool,
    error_class,
    error_response,
    error_responses,
    failure_message,
    parse_body,
    waiting_note,
)
from fitroom.api.responses import JSON
from fitroom.errors import (
    BodyTooLarge,
    DecompressionBomb,
    EngineError,
    FitroomError,
    ImageTooLarge,
    InputError,
    InsufficientCredits,
    InvalidParameter,
    InvalidRequestBody,
    JobNotFound,
    MalformedImage,
    MissingParameter,
    NoFaceFound,
    NoGarmentFound,
    NoPersonFound,
    RateLimited,
    RegionNotVisible,
    ResolutionTooHigh,
    Unauthenticated,
    UnsupportedContentType,
    UnsupportedImageFormat,
)
from fitroom.images.limits import MB, ImageLimits
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.model import JobSpec, JobState, JobView
from fitroom.jobs.service import ImageInput
from fitroom.options import JobKind, OutputFormat, Region, TryOnOptions

# --- errors -------------------------------------------------------------------------------


class PixelcutError(BaseModel):
    error: str
    error_code: str


router = APIRouter(tags=["pixelcut"], responses=error_responses(PixelcutError))

# Pixelcut's error_code for each of our errors (raised, or a failed job's), by class;
# the nearest class in an error's MRO decides. Where the code is the same as ours, the
# error tree was drawn to match Pixelcut's.
_CODES: dict[type[FitroomError], str] = {
    FitroomError: "internal_error",
    # Too small, not an image reference, an unreachable URL: Pixelcut has no code of its
    # own for these, and each is a parameter the client must change.
    InputError: "invalid_parameter",
    InvalidRequestBody: "invalid_request_body",
    MissingParameter: "missing_parameter",
    UnsupportedContentType: "unsupported_content_type",
    MalformedImage: "malformed_image",
    UnsupportedImageFormat: "unsupported_image_format",
    ImageTooLarge: "file_size_too_large",
    BodyTooLarge: "file_size_too_large",
    ResolutionTooHigh: "resolution_too_high",
    DecompressionBomb: "resolution_too_high",
    # "The subject is not in the picture"; other engine failures are ours: internal_error.
    NoPersonFound: "unknown_foreground",
    NoGarmentFound: "unknown_foreground",
    RegionNotVisible: "unknown_foreground",
    NoFaceFound: "unknown_foreground",
}


def pixelcut_code(cls: type[FitroomError] | None) -> str:
    """Pixelcut's ``error_code`` for one of our errors (a raised one or a failed job's)."""
    return lookup(_CODES, cls) or "internal_error"


_INTERNAL = {"error": "Internal service error", "error_code": "internal_error"}


def _client_error(exc: FitroomError) -> Response:
    """A 400 when the client can fix it (Pixelcut has a code for it), else our 500."""
    code = pixelcut_code(type(exc))
    if code == "internal_error":
        return error_response(_INTERNAL, 500)
    return error_response({"error": exc.message, "error_code": code}, 400)


# How each error renders, by class; the nearest class in an error's MRO decides.
_ERRORS: dict[type[Exception], Callable[[Any], Response]] = {
    RouteNotFound: lambda e: error_response({"error": "Not found", "error_code": "not_found"}, e.status_code),
    InputError: _client_error,
    EngineError: _client_error,
    Unauthenticated: lambda e: error_response({"error": e.message, "error_code": "invalid_auth_token"}, 401),
    InsufficientCredits: lambda e: error_response(
        {"error": "Insufficient credits available", "error_code": "insufficient_api_credits"}, 403
    ),
    JobNotFound: lambda e: error_response({"error": "Job not found", "error_code": "not_found"}, 404),
    # Concurrency too: Pixelcut has one 429.
    RateLimited: lambda e: error_response({"error": "Too many requests", "error_code": "rate_limit_exceeded"}, 429, e),
}


def render_error(exc: Exception) -> Response:
    """``{"error": <description>, "error_code": <code>}`` with Pixelcut's statuses."""
    render = lookup(_ERRORS, type(exc))
    return render(exc) if render is not None else error_response(_INTERNAL, 500)


# --- request ------------------------------------------------------------------------------

LIMITS = ImageLimits(max_bytes=25 * MB, min_side=256, max_side=1920, formats=None)

_REGIONS = {"auto": Region.AUTO, "full": Region.FULL, "upper": Region.UPPER, "lower": Region.LOWER}


class PixelcutRequest(BaseModel):
    """The fields of either body. Multipart sends booleans as the strings true/false."""

    person_image_url: ImageRef | None = None
    garment_image_url: ImageRef | None = None
    garment_mode: Literal["auto", "full", "upper", "lower"] = "auto"
    preprocess_garment: LenientBool = True
    remove_background: LenientBool = False
    wait_for_result: LenientBool = True


# The files a multipart body may carry, by the URL field each one replaces.
_FILES = {"person_image": "person_image_url", "garment_image": "garment_image_url"}

M = TypeVar("M", bound=BaseModel)


def _openapi_body(model: type[BaseModel], files: Mapping[str, str]) -> dict[str, Any]:
    fields = model.model_json_schema()
    form = copy.deepcopy(fields)
    for name in files:
        form["properties"][name] = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": fields},
                "multipart/form-data": {"schema": form},
            },
        }
    }


async def read_request(request: Request, model: type[M], files: Mapping[str, str]) -> tuple[M, dict[str, bytes]]:
    """The fields (as ``model``) and the uploaded ``files`` of a JSON or multipart body."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "application/json":
        return parse_body(model, await _json_object(request)), {}
    if media_type == "multipart/form-data":
        return await _form(request, model, files)
    raise UnsupportedContentType(
        "The content type of the request was not application/json or multipart/form-data."
    )


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers malformed JSON and integers longer than Python converts
        # (4,300 digits); RecursionError, arrays or objects nested past the parser's depth.
        raise InvalidRequestBody("The request body is not valid JSON (or is nested too deeply).") from None
    if not isinstance(data, dict):
        raise InvalidRequestBody("The request body must be a JSON object.")
    return data


async def _form(request: Request, model: type[M], file_fields: Mapping[str, str]) -> tuple[M, dict[str, bytes]]:
    try:
        form = await request.form()
    except (HTTPException, MultiPartException):
        # Starlette reports a broken multipart body as an HTTP 400 of its own.
        raise InvalidRequestBody("The multipart body could not be parsed.") from None
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    try:
        for name, value in form.multi_items():
            if name in file_fields:
                if not isinstance(value, UploadFile):
                    raise InvalidParameter(f"{name} must be a file.", field=name)
                # A form whose file input was left empty sends an empty part: no file.
                if data := await value.read():
                    files[name] = data
            elif isinstance(value, str):
                fields[name] = value
    finally:
        await form.close()
    return parse_body(model, fields), files


def job_spec(body: PixelcutRequest) -> JobSpec:
    return JobSpec(
        kind=JobKind.CLOTHING,
        dialect="pixelcut",
        options=TryOnOptions(
            region=_REGIONS[body.garment_mode],
            preprocess_garment=body.preprocess_garment,
            remove_background=body.remove_background,
            output_format=OutputFormat.JPEG,  # Pixelcut's results are always JPEG
        ),
    )


def job_images(body: PixelcutRequest, files: dict[str, bytes]) -> dict[str, ImageInput]:
    """Each image from its file if one came (the file wins), else from its URL."""
    images = {}
    for name, file_field in (("person", "person_image"), ("garment", "garment_image")):
        url_field = _FILES[file_field]
        if file_field in files:
            images[name] = ImageInput(files[file_field], file_field, LIMITS)
        elif (url := getattr(body, url_field)) is not None:
            images[name] = ImageInput(url, url_field, LIMITS)
        else:
            raise MissingParameter(
                f"Missing required parameter: {url_field} or {file_field}", field=url_field
            )
    return images


# --- response -----------------------------------------------------------------------------

_STATUS = {
    JobState.QUEUED: "pending",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELED: "failed",
    JobState.TIMED_OUT: "failed",
}


def failure(view: JobView) -> dict[str, str]:
    """Why a job did not succeed, as ``{"message", "error_code"}``. Timed out, canceled
    and lost jobs have no error class: internal_error, as nothing in them was the
    client's doing."""
    return {
        "message": failure_message(view) or "",
        "error_code": pixelcut_code(error_class(view.error_code)),
    }


def status_body(view: JobView) -> dict:
    body: dict[str, Any] = {"job_id": view.id, "status": _STATUS[view.state]}
    if view.state is JobState.SUCCEEDED:
        body["result_url"] = view.outputs[0].url
    elif view.state.is_final:
        body["error"] = failure(view)
    return waiting_note(body, view)


def _accepted(view: JobView) -> Response:
    return JSON(
        {"job_id": view.id},
        status_code=202,
        headers={"Location": f"/v1/try-on/job/{view.id}"},
    )


def finished_response(view: JobView) -> Response:
    """A job that ended while the client waited. A failure reads as the 400 the client
    would have got had we known at once (unknown_foreground for a person or garment
    the engine could not find), or else as a 500 internal_error."""
    if view.state is JobState.SUCCEEDED:
        return JSON({"result_url": view.outputs[0].url})
    error = failure(view)
    status = 500 if error["error_code"] == "internal_error" else 400
    return error_response({"error": error["message"], "error_code": error["error_code"]}, status)


# --- routes -------------------------------------------------------------------------------


_ACCEPTED_DOC: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Not waited for, or not done in time: poll the Location.",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/v1/try-on",
    openapi_extra=_openapi_body(PixelcutRequest, _FILES),
    response_model=None,
    responses=_ACCEPTED_DOC,
)
async def try_on(
    request: Request,
    key: KeyDep,
    service: ServiceDep,
) -> Response:
    """Try a garment on a person; wait for the result unless told not to."""
    body, files = await read_request(request, PixelcutRequest, _FILES)
    view = await service.submit(key, job_spec(body), job_images(body, files))
    if not body.wait_for_result:
        return _accepted(view)
    view = await service.wait(view.id, key, service.settings.pixelcut_wait_seconds)
    return finished_response(view) if view.state.is_final else _accepted(view)


class RemoveBackgroundRequest(BaseModel):
    """The remove-background fields. ``format`` png keeps transparency; jpg lays the
    cut-out on white."""

    image_url: ImageRef | None = None
    format: Literal["png", "jpg"] = "png"
    crop: LenientBool = False
    margin: Annotated[str, Field(pattern=r"^\s*\d+(\.\d+)?\s*(px|%)?\s*$", max_length=20)] | int = 0


_REMOVE_BACKGROUND_FILES = {"image": "image_url"}


@router.post(
    "/v1/remove-background",
    openapi_extra=_openapi_body(RemoveBackgroundRequest, _REMOVE_BACKGROUND_FILES),
    response_model=None,
    responses=_ACCEPTED_DOC,
)
async def remove_background(
    request: Request,
    key: KeyDep,
    service: ServiceDep,
) -> Response:
    """The subject (a person or a product) cut out; waits for the result."""
    body, files = await read_request(request, RemoveBackgroundRequest, _REMOVE_BACKGROUND_FILES)
    if "image" in files:
        image = ImageInput(files["image"], "image", LIMITS)
    elif body.image_url is not None:
        image = ImageInput(body.image_url, "image_url", LIMITS)
    else:
        raise MissingParameter("Missing required parameter: image_url or image", field="image_url")
    spec = JobSpec(
        kind=JobKind.BACKGROUND_REMOVE,
        dialect="pixelcut",
        options=TryOnOptions(
            output_format=OutputFormat.PNG if body.format == "png" else OutputFormat.JPEG,
            crop=body.crop,
            extras={"margin": str(body.margin)} if body.crop else {},
        ),
    )
    view = await service.submit(key, spec, {"image": image})
    view = await service.wait(view.id, key, service.settings.pixelcut_wait_seconds)
    return finished_response(view) if view.state.is_final else _accepted(view)


def credits_body(key: ApiKey) -> dict[str, Any]:
    """``GET /v1/credits`` as Pixelcut answers it; ``null`` for a key without a limit."""
    return {"credits": key.credits}


@router.get("/v1/try-on/job/{job_id}")
async def job_status(
    job_id: str,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """A job's state; its result URL once completed, its error once failed."""
    return JSON(status_body(await service.get(job_id, key)))


def claims(request: Request) -> bool:
    """``/v1/credits`` is both FASHN's and Pixelcut's: a request that brings its key the
    way Pixelcut's clients do (``X-API-KEY``, no bearer token) is Pixelcut's."""
    return (
        request.url.path == CREDITS_PATH
        and "x-api-key" in request.headers
        and not request.headers.get("authorization", "").lower().startswith("bearer ")
    )


CREDITS_PATH = "/v1/credits"

dialect = Dialect(
    name="pixelcut",
    prefixes=("/v1/try-on", "/v1/remove-background"),
    claims=claims,
    router=router,
    render_error=render_error,
    status_body=status_body,
    limits=LIMITS,
)
