"""Field specifications that validate input and describe it in the OpenAPI document.

Services validate what they are given with these specs, whatever the caller (API, form, CLI), so a
rule is written once; the API documents the same specs. Pages read what was typed into a form with
the same specs (``from_text``), so a form and the API cannot disagree about what "12" or
"2026-01-05" means. Only form text is read that way: the API's JSON is typed already, and an
integer sent in it as a string stays refused.
"""

import datetime as dt
import math
import re

from flask_babel import gettext as _

from inventory import clock
from inventory.errors import ValidationError

_DIGITS = re.compile(r"[0-9]{1,18}")


def whole_number(text) -> int | None:
    """``text`` as a whole number when it is ASCII digits only, else None: str.isdigit() also
    takes "²" and "٣", which int() then refuses (or reads)."""
    return int(text) if isinstance(text, str) and _DIGITS.fullmatch(text) else None


def listing(items) -> str:
    """Items joined for a message: 甲、乙、丙 in Chinese, "a, b, c" in English."""
    return _("、").join(str(item) for item in items)


class Invalid(Exception):
    """One field's problem, raised while loading it."""


def _within(name, nested: ValidationError) -> dict:
    """A nested field's problems, named from the field that holds it: "lines" and "0.quantity"."""
    return {f"{name}.{key}": problem for key, problem in nested.details.items()}


class Field:
    json_type = "string"

    def __init__(self, *, required=False, nullable=False, description=None):
        self.required = required
        self.nullable = nullable
        self.description = description

    def load(self, value):
        if value is None:
            if self.nullable:
                return None
            raise Invalid(_("不能为空"))
        return self.convert(value)

    def convert(self, value):
        return value

    def from_text(self, text):
        """What a form field's text stands for; raise Invalid when it does not read as a value.

        Blank is None (not given) for an optional field; a required one reads it like any text,
        so that a blank number is refused as not being one. The service still validates the value.
        """
        text = (text or "").strip()
        return self.parse_text(text) if text or self.required else None

    def parse_text(self, text: str):
        return text

    def schema(self) -> dict:
        spec = self.type_schema()
        if self.nullable:
            spec["type"] = [spec["type"], "null"]
            if "enum" in spec:
                spec["enum"] = [*spec["enum"], None]
        if self.description:
            spec["description"] = self.description
        return spec

    def type_schema(self) -> dict:
        return {"type": self.json_type}


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Unicode's Bidi_Control characters (the embeddings, overrides and isolates, the marks LRM, RLM
# and ALM): invisible, they reorder what is shown around them, so "\u202e" makes a name read
# backwards in a list or on a printed slip. No name, code or note needs one: refused everywhere.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Characters that take no room on screen or paper (zero-width space, joiners, word joiner, BOM;
# also the soft hyphen, the Hangul fillers, the braille blank and the tag characters, which are
# what "invisible names" are made of). Text of nothing else looks empty but is not. A one-line
# field (a name, a code, a lot or serial number …) refuses them anywhere: two names that look the
# same must be the same name, and a code must be what is printed. Free text (multiline notes)
# keeps them between visible characters, where the joiners have real uses (emoji, some scripts).
INVISIBLE = re.compile("[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200d"
                       "\u2060-\u2064\u2800\u3164\ufeff\uffa0\U000e0000-\U000e007f]")


class String(Field):
    """Text, trimmed, refused with control, bidi or (on one line) invisible characters.

    ``verbatim``: a secret (a password) taken exactly as sent; only its type and length count.
    """

    def __init__(self, *, max_length, min_length=1, pattern=None, choices=None, multiline=False,
                 verbatim=False, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.pattern = pattern
        self.choices = tuple(choices) if choices else None
        self.multiline = multiline
        self.verbatim = verbatim

    def convert(self, value):
        if not isinstance(value, str):
            raise Invalid(_("应为文本"))
        # The limit holds for what was sent, as the schema says, not for what is left once trimmed.
        if len(value) > self.max_length and self.choices is None:
            raise Invalid(_("不能超过 %(n)d 个字符", n=self.max_length))
        if self.verbatim:
            if len(value) < self.min_length:
                raise Invalid(_("不能为空"))
            return value
        value = value.strip()
        if self.choices is not None:
            if value not in self.choices:
                raise Invalid(_("应为以下之一：%(choices)s", choices=listing(self.choices)))
            return value
        # What shows counts: text of invisible characters alone is as empty as blank text.
        visible = INVISIBLE.sub("", value).strip()
        if len(visible) < self.min_length:
            raise Invalid(_("不能为空") if self.min_length == 1 else
                          _("至少 %(n)d 个字符", n=self.min_length))
        if CONTROL_CHARACTERS.search(value) or (not self.multiline and ("\n" in value or "\r" in value)):
            raise Invalid(_("含有不允许的控制字符"))
        if BIDI_CONTROLS.search(value):
            raise Invalid(_("含有不允许的文字方向控制字符"))
        if not self.multiline and INVISIBLE.search(value):
            raise Invalid(_("含有不允许的不可见字符（如零宽空格）"))
        if not visible:
            value = ""  # free text of invisible characters alone was left blank
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise Invalid(_("格式不正确"))
        return value

    def type_schema(self):
        if self.choices is not None:
            return {"type": "string", "enum": list(self.choices)}
        spec = {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        if self.pattern:
            spec["pattern"] = f"^{self.pattern}$"
        return spec


class Integer(Field):
    json_type = "integer"

    def __init__(self, *, minimum=None, maximum=None, **kwargs):
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        # What may be typed for one: digits, a sign only where the field takes negatives, and no
        # more digits than its largest value has (12 when it has none), so that no text stands
        # for a number too big to be one of its values.
        digits = len(str(max(abs(minimum or 0), abs(maximum)))) if maximum is not None else 12
        self.signed = minimum is None or minimum < 0
        self.text_pattern = re.compile(("[+-]?" if self.signed else "") + rf"\d{{1,{digits}}}")

    def parse_text(self, text):
        if not self.text_pattern.fullmatch(text):
            raise Invalid(_("应为正整数") if (self.minimum or 0) >= 1 else _("应为整数"))
        return int(text)

    def convert(self, value):
        # bool is an int in Python, and 2.0 is not an integer in the API's eyes.
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(_("应为整数"))
        if self.minimum is not None and value < self.minimum:
            raise Invalid(_("不能小于 %(n)s", n=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise Invalid(_("不能大于 %(n)s", n=self.maximum))
        return value

    def type_schema(self):
        spec = {"type": "integer"}
        if self.minimum is not None:
            spec["minimum"] = self.minimum
        if self.maximum is not None:
            spec["maximum"] = self.maximum
        return spec


class Number(Integer):
    json_type = "number"

    def parse_text(self, text):
        if not re.fullmatch(("[+-]?" if self.signed else "") + r"\d{1,12}(\.\d{1,12})?", text):
            raise Invalid(_("应为数字"))
        return float(text)

    def convert(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Invalid(_("应为数字"))
        if self.minimum is not None and value < self.minimum:
            raise Invalid(_("不能小于 %(n)s", n=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise Invalid(_("不能大于 %(n)s", n=self.maximum))
        return float(value)

    def type_schema(self):
        return {**super().type_schema(), "type": "number"}


class Boolean(Field):
    json_type = "boolean"
    TEXTS = {"1": True, "true": True, "on": True, "y": True, "yes": True,
             "0": False, "false": False, "off": False, "n": False, "no": False}

    def parse_text(self, text):
        if (value := self.TEXTS.get(text.lower())) is None:
            raise Invalid(_("应为 true 或 false"))
        return value

    def convert(self, value):
        if not isinstance(value, bool):
            raise Invalid(_("应为 true 或 false"))
        return value


class Date(Field):
    def convert(self, value):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise Invalid(_("应为日期 YYYY-MM-DD"))

    def parse_text(self, text):
        return self.convert(text)

    def type_schema(self):
        return {"type": "string", "format": "date"}


class DateTime(Field):
    """An instant: ISO 8601 with its offset in JSON; a page's datetime-local (no offset) is the
    bureau's local time."""

    def convert(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                                                   r"(Z|[+-]\d{2}:\d{2})", value):
            try:
                return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
            except (ValueError, OverflowError):  # no such day; or past year 9999 in UTC
                pass
        raise Invalid(_("应为带时区的时间，如 2026-12-03T08:30:00+08:00"))

    def parse_text(self, text):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", text):
            try:
                return dt.datetime.fromisoformat(text).replace(tzinfo=clock.timezone()).astimezone(dt.UTC)
            except (ValueError, OverflowError):
                raise Invalid(_("应为时间 YYYY-MM-DD HH:MM")) from None
        return self.convert(text)

    def type_schema(self):
        return {"type": "string", "format": "date-time"}


class Array(Field):
    json_type = "array"

    def __init__(self, items: Field, *, max_items=100, min_items=0, unique=False, **kwargs):
        super().__init__(**kwargs)
        self.items = items
        self.max_items = max_items
        self.min_items = min_items
        self.unique = unique

    def convert(self, value):
        if not isinstance(value, (list, tuple)):
            raise Invalid(_("应为列表"))
        if len(value) > self.max_items:
            raise Invalid(_("最多 %(n)d 项", n=self.max_items))
        if len(value) < self.min_items:
            raise Invalid(_("至少要有 %(n)d 项", n=self.min_items))
        loaded = []
        for index, item in enumerate(value):
            try:
                loaded.append(self.items.load(item))
            except ValidationError as nested:
                raise ValidationError(_within(index, nested)) from None
        if self.unique and len(set(map(repr, loaded))) != len(loaded):
            raise Invalid(_("不能有重复项"))
        return loaded

    def from_text(self, texts):
        """Each item's reading of its text (of its row's texts, for an array of objects); raise
        ValidationError naming "index" or "index.field" for every one that does not read."""
        loaded, errors = [], {}
        for index, text in enumerate(texts or ()):
            try:
                loaded.append(self.items.from_text(text))
            except Invalid as problem:
                errors[str(index)] = str(problem)
            except ValidationError as nested:
                errors.update(_within(index, nested))
        if errors:
            raise ValidationError(errors)
        return loaded

    def type_schema(self):
        spec = {"type": "array", "items": self.items.schema(), "maxItems": self.max_items}
        if self.min_items:
            spec["minItems"] = self.min_items
        if self.unique:
            spec["uniqueItems"] = True
        return spec


class Mapping(Field):
    """An object of free keys (labels, codes …) each with a value of one kind: {key: value}."""

    json_type = "object"

    def __init__(self, keys: "String", values: Field, *, max_items=100, **kwargs):
        super().__init__(**kwargs)
        self.keys, self.values, self.max_items = keys, values, max_items

    def convert(self, value):
        if not isinstance(value, dict):
            raise Invalid(_("应为对象"))
        if len(value) > self.max_items:
            raise Invalid(_("最多 %(n)d 项", n=self.max_items))
        loaded, errors = {}, {}
        for key, item in value.items():
            try:
                loaded[self.keys.load(key)] = self.values.load(item)
            except Invalid as problem:
                errors[str(key)[:40]] = str(problem)
        if errors:
            raise ValidationError(errors)
        return loaded

    def type_schema(self):
        return {"type": "object", "additionalProperties": self.values.schema(),
                "maxProperties": self.max_items}


class AnyObject(Field):
    """A JSON object of any content, taken as it is: a body another spec will check (an offline
    operation's body is checked by the service of its kind)."""

    json_type = "object"

    def convert(self, value):
        if not isinstance(value, dict):
            raise Invalid(_("应为对象"))
        return value


class Object(Field):
    json_type = "object"

    def __init__(self, fields: dict[str, Field], **kwargs):
        super().__init__(**kwargs)
        self.fields = fields

    def convert(self, value, *, partial=False):
        """Return the loaded fields; raise ValidationError naming every field at fault."""
        if not isinstance(value, dict):
            raise Invalid(_("应为对象"))
        errors, loaded = {}, {}
        for name in value.keys() - self.fields.keys():
            errors[name] = _("不支持此字段")
        for name, field in self.fields.items():
            if name not in value:
                if field.required and not partial:
                    errors[name] = _("必填")
                continue
            try:
                loaded[name] = field.load(value[name])
            except Invalid as problem:
                errors[name] = str(problem)
            except ValidationError as nested:
                errors.update(_within(name, nested))
        if errors:
            raise ValidationError(errors)
        return loaded

    def load(self, value, *, partial=False):
        if value is None:
            if self.nullable:
                return None
            raise Invalid(_("不能为空"))
        return self.convert(value, partial=partial)

    def from_text(self, texts: dict):
        """Its fields' readings of a form's texts (a row of a line form): an optional one left
        blank is left out, as if not sent, and texts of fields it does not have are not read;
        raise ValidationError naming every field whose text does not read."""
        loaded, errors = {}, {}
        for name, field in self.fields.items():
            if name not in texts:
                continue
            try:
                value = field.from_text(texts[name])
            except Invalid as problem:
                errors[name] = str(problem)
            except ValidationError as nested:
                errors.update(_within(name, nested))
            else:
                if value is not None:
                    loaded[name] = value
        if errors:
            raise ValidationError(errors)
        return loaded

    def type_schema(self):
        return {
            "type": "object",
            "properties": {name: field.schema() for name, field in self.fields.items()},
            "required": [name for name, field in self.fields.items() if field.required],
            "additionalProperties": False,
        }


def load(spec: Object, data: dict, *, partial=False) -> dict:
    """Validate ``data`` against ``spec``; raise ValidationError with every problem found."""
    try:
        return spec.load(data, partial=partial)
    except Invalid as problem:
        raise ValidationError({"body": str(problem)}) from None
