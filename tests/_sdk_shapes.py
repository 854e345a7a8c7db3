"""Walk a JSON value against an installed SDK's pydantic type, generically.

``missing_fields(value, annotation)`` names every field the SDK's type (and
the types nested in it) declares that ``value`` does not send, as
``"openai:Response.top_logprobs"``. Unions are resolved by their ``type``
literal when the value has one, else by the member with the fewest missing
required fields; ``Annotated``, ``Optional``, ``List`` and ``Dict`` are
looked through. Nothing is hard-coded about any one type, so a field a new
SDK release adds shows up here at once.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel


def members(tp: Any) -> list[Any]:
    """The alternatives of a type: a Union's members, Annotated/Optional unwrapped."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in members(a)]
    return [tp]


def type_literals(cls: type[BaseModel]) -> set[Any]:
    """The values a model's ``type`` field may take (empty: no ``type`` literal)."""
    f = cls.model_fields.get("type")
    if f is None:
        return set()
    return {
        a
        for m in members(f.annotation)
        if typing.get_origin(m) is typing.Literal
        for a in typing.get_args(m)
    }


def model_for(value: dict[str, Any], tp: Any) -> type[BaseModel] | None:
    """The union member (or model) ``value`` is an instance of."""
    models = [m for m in members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    if not models:
        return None
    if "type" in value:
        typed = [m for m in models if value["type"] in type_literals(m)]
        models = typed or [m for m in models if not type_literals(m)]
        if not models:  # a variant this union does not type: nothing declared to compare
            return None

    def absent(m: type[BaseModel]) -> int:
        return sum(
            1 for n, f in m.model_fields.items() if f.is_required() and (f.alias or n) not in value
        )

    return min(models, key=absent)


def missing_fields(
    value: Any, tp: Any, out: set[str] | None = None, declared: set[str] | None = None
) -> set[str]:
    """Fields declared by ``tp`` (recursively) that ``value`` lacks; ``declared`` collects all seen."""
    out = set() if out is None else out
    if value is None:
        return out
    if isinstance(value, dict) and (cls := model_for(value, tp)) is not None:
        for name, f in cls.model_fields.items():
            key = f.alias or name
            field_id = f"{cls.__module__.split('.')[0]}:{cls.__name__}.{name}"
            if declared is not None:
                declared.add(field_id)
            if key not in value:
                out.add(field_id)
            else:
                missing_fields(value[key], f.annotation, out, declared)
        return out
    for m in members(tp):
        origin, args = typing.get_origin(m), typing.get_args(m)
        if origin is list and isinstance(value, list) and args:
            for item in value:
                missing_fields(item, args[0], out, declared)
            return out
        if origin is dict and isinstance(value, dict) and len(args) == 2:
            for item in value.values():
                missing_fields(item, args[1], out, declared)
            return out
    return out
