"""A Prefect flow whose parameters are plain JSON values, sent to the API as they are.

Prefect serializes a flow run's parameters with FastAPI's `jsonable_encoder`; importing it builds
FastAPI's OpenAPI models, about 0.3 s of CPU in every process that runs a flow with parameters (an
all-304 pass costs little more than that). Strings, numbers, booleans and None need no encoder;
any other value still goes through Prefect's.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import Flow

JSON_SCALARS = (str, int, float, bool, type(None))


class PlainParameterFlow(Flow):
    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(type(value) in JSON_SCALARS for value in parameters.values()):
            return dict(parameters)
        return super().serialize_parameters(parameters)


def plain_flow(**options: Any) -> Callable[[Callable[..., Any]], PlainParameterFlow]:
    """Like `@prefect.flow(...)`, for a flow called with JSON scalars."""
    return lambda fn: PlainParameterFlow(fn=fn, **options)
