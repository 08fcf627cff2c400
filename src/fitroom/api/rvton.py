"""Pixazo's clothing try-on, r-vton (docs/api.md §2).

Also home of the Pixazo gateway's error bodies, which the glasses and FASHN-via-gateway
dialects share: one fixed sentence per status, as the vendor documents them, plus a
``detail`` with the specific reason and a machine-readable ``code``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from fitroom.api.deps import KeyDep, PollingKeyDep, ServiceDep
from fitroom.api.dialect import Dialect, RouteNotFound, lookup
from fitroom.api.fields import (
    ImageRef,
    JobId,
    LenientBool,
    Seed,
    error_response,
    error_responses,
    failure_message,
    lenient_int_rules,
    waiting_note,
)
from fitroom.api.responses import JSON
from fitroom.errors import (
    FitroomError,
    InputError,
    InsufficientCredits,
    JobNotFound,
    RateLimited,
    Unauthenticated,
)
from fitroom.images.limits import MB, ImageLimits
from fitroom.jobs.model import JobSpec, JobState, JobView
from fitroom.jobs.service import ImageInput
from fitroom.options import Effort, JobKind, Region, TryOnOptions

# --- errors, shared by the three Pixazo dialects ------------------------------------------


class PixazoError(BaseModel):
    error: str  # the status's fixed sentence
    detail: str | None = None  # what exactly was wrong
    code: str  # the same, for programs: one of fitroom.errors' codes


PIXAZO_ERRORS = error_responses(PixazoError)
router = APIRouter(tags=["r-vton"], responses=PIXAZO_ERRORS)

BAD_REQUEST = "Invalid request parameters"
UNAUTHORIZED = "Invalid or missing authentication"
FORBIDDEN = "Access denied for this operation"
NOT_FOUND = "Endpoint not found"
TOO_MANY = "Rate limit exceeded, please retry later"
INTERNAL = "An unexpected error occurred, please try again later"


# Status and fixed sentence by error class; the nearest class in an error's MRO decides.
_PIXAZO_STATUS: dict[type[Exception], tuple[int, str]] = {
    InputError: (400, BAD_REQUEST),
    Unauthenticated: (401, UNAUTHORIZED),
    InsufficientCredits: (403, FORBIDDEN),
    JobNotFound: (404, NOT_FOUND),
    RateLimited: (429, TOO_MANY),  # concurrency included: the gateway has one 429
}


def render_pixazo_error(exc: Exception) -> Response:
    """An error as the Pixazo gateway answers it: ``{"error": <sentence>}`` with the
    status's fixed sentence, ``detail`` and ``code`` naming what went wrong."""
    if isinstance(exc, RouteNotFound):
        return error_response({"error": NOT_FOUND, "code": "not_found"}, exc.status_code)
    found = lookup(_PIXAZO_STATUS, type(exc))
    if found is None or not isinstance(exc, FitroomError):
        # A bug, or a failure of ours: the fixed sentence only, nothing about its cause.
        return error_response({"error": INTERNAL, "code": "internal_error"}, 500)
    status, sentence = found
    body = {"error": sentence, "detail": exc.message, "code": exc.code}
    return error_response(body, status, exc)


# --- request ------------------------------------------------------------------------------

LIMITS = ImageLimits(max_bytes=25 * MB, min_side=256, max_side=4096, formats=None)

Steps = Annotated[int, *lenient_int_rules(1, 40)]

# The category names the garment's region; dresses replace the whole outfit.
_REGIONS = {"upper_body": Region.UPPER, "lower_body": Region.LOWER, "dresses": Region.FULL}


class RvtonRequest(BaseModel):
    """The r-vton body. The vendor types every scalar as a string, so booleans and
    numbers are accepted as JSON values or as their string forms."""

    category: Literal["upper_body", "lower_body", "dresses"] = "upper_body"
    garm_img: ImageRef
    human_img: ImageRef
    crop: LenientBool = False
    seed: Seed = 42
    steps: Steps = 30
    force_dc: LenientBool = False
    mask_only: LenientBool = False
    garment_des: str = ""


def effort_for_steps(steps: int) -> Effort:
    """IDM-VTON's diffusion steps as our effort knob: the vendor's default of 30 is our
    balanced, up to 15 is fast, above 30 (the vendor's maximum is 40) is quality."""
    if steps <= 15:
        return Effort.FAST
    if steps <= 30:
        return Effort.BALANCED
    return Effort.QUALITY


def job_spec(body: RvtonRequest) -> JobSpec:
    return JobSpec(
        kind=JobKind.CLOTHING,
        dialect="rvton",
        options=TryOnOptions(
            region=_REGIONS[body.category],
            effort=effort_for_steps(body.steps),
            seed=body.seed,
            crop=body.crop,
            mask_only=body.mask_only,
            garment_description=body.garment_des,
            # The vendor's own knobs, for engines that understand them; the vendor page
            # says force_dc is on whenever the category is dresses.
            extras={"steps": body.steps, "force_dc": body.force_dc or body.category == "dresses"},
        ),
    )


class RvtonPoll(BaseModel):
    id: JobId


# --- response -----------------------------------------------------------------------------

_STATUS = {
    JobState.QUEUED: "starting",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "succeeded",
    JobState.FAILED: "failed",
    JobState.CANCELED: "canceled",
    JobState.TIMED_OUT: "failed",  # r-vton has no timeout status; the error says so
}


def status_body(view: JobView) -> dict:
    """The polling body: ``output`` is the result URL once succeeded."""
    body = {
        "id": view.id,
        "status": _STATUS[view.state],
        "output": view.outputs[0].url if view.outputs else None,
        "error": failure_message(view),
    }
    return waiting_note(body, view)


# --- routes -------------------------------------------------------------------------------


@router.post("/virtual-tryon/v1/r-vton")
async def submit(
    body: RvtonRequest,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """Queue a clothing try-on; the answer carries the id to poll with."""
    view = await service.submit(
        key,
        job_spec(body),
        {
            "person": ImageInput(body.human_img, "human_img", LIMITS),
            "garment": ImageInput(body.garm_img, "garm_img", LIMITS),
        },
    )
    return JSON({"id": view.id})


@router.post("/vton-polling/v1/r-vton-get-image")
async def poll(
    body: RvtonPoll,
    key: PollingKeyDep,
    service: ServiceDep,
) -> JSON:
    """A job's state and, once succeeded, its result URL. The vendor's examples poll
    without a key, so a valid id alone is enough unless the server requires keys."""
    return JSON(status_body(await service.get(body.id, key)))


dialect = Dialect(
    name="rvton",
    prefixes=("/virtual-tryon/", "/vton-polling/"),
    router=router,
    render_error=render_pixazo_error,
    status_body=status_body,
    limits=LIMITS,
    keyless_paths=("/vton-polling/v1/r-vton-get-image",),
)
