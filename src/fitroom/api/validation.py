"""Pydantic validation failures as named input errors, so dialects render one thing."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError

from fitroom.errors import (
    InputError,
    InvalidParameter,
    InvalidRequestBody,
    MissingParameter,
)

# Pydantic error types that mean "the body itself is unusable", not one field.
_BODY_ERRORS = {"json_invalid", "model_attributes_type", "dict_type", "model_type"}


def to_input_error(exc: RequestValidationError) -> InputError:
    """The first problem of a validation failure, named and with its field."""
    errors = exc.errors()
    if not errors:
        return InvalidRequestBody("The request body was empty or invalid.")
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    kind = first.get("type", "")
    if kind in _BODY_ERRORS or (kind == "missing" and not loc):
        return InvalidRequestBody("The request body was empty or not a JSON object.")
    if kind == "missing":
        return MissingParameter(f"Missing required parameter: {field}", field=field)
    detail = first.get("msg", "invalid value")
    return InvalidParameter(f"Invalid value for {field}: {detail}", field=field)
