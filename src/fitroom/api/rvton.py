"""Pixazo's clothing try-on, r-vton (API.md section 1; seeds 000 and 003).

Also home of the Pixazo gateway's error bodies, which the glasses and FASHN-via-gateway
dialects share: one fixed sentence per status, as the vendor documents them, plus a
``detail`` with the specific reason and a machine-readable ``code``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.responses import Response

from fitroom.api.deps import get_service, polling_key, require_key
from fitroom.api.dialect import Dialect, RouteNotFound
from fitroom.api.fields import (
    ImageRef,
    JobId,
    LenientBool,
    Seed,
    error_response,
    error_responses,
    failure_message,
    lenient_int,
)
from fitroom.errors import (
    FitroomError,
    InputError,
    InsufficientCredits,
    JobNotFound,
    RateLimited,
    Unauthenticated,
)
from fitroom.images.limits import RVTON
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.model import Effort, JobKind, JobSpec, JobState, JobView, Region, TryOnOptions
from fitroom.jobs.service import ImageInput, TryOnService

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


def render_pixazo_error(exc: Exception) -> Response:
    """An error as the Pixazo gateway answers it: ``{"error": <sentence>}`` with the
    status's fixed sentence, ``detail`` and ``code`` naming what went wrong."""
    if isinstance(exc, RouteNotFound):
        return error_response({"error": NOT_FOUND, "code": "not_found"}, exc.status_code)
    status, sentence = _pixazo_status(exc) if isinstance(exc, FitroomError) else (500, INTERNAL)
    if status == 500:
        # A bug, or a failure of ours: the fixed sentence only, nothing about its cause.
        return error_response({"error": INTERNAL, "code": "internal_error"}, 500)
    body = {"error": sentence, "detail": exc.message, "code": exc.code}
    return error_response(body, status, exc)


def _pixazo_status(exc: FitroomError) -> tuple[int, str]:
    if isinstance(exc, InputError):
        return 400, BAD_REQUEST
    if isinstance(exc, Unauthenticated):
        return 401, UNAUTHORIZED
    if isinstance(exc, InsufficientCredits):
        return 403, FORBIDDEN
    if isinstance(exc, JobNotFound):
        return 404, NOT_FOUND
    if isinstance(exc, RateLimited):  # concurrency included: the gateway has one 429
        return 429, TOO_MANY
    return 500, INTERNAL


# --- request ------------------------------------------------------------------------------

Steps = lenient_int(1, 40)

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
    return {
        "id": view.id,
        "status": _STATUS[view.state],
        "output": view.outputs[0].url if view.outputs else None,
        "error": failure_message(view),
    }


# --- routes -------------------------------------------------------------------------------


@router.post("/virtual-tryon/v1/r-vton")
async def submit(
    body: RvtonRequest,
    key: Annotated[ApiKey, Depends(require_key)],
    service: Annotated[TryOnService, Depends(get_service)],
) -> dict:
    """Queue a clothing try-on; the answer carries the id to poll with."""
    view = await service.submit(
        key,
        job_spec(body),
        {
            "person": ImageInput(body.human_img, "human_img", RVTON),
            "garment": ImageInput(body.garm_img, "garm_img", RVTON),
        },
    )
    return {"id": view.id}


@router.post("/vton-polling/v1/r-vton-get-image")
async def poll(
    body: RvtonPoll,
    key: Annotated[ApiKey | None, Depends(polling_key)],
    service: Annotated[TryOnService, Depends(get_service)],
) -> dict:
    """A job's state and, once succeeded, its result URL. The vendor's examples poll
    without a key, so a valid id alone is enough unless the server requires keys."""
    return status_body(await service.get(body.id, key))


dialect = Dialect(
    name="rvton",
    prefixes=("/virtual-tryon/", "/vton-polling/"),
    router=router,
    render_error=render_pixazo_error,
)
