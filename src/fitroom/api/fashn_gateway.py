"""FASHN v1.6 as the Pixazo gateway serves it (docs/api.md §4).

The gateway renames FASHN's fields and values (``top`` not ``tops``, ``high_quality``
not ``quality``) and reports upper-snake-case statuses; HTTP errors are the gateway's,
as in r-vton.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from fitroom.api.deps import KeyDep, ServiceDep
from fitroom.api.dialect import Dialect, lookup
from fitroom.api.fashn import LIMITS
from fitroom.api.fields import (
    ImageRef,
    JobId,
    LenientBool,
    error_class,
    failure_message,
    lenient_int_rules,
    waiting_note,
)
from fitroom.api.responses import JSON
from fitroom.api.rvton import PIXAZO_ERRORS, render_pixazo_error
from fitroom.errors import (
    FitroomError,
    ImageError,
    ImageFetchError,
    InvalidImageReference,
    NoGarmentFound,
    NoPersonFound,
    RegionNotVisible,
)
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

router = APIRouter(tags=["fashn-gateway"], responses=PIXAZO_ERRORS)

_REGIONS = {
    "auto": Region.AUTO,
    "top": Region.UPPER,
    "bottom": Region.LOWER,
    "dress": Region.FULL,
    "outerwear": Region.OUTERWEAR,
}
_EFFORTS = {"fast": Effort.FAST, "balanced": Effort.BALANCED, "high_quality": Effort.QUALITY}
_MODES = {effort: mode for mode, effort in _EFFORTS.items()}
_PHOTO_TYPES = {"auto": PhotoType.AUTO, "on_model": PhotoType.WORN, "flat_lay": PhotoType.FLAT_LAY}

NumSamples = Annotated[int, *lenient_int_rules(1, 5)]


class GatewayRequest(BaseModel):
    model_image: ImageRef
    garment_image: ImageRef
    category: Literal["auto", "top", "bottom", "dress", "outerwear"] = "auto"
    mode: Literal["fast", "balanced", "high_quality"] = "balanced"
    garment_photo_type: Literal["auto", "on_model", "flat_lay"] = "auto"
    moderation_level: Literal["strict", "moderate", "permissive"] = "permissive"
    num_samples: NumSamples = 1
    segmentation_free: LenientBool = True
    output_format: Literal["png", "jpeg"] = "png"


def job_spec(body: GatewayRequest) -> JobSpec:
    return JobSpec(
        kind=JobKind.CLOTHING,
        dialect="fashn_gateway",
        options=TryOnOptions(
            region=_REGIONS[body.category],
            photo_type=_PHOTO_TYPES[body.garment_photo_type],
            effort=_EFFORTS[body.mode],
            num_outputs=body.num_samples,
            output_format=OutputFormat(body.output_format),
            extras={
                "moderation_level": body.moderation_level,
                "segmentation_free": body.segmentation_free,
            },
        ),
    )


class GatewayPoll(BaseModel):
    request_id: JobId


# The gateway's code for a failure, by the stored error's class (nearest in its MRO).
_FAILURE_CODES: dict[type[FitroomError], str] = {
    ImageFetchError: "INVALID_IMAGE_URI",
    InvalidImageReference: "INVALID_IMAGE_URI",
    ImageError: "IMAGE_LOAD_ERROR",
    NoPersonFound: "POSE_ERROR",  # no body...
    RegionNotVisible: "POSE_ERROR",  # ...or not the part of it the garment needs
    NoGarmentFound: "GARMENT_NOT_FOUND",
}


def error_code(view: JobView) -> str:
    """The gateway's upper-snake-case code for why a job did not succeed."""
    if view.state is JobState.CANCELED:
        return "CANCELED"
    if view.state is JobState.TIMED_OUT:
        return "TIMEOUT"
    return lookup(_FAILURE_CODES, error_class(view.error_code)) or "INTERNAL_ERROR"


def status_body(view: JobView) -> dict:
    """The result body for each of the gateway's four statuses."""
    base = {"request_id": view.id}
    eta = round(view.eta_seconds) if view.eta_seconds is not None else None
    if view.state is JobState.QUEUED:
        queued = base | {
            "status": "IN_QUEUE",
            "queue_position": view.queue_position,
            "estimated_time_remaining_seconds": eta,
        }
        return waiting_note(queued, view)
    if view.state is JobState.RUNNING:
        return base | {"status": "IN_PROGRESS", "estimated_time_remaining_seconds": eta}
    if view.state is JobState.SUCCEEDED:
        options = view.spec.options
        seconds = view.processing_seconds
        return base | {
            "status": "COMPLETED",
            "images": [
                {"url": o.url, "width": o.width, "height": o.height, "content_type": o.content_type}
                for o in view.outputs
            ],
            "metadata": {
                "mode": _MODES[options.effort],
                "num_samples": options.num_outputs,
                "output_format": options.output_format.value,
                "processing_time_seconds": round(seconds, 2) if seconds is not None else None,
            },
        }
    return base | {
        "status": "FAILED",
        "error_code": error_code(view),
        "error_message": failure_message(view),
    }


# The gateway's pages show its FASHN paths with and without the -917 suffix: both work.
PREFIXES = ("/fashn-virtual-try-on-917", "/fashn-virtual-try-on")


@router.post(f"{PREFIXES[0]}/v1/fashn-virtual-try-on-request")
@router.post(f"{PREFIXES[1]}/v1/fashn-virtual-try-on-request")
async def submit(
    body: GatewayRequest,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """Queue a FASHN try-on."""
    view = await service.submit(
        key,
        job_spec(body),
        {
            "person": ImageInput(body.model_image, "model_image", LIMITS),
            "garment": ImageInput(body.garment_image, "garment_image", LIMITS),
        },
    )
    return JSON({"status": "IN_QUEUE", "request_id": view.id})


@router.post(f"{PREFIXES[0]}/v1/fashn-virtual-try-on-request-result")
@router.post(f"{PREFIXES[1]}/v1/fashn-virtual-try-on-request-result")
async def poll(
    body: GatewayPoll,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """A job's state; its images and metadata once completed."""
    return JSON(status_body(await service.get(body.request_id, key)))


dialect = Dialect(
    name="fashn_gateway",
    prefixes=tuple(f"{prefix}/" for prefix in PREFIXES),
    router=router,
    render_error=render_pixazo_error,
    status_body=status_body,
    limits=LIMITS,
)
