"""FASHN's own API (docs/api.md §6), as the official ``fashn`` SDK calls it.

The SDK posts ``/v1/run`` with ``Authorization: Bearer`` and ``webhook_url`` as a query
parameter, then polls ``/v1/status/{id}`` until the status leaves starting, in_queue and
processing, reading ``x-fashn-credits-used`` from the final poll. It retries 429s and
5xx unless ``x-should-retry: false`` says not to, which we say when retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response

from fitroom.api import pixelcut
from fitroom.api.deps import KeyDep, ServiceDep
from fitroom.api.dialect import Dialect, RouteNotFound, lookup
from fitroom.api.fields import (
    ImageRef,
    LenientBool,
    Seed,
    error_class,
    error_response,
    error_responses,
    failure_message,
    lenient_int_rules,
    parse_body,
    waiting_note,
)
from fitroom.api.responses import JSON
from fitroom.errors import (
    ConcurrencyLimited,
    EngineUnavailable,
    FitroomError,
    ImageError,
    InputError,
    InsufficientCredits,
    InvalidParameter,
    JobNotFound,
    NoGarmentFound,
    NoPersonFound,
    RateLimited,
    RegionNotVisible,
    Unauthenticated,
)
from fitroom.images.limits import MB, ImageLimits
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.model import JobSpec, JobState, JobView
from fitroom.jobs.service import ImageInput
from fitroom.options import (
    Effort,
    JobKind,
    OutputFormat,
    PhotoType,
    Region,
    TryOnOptions,
)

CREDITS_HEADER = "x-fashn-credits-used"
LIMITS = ImageLimits(max_bytes=25 * MB, min_side=256, max_side=4096, formats=None)

# --- errors -------------------------------------------------------------------------------


class FashnError(BaseModel):
    error: str  # BadRequest, UnauthorizedAccess, NotFound, RateLimitExceeded, ...
    message: str


router = APIRouter(tags=["fashn"], responses=error_responses(FashnError))


def _out_of_credits(exc: InsufficientCredits) -> Response:
    # FASHN answers 429, which the SDK would retry; no wait brings credits back, so tell
    # it not to. Retry-After is there because every 429 of ours has one.
    return JSON(
        {"error": "OutOfCredits", "message": exc.message},
        status_code=429,
        headers={"Retry-After": "3600", "x-should-retry": "false"},
    )


# How each error renders, by class; the nearest class in an error's MRO decides.
_ERRORS: dict[type[Exception], Callable[[Any], Response]] = {
    RouteNotFound: lambda e: error_response({"error": "NotFound", "message": "Not found"}, e.status_code),
    InputError: lambda e: error_response({"error": "BadRequest", "message": e.message}, 400),
    Unauthenticated: lambda e: error_response({"error": "UnauthorizedAccess", "message": e.message}, 401),
    JobNotFound: lambda e: error_response({"error": "NotFound", "message": e.message}, 404),
    RateLimited: lambda e: error_response({"error": "RateLimitExceeded", "message": e.message}, 429, e),
    ConcurrencyLimited: lambda e: error_response(
        {"error": "ConcurrencyLimitExceeded", "message": e.message}, 429, e
    ),
    InsufficientCredits: _out_of_credits,
}


def render_error(exc: Exception) -> Response:
    """``{"error": <Name>, "message": ...}`` with FASHN's statuses."""
    render = lookup(_ERRORS, type(exc))
    if render is None:
        # A bug, or a failure of ours (storage, an engine missing): nothing about its cause.
        return error_response({"error": "InternalServerError", "message": "An internal error occurred."}, 500)
    return render(exc)


# --- request ------------------------------------------------------------------------------

_REGIONS = {
    "auto": Region.AUTO,
    "tops": Region.UPPER,
    "bottoms": Region.LOWER,
    "one-pieces": Region.FULL,
}
_PHOTO_TYPES = {"auto": PhotoType.AUTO, "flat-lay": PhotoType.FLAT_LAY, "model": PhotoType.WORN}
_EFFORTS = {"performance": Effort.FAST, "balanced": Effort.BALANCED, "quality": Effort.QUALITY}

NumSamples = Annotated[int, *lenient_int_rules(1, 4)]
AspectRatio = Annotated[str, Field(pattern=r"^\d{1,3}:\d{1,3}$", examples=["4:5"])]
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


class TryOnMaxInputs(BaseModel):
    """``tryon-max``: the same try-on engines; what they cannot honour (a prompt, a
    resolution above the photo's, another aspect ratio) is reported as not applied."""

    model_image: ImageRef
    product_image: ImageRef
    prompt: str = ""
    resolution: Literal["1k", "2k", "4k"] = "1k"
    aspect_ratio: AspectRatio | None = None
    generation_mode: Literal["balanced", "quality"] = "balanced"
    num_images: NumSamples = 1
    seed: Seed = 42
    output_format: Literal["png", "jpeg"] = "png"
    return_base64: LenientBool = False


class BackgroundRemoveInputs(BaseModel):
    image: ImageRef
    return_base64: LenientBool = False


class ReframeInputs(BaseModel):
    """``reframe``: a crop to ``aspect_ratio`` keeping the person whole (CPU, crop only)."""

    image: ImageRef
    aspect_ratio: AspectRatio
    output_format: Literal["png", "jpeg"] = "png"
    return_base64: LenientBool = False


Inputs = TryOnInputs | TryOnMaxInputs | BackgroundRemoveInputs | ReframeInputs
_INPUTS: dict[str, type[Inputs]] = {
    "tryon-v1.6": TryOnInputs,
    "tryon-max": TryOnMaxInputs,
    "background-remove": BackgroundRemoveInputs,
    "reframe": ReframeInputs,
}
# FASHN's other documented models: named so that the refusal can say what is offered.
_NOT_OFFERED = (
    "product-to-model",
    "face-to-model",
    "model-create",
    "model-swap",
    "background-change",
    "image-to-video",
    "edit",
    "packshot",
)
_OFFERED = ", ".join(_INPUTS)


class RunRequest(BaseModel):
    """A run. Its ``inputs`` depend on ``model_name``, so they are validated once the
    model is known: errors then name ``inputs.<field>`` rather than a union branch."""

    model_name: Annotated[str, Field(min_length=1, max_length=100, json_schema_extra={"enum": list(_INPUTS)})]
    inputs: Annotated[
        dict[str, Any],
        WithJsonSchema({"anyOf": [m.model_json_schema() for m in _INPUTS.values()]}),
    ]
    webhook_url: WebhookUrl | None = None


def _model_inputs(run: RunRequest) -> Inputs:
    model = _INPUTS.get(run.model_name)
    if model is None:
        known = "one of FASHN's models that this server does not offer" if run.model_name in _NOT_OFFERED else (
            "not a FASHN model"
        )
        raise InvalidParameter(
            f"model_name {run.model_name!r} is {known}; this server offers {_OFFERED}.", field="model_name"
        )
    return parse_body(model, run.inputs, at=("inputs",))


def job_request(run: RunRequest, webhook_url: str | None) -> tuple[JobSpec, dict[str, ImageInput]]:
    """The canonical spec and images of a run."""
    inputs = _model_inputs(run)
    common: dict[str, Any] = {"dialect": "fashn", "return_base64": inputs.return_base64, "webhook_url": webhook_url}
    if isinstance(inputs, BackgroundRemoveInputs):
        # A cut-out is only a cut-out with its transparency.
        spec = JobSpec(kind=JobKind.BACKGROUND_REMOVE, options=TryOnOptions(output_format=OutputFormat.PNG), **common)
        return spec, {"image": ImageInput(inputs.image, "image", LIMITS)}
    if isinstance(inputs, ReframeInputs):
        options = TryOnOptions(
            output_format=OutputFormat(inputs.output_format), extras={"aspect_ratio": inputs.aspect_ratio}
        )
        return JobSpec(kind=JobKind.REFRAME, options=options, **common), {
            "image": ImageInput(inputs.image, "image", LIMITS)
        }
    if isinstance(inputs, TryOnMaxInputs):
        extras: dict[str, Any] = {"resolution": inputs.resolution}
        if inputs.prompt:
            extras["prompt"] = inputs.prompt
        if inputs.aspect_ratio is not None:
            extras["aspect_ratio"] = inputs.aspect_ratio
        options = TryOnOptions(
            effort=Effort.QUALITY if inputs.generation_mode == "quality" else Effort.BALANCED,
            num_outputs=inputs.num_images,
            seed=inputs.seed,
            output_format=OutputFormat(inputs.output_format),
            extras=extras,
        )
        return JobSpec(kind=JobKind.CLOTHING, options=options, **common), {
            "person": ImageInput(inputs.model_image, "model_image", LIMITS),
            "garment": ImageInput(inputs.product_image, "product_image", LIMITS),
        }
    spec = JobSpec(
        kind=JobKind.CLOTHING,
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
        **common,
    )
    images = {
        "person": ImageInput(inputs.model_image, "model_image", LIMITS),
        "garment": ImageInput(inputs.garment_image, "garment_image", LIMITS),
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


# FASHN's error name for a failure, by the stored error's class (nearest in its MRO).
_FAILURE_NAMES: dict[type[FitroomError], str] = {
    FitroomError: "PipelineError",
    EngineUnavailable: "InternalServerError",
    ImageError: "ImageLoadError",
    NoPersonFound: "PoseError",
    NoGarmentFound: "PoseError",
    RegionNotVisible: "PoseError",
    InputError: "InputValidationError",
}


def error_name(view: JobView) -> str:
    """FASHN's error name for why a job did not succeed."""
    if view.state is JobState.TIMED_OUT:
        return "PollingTimeout"
    if view.state is JobState.CANCELED:
        return "PipelineError"
    # No class: worker_lost, internal_error and the like, all ours.
    return lookup(_FAILURE_NAMES, error_class(view.error_code)) or "InternalServerError"


def status_body(view: JobView) -> dict:
    """The ``/v1/status/{id}`` body; also what a webhook receives when the job ends."""
    message = failure_message(view)
    error = {"name": error_name(view), "message": message} if message is not None else None
    body = {
        "id": view.id,
        "status": _STATUS[view.state],
        "output": [o.url for o in view.outputs] if view.state is JobState.SUCCEEDED else None,
        "error": error,
    }
    return waiting_note(body, view)


def credits_used(view: JobView) -> int:
    """Credits the job costs its key: charged at submit, refunded unless it succeeds."""
    if view.state.is_final and view.state is not JobState.SUCCEEDED:
        return 0
    return view.spec.cost


# --- routes -------------------------------------------------------------------------------


@router.post("/v1/run")
async def run(
    body: RunRequest,
    key: KeyDep,
    service: ServiceDep,
    webhook_url: Annotated[WebhookUrl | None, Query()] = None,
) -> JSON:
    """Start a prediction. The SDK sends ``webhook_url`` in the query; the body's works too."""
    spec, images = job_request(body, body.webhook_url or webhook_url)
    view = await service.submit(key, spec, images)
    return JSON(
        {"id": view.id, "error": None}, headers={CREDITS_HEADER: str(credits_used(view))}
    )


@router.get("/v1/status/{id}")
async def status(
    id: str,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """A prediction's status; its outputs once completed, its error once it failed."""
    view = await service.get(id, key)
    headers = {CREDITS_HEADER: str(credits_used(view))} if view.state.is_final else None
    return JSON(status_body(view), headers=headers)


@router.get("/v1/credits")
async def credits(
    request: Request,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """The calling key's balance. The path is Pixelcut's too: a request that brings its
    key as Pixelcut's clients do gets Pixelcut's body (docs/api.md §5.4, §6.5)."""
    await service.check_rate(key, "credits")
    if pixelcut.claims(request):
        return JSON(pixelcut.credits_body(key))
    return JSON(credits_body(key))


def credits_body(key: ApiKey) -> dict[str, Any]:
    """FASHN's credits body: all of a key's balance is "on demand" here (no
    subscriptions); ``null`` for a key without a limit."""
    return {"credits": {"total": key.credits, "subscription": 0, "on_demand": key.credits}}


dialect = Dialect(
    name="fashn",
    prefixes=("/v1/",),
    router=router,
    render_error=render_error,
    status_body=status_body,
    limits=LIMITS,
    webhook_body=status_body,  # a FASHN webhook carries the final status body
)
