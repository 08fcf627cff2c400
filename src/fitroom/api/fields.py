"""Translation helpers shared by the dialects.

Field types that accept what the vendors' clients really send (the Pixazo pages type
booleans and numbers as strings, Pixelcut's multipart forms can only send strings); the
validation of a body that a route reads itself; the lookup from a failed job's stored
error code back to its class, so that each dialect maps failures by the error tree
rather than by lists of strings; and the pieces every error body is built from.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, WithJsonSchema
from starlette.responses import Response

from fitroom.api.responses import JSON
from fitroom.api.validation import to_input_error
from fitroom.errors import FitroomError, RateLimited
from fitroom.jobs.model import JobState, JobView

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def _lenient_bool(value: Any) -> Any:
    # Only the spellings a client plausibly sends; a ValueError becomes a validation
    # error naming the field.
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    return value


# A boolean sent as a JSON boolean or as the string "true"/"false".
LenientBool = Annotated[
    bool,
    BeforeValidator(_lenient_bool),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}),
]


def _lenient_int(value: Any) -> Any:
    # JSON integers (40 or 40.0) and decimal strings such as "40"; not booleans: a
    # client sending true for a step count has a bug worth reporting.
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.lstrip("-").isdigit():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(stripped)
    return value


def lenient_int_rules(ge: int, le: int) -> tuple[Any, ...]:
    """The ``Annotated`` metadata of an integer in ``[ge, le]``, sent as a JSON number or
    a decimal string. Spelled out where a type is named, so that type checkers see an
    ``int``: ``Steps = Annotated[int, *lenient_int_rules(1, 40)]``."""
    return (
        BeforeValidator(_lenient_int),
        Field(ge=ge, le=le),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": ge, "maximum": le},
                    {"type": "string", "pattern": r"^-?[0-9]+$"},
                ]
            }
        ),
    )


def lenient_int(ge: int, le: int) -> Any:
    """An integer in ``[ge, le]``, sent as a JSON number or a decimal string, built at
    run time; a type checker cannot read the result as a type, so module-level aliases
    spell it out with ``lenient_int_rules``."""
    return Annotated[int, *lenient_int_rules(ge, le)]


# The seed every vendor that has one accepts: an unsigned 32-bit integer.
Seed = Annotated[int, *lenient_int_rules(0, 2**32 - 1)]

# An image field: a URL, raw base64 or a data URI. Which one is decided by the loader.
ImageRef = Annotated[str, Field(min_length=1, description="http(s) URL, base64, or data URI")]

# An id a client polls with. Validated only as text: an unknown id is the dialect's 404.
JobId = Annotated[str, Field(min_length=1, max_length=200)]


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], data: Any, *, at: tuple[str, ...] = ()) -> M:
    """``data`` validated as ``model``, with failures raised as the same named input
    errors FastAPI's own body validation produces, for a body (or a part of one, found
    at ``at``) that a route validates itself."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": (*at, *e["loc"])} for e in exc.errors()]
        raise to_input_error(RequestValidationError(errors)) from None


@cache
def _codes() -> dict[str, type[FitroomError]]:
    found: dict[str, type[FitroomError]] = {}
    pending: list[type[FitroomError]] = [FitroomError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_class(code: str | None) -> type[FitroomError] | None:
    """The error class whose ``code`` a failed job stored, or None for the job-level
    codes that have no class (``timed_out``, ``canceled``, ``worker_lost``,
    ``internal_error``). Dialects map failures through the error tree with it."""
    return _codes().get(code or "")


def failure_message(view: JobView) -> str | None:
    """Why a job did not succeed (failed, canceled or timed out); None for the others."""
    if view.state is JobState.SUCCEEDED or not view.state.is_final:
        return None
    default = {
        JobState.TIMED_OUT: "The job timed out.",
        JobState.CANCELED: "The job was canceled.",
    }.get(view.state, "The job failed.")
    return view.error_message or default


def waiting_note(body: dict[str, Any], view: JobView) -> dict[str, Any]:
    """``body`` plus, for a queued job no running worker can start, a ``waiting`` field
    saying so (an extra field: clients of every vendor ignore fields they do not know)."""
    if view.waiting is not None:
        body["waiting"] = view.waiting
    return body


def error_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a dialect's router: its error body for every 4xx and
    5xx, in place of FastAPI's 422, which this server never sends."""
    return {
        "4XX": {"model": model, "description": "The request was refused."},
        "5XX": {"model": model, "description": "An internal error; no internals disclosed."},
    }


def error_response(
    body: dict[str, Any], status_code: int, exc: Exception | None = None
) -> Response:
    """A JSON error; a ``RateLimited`` error adds the ``Retry-After`` it carries."""
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return JSON(body, status_code=status_code, headers=headers)
