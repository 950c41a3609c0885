"""Records as JSON: one encoder, one checking decoder and one JSON Schema generator for
every record (a frozen, keyword-only dataclass deriving from :class:`Record`).

A field holds what JSON holds: ``str``, ``int``, ``bool``, a ``Literal`` of those,
``X | None``, ``tuple[X, ...]`` (an array), ``dict[str, X]`` (an object keyed by name) or
another record; ``X | Absent`` (default :data:`ABSENT`) is a key some records leave out,
which is not the same as ``null``. :meth:`Record.from_json` refuses anything else with one
line naming the file and the field. A :class:`FileRecord` is a whole file: it also
carries a ``schema_version``, which must be the one this crossmatrix writes.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal, NoReturn, Self, get_args, get_origin

from tooling.errors import BadRecord
from tooling.util import atomic

META_SCHEMA = "https://json-schema.org/draft/2020-12/schema"


class Absent(enum.Enum):
    """A key left out of the JSON (a PE file has no ``min_os``), not a ``null``."""

    ABSENT = "absent"


ABSENT: typing.Final = Absent.ABSENT


class Record:
    """Base of the records: ``to_json()`` is what is written (keys sorted when written),
    ``from_json()`` checks every field of what is read."""

    #: on disk the record is only this field's value (a step's ``{binary: …}`` mapping)
    FLAT: ClassVar[str | None] = None
    #: what to do about a record that does not read
    HINT: ClassVar[str] = ("it was not written by this crossmatrix version: "
                           "make it again with this one")

    def to_json(self) -> Any:
        return _encode(self)

    @classmethod
    def from_json(cls, data: Any, *, source: str) -> Self:
        """``data`` (parsed JSON) as this record; :class:`BadRecord` naming ``source`` (the
        file) and the first field that is wrong."""
        record: Self = _decode(cls, data, _Reader(source, cls.HINT), "")
        return record


class FileRecord(Record):
    """A record that is a whole file, with a ``schema_version`` field (a ``Literal``)."""

    #: where the file is, for the schema's title: ``dist/<target>/build_info.json``
    FILE: ClassVar[str]
    #: the name of its schema in ``tooling/records/schemas/`` (without .schema.json)
    SCHEMA: ClassVar[str]

    @classmethod
    def supported_version(cls) -> int:
        """The ``schema_version`` this crossmatrix writes and reads."""
        default = _fields(cls)["schema_version"].default
        assert isinstance(default, int)
        return default

    @classmethod
    def from_json(cls, data: Any, *, source: str) -> Self:
        if isinstance(data, dict):
            got = data.get("schema_version", ABSENT)
            reader = _Reader(source, cls.HINT)
            if got is ABSENT:
                reader.fail("schema_version", f"missing (this crossmatrix reads version "
                                              f"{cls.supported_version()} of {cls.FILE})")
            if got != cls.supported_version() or type(got) is not int:
                reader.fail("schema_version", f"{_show(got)}, but this crossmatrix reads "
                                              f"version {cls.supported_version()} of {cls.FILE}")
        return super().from_json(data, source=source)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read and check ``path``; :class:`BadRecord` (one line) when it does not read."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BadRecord(f"{path}: cannot be read ({exc.strerror})", cls.HINT) from None
        return cls.parse(data, source=str(path))

    @classmethod
    def parse(cls, data: bytes, *, source: str) -> Self:
        """The file's bytes ``data`` as this record; :class:`BadRecord` naming ``source``."""
        try:
            parsed = json.loads(data.decode("utf-8"))
        except ValueError as exc:  # not JSON, or not UTF-8
            raise BadRecord(f"{source}: not a JSON file ({exc})", cls.HINT) from None
        return cls.from_json(parsed, source=source)

    def write(self, path: Path) -> None:
        """Atomically, keys sorted: the same record gives the same bytes."""
        atomic.write_json(path, self.to_json())


# --- reading and writing -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Reader:
    source: str
    hint: str

    def fail(self, path: str, problem: str) -> NoReturn:
        raise BadRecord(f"{self.source}: {path or 'the record'}: {problem}", self.hint)


_FIELDS: dict[type, dict[str, dataclasses.Field[Any]]] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    if cls not in _FIELDS:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass")
        _FIELDS[cls] = {f.name: f for f in dataclasses.fields(cls)}
    return _FIELDS[cls]


def _hints(cls: type) -> dict[str, Any]:
    """Each field's type, the annotations resolved."""
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {name: hints[name] for name in _fields(cls)}
    return _HINTS[cls]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


def _describe(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in get_args(tp))
    if get_origin(tp) is tuple:
        return "an array"
    if get_origin(tp) is dict or (isinstance(tp, type) and issubclass(tp, Record)):
        return "an object"
    return {str: "a string", int: "an integer", bool: "true or false"}.get(tp, str(tp))


def _union(tp: Any) -> tuple[Any, bool, bool] | None:
    """``X | None | Absent`` as (X, nullable, omittable); None when ``tp`` is no union."""
    if get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = get_args(tp)
    rest = [a for a in args if a not in (type(None), Absent)]
    if len(rest) != 1:
        raise TypeError(f"records hold no union of {rest}")
    return rest[0], type(None) in args, Absent in args


def _omittable(tp: Any) -> bool:
    union = _union(tp)
    return union is not None and union[2]


def _decode(tp: Any, value: Any, reader: _Reader, path: str) -> Any:
    if isinstance(tp, type) and issubclass(tp, Record):
        return _decode_record(tp, value, reader, path)
    union = _union(tp)
    if union is not None:
        inner, nullable, _ = union
        return None if value is None and nullable else _decode(inner, value, reader, path)
    origin = get_origin(tp)
    if origin is Literal:
        if not any(value == a and type(value) is type(a) for a in get_args(tp)):
            reader.fail(path, f"expected {_describe(tp)}, got {_show(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            reader.fail(path, f"expected an array, got {_show(value)}")
        item = get_args(tp)[0]
        return tuple(_decode(item, v, reader, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            reader.fail(path, f"expected an object, got {_show(value)}")
        item = get_args(tp)[1]
        return {k: _decode(item, v, reader, _join(path, k)) for k, v in value.items()}
    if tp in (str, int, bool):
        if type(value) is not tp:
            reader.fail(path, f"expected {_describe(tp)}, got {_show(value)}")
        return value
    raise TypeError(f"records hold no {tp!r}")


def _decode_record(cls: type[Record], value: Any, reader: _Reader, path: str) -> Any:
    hints = _hints(cls)
    if cls.FLAT is not None:
        return cls(**{cls.FLAT: _decode(hints[cls.FLAT], value, reader, path)})
    if not isinstance(value, dict):
        reader.fail(path, f"expected an object, got {_show(value)}")
    unknown = sorted(set(value) - set(hints))
    if unknown:
        reader.fail(_join(path, unknown[0]), "not a field of this record")
    given: dict[str, Any] = {}
    for name, tp in hints.items():
        if name in value:
            given[name] = _decode(tp, value[name], reader, _join(path, name))
        elif not _omittable(tp):
            reader.fail(_join(path, name), "missing")
    return cls(**given)


def _encode(value: Any) -> Any:
    if isinstance(value, Record):
        if value.FLAT is not None:
            return _encode(getattr(value, value.FLAT))
        return {name: _encode(v) for name in _fields(type(value))
                if (v := getattr(value, name)) is not ABSENT}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


# --- JSON Schema ---------------------------------------------------------------------------

def json_schema(cls: type[FileRecord]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``cls``'s file, made from its fields."""
    defs: dict[str, Any] = {}
    top = _record_schema(cls, defs)
    title = f"crossmatrix {cls.FILE}, schema_version {cls.supported_version()}"
    return {"$schema": META_SCHEMA, "title": title, **top, **({"$defs": defs} if defs else {})}


def description(cls: type[Record]) -> str:
    """The class's own docstring as one line (a dataclass without one has its signature)."""
    doc = cls.__doc__ or ""
    if "__doc__" not in cls.__dict__ or doc.startswith(f"{cls.__name__}("):
        raise TypeError(f"record {cls.__name__} has no docstring")
    return " ".join(inspect.cleandoc(doc).split())


def _record_schema(cls: type[Record], defs: dict[str, Any]) -> dict[str, Any]:
    properties = {}
    required = []
    docs = {name: text for klass in reversed(cls.__mro__) if issubclass(klass, Record)
            for name, text in _field_docs(klass).items()}
    for name, tp in _hints(cls).items():
        if _omittable(tp):
            if _fields(cls)[name].default is not ABSENT:
                raise TypeError(f"{cls.__name__}.{name} may be absent: its default is ABSENT")
        else:
            required.append(name)
        properties[name] = _schema(tp, defs)
        if name in docs:
            properties[name]["description"] = docs[name]
    return {"description": description(cls), "type": "object", "properties": properties,
            "required": required, "additionalProperties": False}


def _field_docs(cls: type) -> dict[str, str]:
    """A field's ``#:`` comment (after it on its line, or on the lines right above it): the
    description of its property."""
    if not dataclasses.is_dataclass(cls) or "__dataclass_fields__" not in vars(cls):
        return {}
    import ast  # only the schema generator reads source: not loaded by a build
    import textwrap

    lines = textwrap.dedent(inspect.getsource(cls)).splitlines()
    tree = ast.parse("\n".join(lines)).body[0]
    assert isinstance(tree, ast.ClassDef)
    docs = {}
    for node in tree.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        for line in reversed(lines[:node.lineno - 1]):
            if not line.strip().startswith("#:"):
                break
            above.insert(0, line.strip().removeprefix("#:").strip())
        after = lines[node.end_lineno - 1 if node.end_lineno else node.lineno - 1]
        text = " ".join(above) or after.partition("  #: ")[2].strip()
        if text:
            docs[node.target.id] = text
    return docs


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(tp, type) and issubclass(tp, Record):
        if tp.FLAT is not None:
            return {"description": description(tp), **_schema(_hints(tp)[tp.FLAT], defs)}
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # a placeholder while its fields are made
            defs[tp.__name__] = _record_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    union = _union(tp)
    if union is not None:
        inner = _schema(union[0], defs)
        if not union[1]:
            return inner
        if set(inner) == {"type"} and isinstance(inner["type"], str):
            return {"type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    origin = get_origin(tp)
    if origin is Literal:
        values = list(get_args(tp))
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    if origin is tuple:
        return {"type": "array", "items": _schema(get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(get_args(tp)[1], defs)}
    names = {str: "string", int: "integer", bool: "boolean"}
    if tp in names:
        return {"type": names[tp]}
    raise TypeError(f"records hold no {tp!r}")
