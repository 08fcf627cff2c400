"""Pixazo's glasses try-on (docs/api.md §3). Errors as in r-vton."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from fitroom.api.deps import KeyDep, PollingKeyDep, ServiceDep
from fitroom.api.dialect import Dialect
from fitroom.api.fields import (
    ImageRef,
    JobId,
    failure_message,
    lenient_int_rules,
    waiting_note,
)
from fitroom.api.responses import JSON
from fitroom.api.rvton import PIXAZO_ERRORS, render_pixazo_error
from fitroom.images.limits import MB, ImageLimits
from fitroom.jobs.model import JobSpec, JobState, JobView
from fitroom.jobs.service import ImageInput
from fitroom.options import JobKind, OutputFormat, TryOnOptions

router = APIRouter(tags=["glasses"], responses=PIXAZO_ERRORS)

NumImages = Annotated[int, *lenient_int_rules(1, 4)]

LIMITS = ImageLimits(max_bytes=10 * MB, min_side=300, max_side=None, formats=frozenset({"JPEG", "PNG"}))


class GlassesRequest(BaseModel):
    """The glasses body. Without ``glass_image_path`` the engine uses its built-in pair."""

    model_image_path: ImageRef
    glass_image_path: ImageRef | None = None
    num_images: NumImages = 1
    output_format: Literal["jpeg", "png"] = "jpeg"


def job_spec(body: GlassesRequest) -> JobSpec:
    return JobSpec(
        kind=JobKind.GLASSES,
        dialect="glasses",
        options=TryOnOptions(num_outputs=body.num_images, output_format=OutputFormat(body.output_format)),
    )


def job_images(body: GlassesRequest) -> dict[str, ImageInput]:
    images = {"person": ImageInput(body.model_image_path, "model_image_path", LIMITS)}
    if body.glass_image_path is not None:
        images["glasses"] = ImageInput(body.glass_image_path, "glass_image_path", LIMITS)
    return images


class GlassesPoll(BaseModel):
    request_id: JobId


_STATUS = {
    JobState.QUEUED: "submitted",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELED: "failed",
    JobState.TIMED_OUT: "failed",
}


def status_body(view: JobView) -> dict:
    """The polling body: every image, and the first one's fields at the top level as
    the vendor's example shows them."""
    images = [
        {
            "url": o.url,
            "content_type": o.content_type,
            "file_size": o.size,
            "width": o.width,
            "height": o.height,
        }
        for o in view.outputs
    ]
    first = images[0] if images else {}
    body = {
        "request_id": view.id,
        "status": _STATUS[view.state],
        "image_url": first.get("url"),
        "content_type": first.get("content_type"),
        "file_size": first.get("file_size"),
        "images": images,
        "error": failure_message(view),
    }
    return waiting_note(body, view)


@router.post("/glass-virtual-try-on/v1/api/glass-virtual-tryon")
async def submit(
    body: GlassesRequest,
    key: KeyDep,
    service: ServiceDep,
) -> JSON:
    """Queue a glasses try-on."""
    view = await service.submit(key, job_spec(body), job_images(body))
    return JSON(
        {
            "success": True,
            "request_id": view.id,
            "status": "submitted",
            "message": "Request submitted",
        }
    )


@router.post("/glass-virtual-try-on-polling/api/glass-virtual-tryon-result")
async def poll(
    body: GlassesPoll,
    key: PollingKeyDep,
    service: ServiceDep,
) -> JSON:
    """A job's state and images. Like r-vton's, this Pixazo polling endpoint takes a
    bare id as the capability unless the server requires keys."""
    return JSON(status_body(await service.get(body.request_id, key)))


dialect = Dialect(
    name="glasses",
    prefixes=("/glass-virtual-try-on/", "/glass-virtual-try-on-polling/"),
    router=router,
    render_error=render_pixazo_error,
    status_body=status_body,
    limits=LIMITS,
    keyless_paths=("/glass-virtual-try-on-polling/api/glass-virtual-tryon-result",),
)
