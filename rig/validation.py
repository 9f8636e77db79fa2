"""Validated configuration files: YAML in, pydantic models out, errors as ConfigError.

Every model that reads a user's file sets ``extra="forbid"``, so an unknown key is an error.
:func:`validate` turns pydantic's errors into one :class:`rig.errors.ConfigError` that names
the file, the key as a dotted path (``sensors[2].site.lat_deg``) and what was expected.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rig.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
#: the largest config or scenario file read (the built-in ones are a few kB)
MAX_YAML_BYTES = 1 << 20


def key_path(loc) -> str:
    """``("sensors", 2, "site", "lat_deg")`` -> ``"sensors[2].site.lat_deg"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _nested_model(annotation) -> type[BaseModel] | None:
    """The model inside a field's type (``X``, ``list[X]``, ``X | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _model_fields_at(model: type[BaseModel], loc) -> list[str]:
    """Field names of the (sub)model that holds the key at ``loc``, where they can be found."""
    current = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        current = _nested_model(field.annotation) if field is not None else None
        if current is None:
            return []
    return list(current.model_fields)


_NUMBER_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal",
                  "finite_number"}


def _expectation(model: type[BaseModel], error: dict) -> tuple[str, str | None]:
    """(message, expected) for one pydantic error."""
    kind = error["type"]
    value = error.get("input")
    msg = error["msg"]
    if kind == "extra_forbidden":
        fields = _model_fields_at(model, error["loc"])
        return "unknown key", ("one of " + ", ".join(fields)) if fields else "no such key"
    if kind == "missing":
        return "missing", "this key to be given"
    if kind == "value_error":
        return msg.removeprefix("Value error, "), None
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    expected = (msg[0].lower() + msg[1:]).removeprefix("input should be ")
    if kind in _NUMBER_BOUNDS:
        expected = "a number " + expected
    return f"is {shown}", expected


def non_finite_number(data) -> tuple[tuple, float] | None:
    """(where, value) of the first NaN or infinity anywhere in parsed YAML ``data``; a
    mapping or list that YAML aliases several times is looked at once."""
    seen = set()
    todo = [((), data)]
    while todo:
        loc, value = todo.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return loc, value
        if isinstance(value, (dict, list)) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            todo.extend(reversed([((*loc, k), v) for k, v in items]))
    return None


def validate(model: type[M], data, *, file: str | Path | None = None, prefix=()) -> M:
    """``model.model_validate(data)``, its first error raised as ConfigError. No number in a
    config may be NaN or infinite (``.inf`` would make a window, a period or a count without
    end)."""
    found = non_finite_number(data)
    if found is not None:
        loc, value = found
        raise ConfigError(f"is {value}", file=str(file) if file else None,
                          key=key_path((*prefix, *loc)) or None, expected="a finite number")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        message, expected = _expectation(model, error)
        more = e.error_count() - 1
        if more:
            message += f"; {more} more problem{'s' if more > 1 else ''} after this one"
        raise ConfigError(message, file=str(file) if file else None,
                          key=key_path((*prefix, *error["loc"])) or None,
                          expected=expected) from e


def load_yaml(path: str | Path):
    """The parsed content of a YAML file; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            raise ConfigError("not a regular file", file=str(path), expected="a YAML file")
        size = path.stat().st_size if path.exists() else 0
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"is {size:,} bytes", file=str(path),
                              expected=f"a config of at most {MAX_YAML_BYTES:,} bytes")
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path), expected="a YAML file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read: {e}", file=str(path)) from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(e, 'problem', e)}",
                          file=str(path)) from e

