"""Fast decode of only the event fields a schema reads.

msgspec decodes straight into small structs generated from the schema's paths, skipping every
other field without building it and validating the sums' types on the way. Readers then lift
the values of many paths out of the struct in one generated function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec

from riptide.rollup.exceptions import UnrollableEventError
from riptide.rollup.schema import TIME_FIELDS, Path, RollupSchema

Tree = dict[str, Any]
Reader = Callable[[msgspec.Struct], tuple[Any, ...]]


class EventDecoder:
    """Decodes events into structs whose `timestamp` and `receivedAt` attributes hold datetimes."""

    def __init__(self, schema: RollupSchema) -> None:
        tree: Tree = {name: datetime | None for name in TIME_FIELDS}
        for path, leaf_type in schema.field_types.items():
            node = tree
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = leaf_type
        struct_type, self._attributes = _struct_for(tree, "Event")
        self._decoder = msgspec.json.Decoder(struct_type)

    def decode(self, payload: bytes) -> Any:
        try:
            return self._decoder.decode(payload)
        except msgspec.ValidationError as error:
            raise UnrollableEventError(_field_reason(str(error))) from None
        except msgspec.DecodeError as error:
            raise UnrollableEventError(f"event: not JSON ({error})") from None

    def reader(self, paths: Iterable[Path]) -> Reader:
        """A function of a decoded event returning the values at `paths`, None where absent.

        The function is generated: plain attribute loads through locals, shared prefixes
        loaded once, run about three times faster than attrgetter over dotted names. An event
        with null where an object was expected (e.g. "context": null) takes a slow path.
        """
        return _generated_reader([self._attributes[path].split(".") for path in paths])


def _generated_reader(steps: list[list[str]]) -> Reader:
    lines = ["def read(event):", "  try:"]
    local_of: dict[tuple[str, ...], str] = {(): "event"}
    leaves = []
    for attributes in steps:
        for end in range(1, len(attributes)):
            prefix = tuple(attributes[:end])
            if prefix not in local_of:
                local_of[prefix] = f"node{len(local_of)}"
                lines.append(f"    {local_of[prefix]} = {local_of[prefix[:-1]]}.{prefix[-1]}")
        leaves.append(f"{local_of[tuple(attributes[:-1])]}.{attributes[-1]}")
    lines.append(f"    return ({''.join(leaf + ', ' for leaf in leaves)})")
    lines += ["  except AttributeError:", "    return read_through_nulls(event, steps)"]
    namespace: dict[str, Any] = {"read_through_nulls": _read_through_nulls, "steps": steps}
    # The source names only the generated f<n> attributes, never text from events or settings.
    exec("\n".join(lines), namespace)
    return namespace["read"]


def _read_through_nulls(event: msgspec.Struct, steps: list[list[str]]) -> tuple[Any, ...]:
    """Slow path for events holding null where an object was expected (e.g. "context": null)."""
    values = []
    for attributes in steps:
        value: Any = event
        for attribute in attributes:
            value = getattr(value, attribute)
            if value is None:
                break
        values.append(value)
    return tuple(values)


def _struct_for(tree: Tree, name: str) -> tuple[type[msgspec.Struct], dict[Path, str]]:
    """A struct type for one level of the tree, and the attribute path of every leaf below it.

    Attributes are named f0, f1, ... (JSON keys need not be identifiers), except the top-level
    time fields, which keep their names.
    """
    fields = []
    attributes: dict[Path, str] = {}
    for index, (key, node) in enumerate(tree.items()):
        attribute = key if name == "Event" and key in TIME_FIELDS else f"f{index}"
        if isinstance(node, dict):
            child_type, child_attributes = _struct_for(node, f"{name}_{attribute}")
            default = msgspec.field(name=key, default=child_type())
            fields.append((attribute, child_type | None, default))
            for path, child in child_attributes.items():
                attributes[(key, *path)] = f"{attribute}.{child}"
        else:
            fields.append((attribute, node, msgspec.field(name=key, default=None)))
            attributes[(key,)] = attribute
    return msgspec.defstruct(name, fields, gc=False, frozen=True), attributes


def _field_reason(message: str) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.a.b`" as "a.b: expected int, got str"."""
    text, at, where = message.rpartition(" - at `$.")
    where = where.rstrip("`") if at else "event"
    text = (text if at else message).replace("`", "")
    return f"{where}: {text[:1].lower()}{text[1:]}"
