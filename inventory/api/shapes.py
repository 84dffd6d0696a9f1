"""Output shapes: one declaration per answer that both writes the JSON and describes it in OpenAPI.

A shape names its fields and, for each, where the value is read from the object and its JSON
type::

    STOCK_ITEM = Shape({"label": Str(), "site": Str("site.code"),
                        "expiry_date": IsoDate(nullable=True), ...}, name="StockItem")
    STOCK_ITEM.dump(item)        # {"label": ..., "site": item.site.code, ...}
    STOCK_ITEM.schema(components)  # {"$ref": "#/components/schemas/StockItem"}

A field is read by ``read``: a dotted attribute path (default: the field's name), ``SELF`` (the
object itself) or a function of the object. A nullable field with a dotted path answers None when
any object on the way is None (``Str("user.username", nullable=True)``). ``by_key=True`` reads
the shape's own fields from a mapping instead (a query's rows).

Each field's reader is built once, when the shape is declared (``operator.attrgetter`` for a
path), so ``dump`` is a dict built from a list of ready functions: stock pages and issue answers
are hot paths.

A shape whose JSON is already written elsewhere (the snapshots that the audit log also keeps)
takes it as ``dump=`` and declares only the schema, usually from the input spec
(``Shape.from_spec``).
"""

import operator

from inventory.validation import Array, Date
from inventory.validation import Field as SpecField
from inventory.validation import Object as SpecObject

SELF = object()  # ``read=SELF``: the value is the object itself


def _iso(value):
    return value.isoformat() if value is not None else None


def _getter(read, name, *, by_key: bool, nullable: bool):
    """A function reading one value from an object (or a mapping's key, ``by_key``)."""
    if read is None:
        read = name if name is not None else SELF
    if read is SELF:
        return _itself
    if callable(read):
        return read
    first, *rest = read.split(".")
    if not by_key and not (rest and nullable):
        return operator.attrgetter(read)  # a dotted path too, in C
    get_first = operator.itemgetter(first) if by_key else operator.attrgetter(first)
    if not rest:
        return get_first
    if not nullable:
        get_rest = operator.attrgetter(".".join(rest))
        return lambda obj: get_rest(get_first(obj))

    def get_or_none(obj):
        value = get_first(obj)
        for step in rest:
            if value is None:
                return None
            value = getattr(value, step)
        return value

    return get_or_none


def _itself(obj):
    return obj


def _or_null(spec: dict) -> dict:
    """``spec`` with null allowed too (and listed among the values, when they are an enum)."""
    spec = {**spec, "type": [spec["type"], "null"]}
    if "enum" in spec:
        spec["enum"] = [*spec["enum"], None]
    return spec


class Out:
    """One field of an answer."""

    json_type = "string"

    def __init__(self, read=None, *, nullable=False, description=None):
        self.read = read
        self.nullable = nullable
        self.description = description

    def reader(self, name, *, by_key: bool):
        """A function answering this field of an object: its value, read and converted."""
        get = _getter(self.read, name, by_key=by_key, nullable=self.nullable)
        convert = self.converter()
        return get if convert is None else (lambda obj: convert(get(obj)))

    def converter(self):
        """What turns the value read into JSON (None: it is JSON already)."""
        return None

    def schema(self, components: dict) -> dict:
        spec = self.type_schema(components)
        if self.description:
            spec["description"] = self.description
        return _or_null(spec) if self.nullable else spec

    def type_schema(self, components: dict) -> dict:
        return {"type": self.json_type}


class Str(Out):
    pass


class Bool(Out):
    json_type = "boolean"


class Int(Out):
    json_type = "integer"

    def __init__(self, read=None, *, minimum=None, **kwargs):
        super().__init__(read, **kwargs)
        self.minimum = minimum

    def type_schema(self, components):
        spec = {"type": self.json_type}
        if self.minimum is not None:
            spec["minimum"] = self.minimum
        return spec


class Number(Out):
    """A number that need not be whole (kilometres, a kit's 0.34 tents per person)."""

    json_type = "number"


class IsoDate(Out):
    """A date, answered as ``YYYY-MM-DD``."""

    format = "date"

    def converter(self):
        return _iso

    def type_schema(self, components):
        return {"type": "string", "format": self.format}


class IsoDateTime(IsoDate):
    """A timezone-aware datetime, answered in ISO 8601 with its offset."""

    format = "date-time"


class Choice(Out):
    """A code from a model's tuple of codes (``STATUSES`` …)."""

    def __init__(self, choices, read=None, **kwargs):
        super().__init__(read, **kwargs)
        self.choices = tuple(choices)

    def type_schema(self, components):
        return {"type": "string", "enum": list(self.choices)}


class Json(Out):
    """A JSON object answered as it is (an operation's body, the error object it met)."""

    json_type = "object"


class Mapping(Out):
    """A mapping of names to values of one type, answered as it is (``{"expired": 3, …}``)."""

    json_type = "object"

    def __init__(self, values: Out, read=None, **kwargs):
        super().__init__(read, **kwargs)
        self.values = values

    def type_schema(self, components):
        return {"type": "object", "additionalProperties": self.values.schema(components)}


class ListOf(Out):
    """A list, each element answered as ``items`` (a shape, or a field read from the element)."""

    json_type = "array"

    def __init__(self, items, read=None, **kwargs):
        super().__init__(read, **kwargs)
        if self.nullable:
            raise ValueError("a list is never null: answer [] instead")
        self.items = items

    def converter(self):
        element = (self.items.dump if isinstance(self.items, Shape)
                   else self.items.reader(None, by_key=False))
        return lambda values: [element(value) for value in values]

    def type_schema(self, components):
        return {"type": "array", "items": self.items.schema(components)}


class Nested(Out):
    """An object answered as ``shape``; ``Nested(shape, SELF)`` gathers fields of this object."""

    json_type = "object"

    def __init__(self, shape: "Shape", read=None, **kwargs):
        super().__init__(read, **kwargs)
        self.shape = shape

    def converter(self):
        dump = self.shape.dump
        if self.nullable:
            return lambda value: None if value is None else dump(value)
        return dump

    def schema(self, components):
        if self.shape.name is not None and self.nullable:
            return {"anyOf": [self.shape.schema(components), {"type": "null"}]}
        if self.shape.name is not None:
            return self.shape.schema(components)
        return super().schema(components)

    def type_schema(self, components):
        return self.shape.definition(components)


class Spec(Out):
    """A field answered as an input spec (inventory.validation) takes it, described the same way."""

    def __init__(self, field: SpecField, read=None):
        super().__init__(read, nullable=field.nullable)
        self.field = field

    def converter(self):
        if isinstance(self.field, (Array, SpecObject)):
            raise TypeError("a list or object from an input spec cannot be answered: give dump=")
        return _iso if isinstance(self.field, Date) else None

    def schema(self, components):
        field = self.field
        if not isinstance(field, SpecObject):
            return field.schema()
        # An object answered has every field, and says nothing of fields it might one day add.
        spec = {"type": ["object", "null"] if field.nullable else "object",
                "properties": {name: inner.schema() for name, inner in field.fields.items()},
                "required": list(field.fields)}
        if field.description:
            spec["description"] = field.description
        return spec


class Shape:
    """An object in an answer: its fields, by name; named shapes are OpenAPI components."""

    def __init__(self, fields: dict[str, Out], *, name: str | None = None, by_key: bool = False,
                 dump=None, base: "Shape | None" = None):
        self.fields = fields
        self.name = name
        self.by_key = by_key
        self.base = base
        self._readers = None if dump is not None else [
            (name, field.reader(name, by_key=by_key)) for name, field in fields.items()]
        self.dump = dump or self._dump

    @classmethod
    def from_spec(cls, spec: SpecObject, *, extra: dict[str, Out] | None = None,
                  read: dict[str, str] | None = None, **kwargs) -> "Shape":
        """Every field of an input spec, described as the spec describes it, plus ``extra``."""
        read = read or {}
        fields = {name: Spec(field, read.get(name)) for name, field in spec.fields.items()}
        return cls({**fields, **(extra or {})}, **kwargs)

    def extend(self, fields: dict[str, Out], **kwargs) -> "Shape":
        """This shape with more fields (described as ``allOf`` this one and the extras)."""
        return Shape({**self.fields, **fields}, base=self, **kwargs)

    def _dump(self, obj) -> dict:
        """The object answered as this shape."""
        return {name: read(obj) for name, read in self._readers}

    def definition(self, components: dict) -> dict:
        """The JSON schema of the object itself (every field is always there)."""
        if self.base is not None:
            extras = {name: field for name, field in self.fields.items()
                      if name not in self.base.fields}
            return {"allOf": [self.base.schema(components), _object(extras, components)]}
        return _object(self.fields, components)

    def schema(self, components: dict) -> dict:
        """A reference to this shape's component (added to ``components``), or the definition."""
        definition = self.definition(components)
        if self.name is None:
            return definition
        if components.setdefault(self.name, definition) != definition:
            raise ValueError(f"two different schemas are named {self.name}")
        return {"$ref": f"#/components/schemas/{self.name}"}


def _object(fields: dict[str, Out], components: dict) -> dict:
    return {"type": "object", "required": list(fields),
            "properties": {name: field.schema(components) for name, field in fields.items()}}


def items_of(row: Shape, *, name: str) -> Shape:
    """``{"items": [row, …]}`` made from a list of rows."""
    return Shape({"items": ListOf(row, SELF)}, name=name)
