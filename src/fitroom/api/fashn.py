"""FASHN's own API (API.md section 5), as the official ``fashn`` SDK calls it.

The SDK posts ``/v1/run`` with ``Authorization: Bearer`` and ``webhook_url`` as a query
parameter, then polls ``/v1/status/{id}`` until the status leaves starting, in_queue and
processing, reading ``x-fashn-credits-used`` from the final poll. It retries 429s and
5xx unless ``x-should-retry: false`` says not to, which we say when retrying cannot help.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, WithJsonSchema
from starlette.responses import JSONResponse, Response

from fitroom.api.deps import get_service, require_key
from fitroom.api.dialect import Dialect, RouteNotFound
from fitroom.api.fields import (
    ImageRef,
    LenientBool,
    Seed,
    error_class,
    error_response,
    error_responses,
    failure_message,
    lenient_int,
    parse_body,
)
from fitroom.errors import (
    ConcurrencyLimited,
    EngineUnavailable,
    ImageError,
    InputError,
    InsufficientCredits,
    JobNotFound,
    NoGarmentFound,
    NoPersonFound,
    RateLimited,
    RegionNotVisible,
    Unauthenticated,
)
from fitroom.images.limits import FASHN
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.model import (
    Effort,
    JobKind,
    JobSpec,
    JobState,
    JobView,
    OutputFormat,
    PhotoType,
    Region,
    TryOnOptions,
)
from fitroom.jobs.service import ImageInput, TryOnService

CREDITS_HEADER = "x-fashn-credits-used"

# --- errors -------------------------------------------------------------------------------


class FashnError(BaseModel):
    error: str  # BadRequest, UnauthorizedAccess, NotFound, RateLimitExceeded, ...
    message: str


router = APIRouter(tags=["fashn"], responses=error_responses(FashnError))


def render_error(exc: Exception) -> Response:
    """``{"error": <Name>, "message": ...}`` with FASHN's statuses."""
    if isinstance(exc, RouteNotFound):
        return error_response({"error": "NotFound", "message": "Not found"}, exc.status_code)
    if isinstance(exc, InputError):
        return error_response({"error": "BadRequest", "message": exc.message}, 400)
    if isinstance(exc, Unauthenticated):
        return error_response({"error": "UnauthorizedAccess", "message": exc.message}, 401)
    if isinstance(exc, JobNotFound):
        return error_response({"error": "NotFound", "message": exc.message}, 404)
    if isinstance(exc, ConcurrencyLimited):
        body = {"error": "ConcurrencyLimitExceeded", "message": exc.message}
        return error_response(body, 429, exc)
    if isinstance(exc, RateLimited):
        return error_response({"error": "RateLimitExceeded", "message": exc.message}, 429, exc)
    if isinstance(exc, InsufficientCredits):
        # FASHN answers 429, which the SDK would retry; no wait brings credits back,
        # so tell it not to. Retry-After is there because every 429 of ours has one.
        return JSONResponse(
            {"error": "OutOfCredits", "message": exc.message},
            status_code=429,
            headers={"Retry-After": "3600", "x-should-retry": "false"},
        )
    # A bug, or a failure of ours (storage, an engine missing): nothing about its cause.
    body = {"error": "InternalServerError", "message": "An internal error occurred."}
    return error_response(body, 500)


# --- request ------------------------------------------------------------------------------

_REGIONS = {
    "auto": Region.AUTO,
    "tops": Region.UPPER,
    "bottoms": Region.LOWER,
    "one-pieces": Region.FULL,
}
_PHOTO_TYPES = {"auto": PhotoType.AUTO, "flat-lay": PhotoType.FLAT_LAY, "model": PhotoType.WORN}
_EFFORTS = {"performance": Effort.FAST, "balanced": Effort.BALANCED, "quality": Effort.QUALITY}

NumSamples = lenient_int(1, 4)
# Checked here for its form only; the sender applies the image URLs' address rules.
WebhookUrl = Annotated[str, Field(pattern=r"^https?://", max_length=2048)]


class TryOnInputs(BaseModel):
    model_image: ImageRef
    garment_image: ImageRef
    category: Literal["auto", "tops", "bottoms", "one-pieces"] = "auto"
    garment_photo_type: Literal["auto", "flat-lay", "model"] = "auto"
    mode: Literal["performance", "balanced", "quality"] = "balanced"
    moderation_level: Literal["conservative", "permissive", "none"] = "permissive"
    num_samples: NumSamples = 1
    output_format: Literal["png", "jpeg"] = "png"
    return_base64: LenientBool = False
    seed: Seed = 42
    segmentation_free: LenientBool = True


class BackgroundRemoveInputs(BaseModel):
    image: ImageRef
    return_base64: LenientBool = False


_INPUTS: dict[str, type[TryOnInputs | BackgroundRemoveInputs]] = {
    "tryon-v1.6": TryOnInputs,
    "background-remove": BackgroundRemoveInputs,
}


class RunRequest(BaseModel):
    """A run. Its ``inputs`` depend on ``model_name``, so they are validated once the
    model is known: errors then name ``inputs.<field>`` rather than a union branch."""

    model_name: Literal["tryon-v1.6", "background-remove"]
    inputs: Annotated[
        dict[str, Any],
        WithJsonSchema({"anyOf": [m.model_json_schema() for m in _INPUTS.values()]}),
    ]
    webhook_url: WebhookUrl | None = None


def job_request(
    run: RunRequest, webhook_url: str | None
) -> tuple[JobSpec, dict[str, ImageInput]]:
    """The canonical spec and images of a run."""
    inputs = parse_body(_INPUTS[run.model_name], run.inputs, at=("inputs",))
    if isinstance(inputs, BackgroundRemoveInputs):
        spec = JobSpec(
            kind=JobKind.BACKGROUND_REMOVE,
            dialect="fashn",
            # A cut-out is only a cut-out with its transparency.
            options=TryOnOptions(output_format=OutputFormat.PNG),
            return_base64=inputs.return_base64,
            webhook_url=webhook_url,
        )
        return spec, {"image": ImageInput(inputs.image, "image", FASHN)}
    spec = JobSpec(
        kind=JobKind.CLOTHING,
        dialect="fashn",
        options=TryOnOptions(
            region=_REGIONS[inputs.category],
            photo_type=_PHOTO_TYPES[inputs.garment_photo_type],
            effort=_EFFORTS[inputs.mode],
            num_outputs=inputs.num_samples,
            seed=inputs.seed,
            output_format=OutputFormat(inputs.output_format),
            extras={
                "moderation_level": inputs.moderation_level,
                "segmentation_free": inputs.segmentation_free,
            },
        ),
        return_base64=inputs.return_base64,
        webhook_url=webhook_url,
    )
    images = {
        "person": ImageInput(inputs.model_image, "model_image", FASHN),
        "garment": ImageInput(inputs.garment_image, "garment_image", FASHN),
    }
    return spec, images


# --- response -----------------------------------------------------------------------------

_STATUS = {
    JobState.QUEUED: "in_queue",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELED: "canceled",
    JobState.TIMED_OUT: "time_out",
}


def error_name(view: JobView) -> str:
    """FASHN's error name for why a job did not succeed."""
    if view.state is JobState.TIMED_OUT:
        return "PollingTimeout"
    if view.state is JobState.CANCELED:
        return "PipelineError"
    cls = error_class(view.error_code)
    if cls is None or issubclass(cls, EngineUnavailable):
        return "InternalServerError"  # worker_lost, internal_error, a missing engine
    if issubclass(cls, ImageError):
        return "ImageLoadError"
    if issubclass(cls, NoPersonFound | NoGarmentFound | RegionNotVisible):
        return "PoseError"
    if issubclass(cls, InputError):
        return "InputValidationError"
    return "PipelineError"


def status_body(view: JobView) -> dict:
    """The ``/v1/status/{id}`` body; also what a webhook receives when the job ends."""
    message = failure_message(view)
    error = {"name": error_name(view), "message": message} if message is not None else None
    return {
        "id": view.id,
        "status": _STATUS[view.state],
        "output": [o.url for o in view.outputs] if view.state is JobState.SUCCEEDED else None,
        "error": error,
    }


def credits_used(view: JobView) -> int:
    """Credits the job costs its key: charged at submit, refunded unless it succeeds."""
    if view.state.is_final and view.state is not JobState.SUCCEEDED:
        return 0
    return view.spec.cost


# --- routes -------------------------------------------------------------------------------


@router.post("/v1/run")
async def run(
    body: RunRequest,
    key: Annotated[ApiKey, Depends(require_key)],
    service: Annotated[TryOnService, Depends(get_service)],
    webhook_url: Annotated[WebhookUrl | None, Query()] = None,
) -> JSONResponse:
    """Start a prediction. The SDK sends ``webhook_url`` in the query; the body's works too."""
    spec, images = job_request(body, body.webhook_url or webhook_url)
    view = await service.submit(key, spec, images)
    return JSONResponse(
        {"id": view.id, "error": None}, headers={CREDITS_HEADER: str(credits_used(view))}
    )


@router.get("/v1/status/{id}")
async def status(
    id: str,
    key: Annotated[ApiKey, Depends(require_key)],
    service: Annotated[TryOnService, Depends(get_service)],
) -> JSONResponse:
    """A prediction's status; its outputs once completed, its error once it failed."""
    view = await service.get(id, key)
    headers = {CREDITS_HEADER: str(credits_used(view))} if view.state.is_final else None
    return JSONResponse(status_body(view), headers=headers)


dialect = Dialect(
    name="fashn",
    prefixes=("/v1/",),
    router=router,
    render_error=render_error,
)
