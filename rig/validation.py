"""Validated configuration files: YAML in, pydantic models out, errors as ConfigError.

Every model that reads a user's file sets ``extra="forbid"``, so an unknown key is an error.
:func:`validate` turns all of pydantic's errors into one :class:`rig.errors.ConfigError`, a
:class:`rig.errors.Problem` each, naming the file, the key as a dotted path
(``sensors[2].site.lat_deg``), the line and column where the YAML writes it (data read by
:func:`read_yaml`), what was expected and, for an unknown key close to a known one, which
key was meant.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rig.errors import ConfigError, Problem

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


_KEY_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def parse_key_path(text: str) -> tuple:
    """``"sensors[2].site.lat_deg"`` -> ``("sensors", 2, "site", "lat_deg")``."""
    return tuple(int(index) if index else name for index, name in _KEY_PART.findall(text))


def did_you_mean(word, choices) -> str | None:
    """The one of ``choices`` closest to ``word``, if one is close."""
    found = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return found[0] if found else None


class KeyMarks:
    """Where a YAML document writes each key and list item: path -> (line, column), both
    from 1. A path not written (a missing key) is placed where its nearest written parent
    is."""

    def __init__(self, positions: dict[tuple, tuple[int, int]] | None = None):
        self.positions = positions or {}

    def at(self, path) -> tuple[int, int] | None:
        path = tuple(path)
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None
            path = path[:-1]

    def locate(self, problem: Problem, path=None) -> Problem:
        """``problem`` with the line and column of ``path`` (default: its key's path)."""
        if problem.line is not None:
            return problem
        if path is None:
            path = parse_key_path(problem.key) if problem.key else ()
        found = self.at(path)
        return replace(problem, line=found[0], column=found[1]) if found else problem


NO_MARKS = KeyMarks()


def _position(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def marks_of(root, loader: yaml.SafeLoader) -> KeyMarks:
    """The marks of a composed YAML node tree (a node that YAML aliases several times is
    walked once, at its first path)."""
    if root is None:
        return NO_MARKS
    positions = {(): _position(root)}
    seen = set()
    todo = [((), root)]
    while todo:
        path, node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                try:
                    key = loader.construct_object(key_node)
                    hash(key)
                except (yaml.YAMLError, TypeError):
                    continue
                positions[(*path, key)] = _position(key_node)
                todo.append(((*path, key), value_node))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                positions[(*path, i)] = _position(item)
                todo.append(((*path, i), item))
    return KeyMarks(positions)


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
        meant = did_you_mean(error["loc"][-1], fields)
        if meant is not None:
            return f"unknown key; did you mean {meant}?", None
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


def non_finite_numbers(data) -> list[tuple[tuple, float]]:
    """(where, value) of every NaN or infinity in parsed YAML ``data``, in document order; a
    mapping or list that YAML aliases several times is looked at once."""
    found = []
    seen = set()
    todo = [((), data)]
    while todo:
        loc, value = todo.pop()
        if isinstance(value, float) and not math.isfinite(value):
            found.append((loc, value))
        if isinstance(value, (dict, list)) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            todo.extend(reversed([((*loc, k), v) for k, v in items]))
    return found


def non_finite_number(data) -> tuple[tuple, float] | None:
    """(where, value) of the first NaN or infinity anywhere in parsed YAML ``data``."""
    found = non_finite_numbers(data)
    return found[0] if found else None


def by_position(problems) -> list[Problem]:
    """``problems`` in the order their files write them (those without a line last)."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0))


def _merge_misspellings(problems: list[tuple[tuple, Problem]]) -> list[tuple[tuple, Problem]]:
    """Drop "missing K" where an unknown key beside it was meant to be K: one problem."""
    meant = set()
    for loc, problem in problems:
        match = re.fullmatch(r"unknown key; did you mean (.+)\?", problem.message)
        if match:
            meant.add((loc[:-1], match.group(1)))
    return [(loc, p) for loc, p in problems
            if not (p.message == "missing" and loc and (loc[:-1], str(loc[-1])) in meant)]


def problems_of(model: type[BaseModel], data, *, file: str | Path | None = None, prefix=(),
                marks: KeyMarks = NO_MARKS) -> tuple[BaseModel | None, list[Problem]]:
    """``model.model_validate(data)`` and every problem found, as (model or None, problems).
    No number in a config may be NaN or infinite (``.inf`` would make a window, a period or
    a count without end)."""
    file = str(file) if file else None
    found: list[tuple[tuple, Problem]] = []
    for loc, value in non_finite_numbers(data):
        found.append((loc, Problem(f"is {value}", file, key_path((*prefix, *loc)) or None,
                                   "a finite number")))
    non_finite = {loc for loc, _ in found}
    try:
        result = model.model_validate(data)
    except ValidationError as e:
        result = None
        for error in e.errors():
            loc = tuple(error["loc"])
            if loc in non_finite:
                continue
            message, expected = _expectation(model, error)
            found.append((loc, Problem(message, file, key_path((*prefix, *loc)) or None,
                                       expected)))
    if found:
        result = None
    problems = [marks.locate(p, (*prefix, *loc)) for loc, p in _merge_misspellings(found)]
    return result, by_position(problems)


def validate(model: type[M], data, *, file: str | Path | None = None, prefix=(),
             marks: KeyMarks = NO_MARKS) -> M:
    """``model.model_validate(data)``; every problem in one ConfigError (see
    :func:`problems_of`). ``marks`` (from :func:`read_yaml`) place each problem in the file,
    ``prefix`` being where ``data`` sits in that file."""
    result, problems = problems_of(model, data, file=file, prefix=prefix, marks=marks)
    if problems:
        raise ConfigError(problems=problems)
    return result


@dataclass(frozen=True)
class YamlDocument:
    """A YAML file's content and where it writes each key."""

    data: object
    marks: KeyMarks


def read_yaml(path: str | Path) -> YamlDocument:
    """The parsed content of a YAML file (safe loading) and its key marks; a missing or
    malformed file is a ConfigError."""
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
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
        return YamlDocument(data, marks_of(root, loader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(e, 'problem', None) or e}",
                          file=str(path), line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from e
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: str | Path):
    """The parsed content of a YAML file; a missing or malformed file is a ConfigError."""
    return read_yaml(path).data
