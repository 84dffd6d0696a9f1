"""How an API route is declared: what it takes and what it answers, beside the route itself.

::

    @route.get("/stock", "库存件列表（限于调用者的站点范围）", query=(SITE, MATERIAL, ...),
               answers=Page(STOCK_ITEM), errors=(401, 403, 422))
    def list_stock():
        return queries.stock_items(g.api_user, site=scoped_site(), ...)

    @route.post("/issues", "发放（可归还物资为借用）", body=ISSUE, answers=ISSUE_ANSWER, status=201,
                idempotent=True)
    def create_issue():
        return services.issue(actor=g.api_user, data=json_body())

The summary is the operation's (Chinese) title; the view's docstring becomes its description.

The declaration is what the server does, not a note beside it: the view returns the object and
the route answers it as ``answers`` with ``status``; ``idempotent=True`` runs the view under the
request's Idempotency-Key. Each declaration adds exactly one rule to the blueprint and is kept in
``route.operations``, from which inventory/api/openapi.py builds the document: it lists what is
served, and tests/api/test_openapi.py fails on a route added to the blueprint without ``route``.
"""

import functools
import re

from flask import Response, jsonify

from inventory.api import core
from inventory.api.shapes import Shape
from inventory.security import UPLOAD_LIMITS
from inventory.validation import Field, Integer, Object

WRITE_ERRORS = (400, 401, 403, 404, 409, 422)  # what an idempotent write may answer besides 2xx
RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
FLAG = {"type": "string", "enum": ["true", "false", "1", "0"]}


# --- what a route takes --------------------------------------------------------------------------

def query(name: str, description: str, schema: dict | None = None, *, or_empty=False) -> dict:
    """A query parameter; ``or_empty``: ``?name=`` is the same as leaving the filter out."""
    schema = schema or {"type": "string"}
    if or_empty:
        schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def flag(name: str, description: str) -> dict:
    """A true/false parameter (read by ``flag_arg``)."""
    return query(name, description, FLAG)


def choice(name: str, description: str, choices) -> dict:
    """One of a model's codes, or empty (read by ``choice_arg``)."""
    return query(name, description, {"type": "string", "enum": list(choices)}, or_empty=True)


def on_date(name: str, description: str) -> dict:
    """A date YYYY-MM-DD, or empty (read by ``date_arg``)."""
    return query(name, description, {"type": "string", "format": "date"}, or_empty=True)


SITE = query("site", "站点编码")
MATERIAL = query("material", "物资编码")
SEARCH = query("q", "按名称或编码搜索")
PAGING = (query("page", "页码，从 1 开始", {"type": "integer", "minimum": 1, "maximum": 10**9}),
          query("per_page", "每页条数，默认 50，最多 500（更大的值按 500）",
                {"type": "integer", "minimum": 1, "maximum": 10**9}))
ROW_ID = Integer(minimum=1, maximum=core.MAX_ID)  # an integer in a path (norms, movements …)


class Body:
    """A JSON request body, validated by the service with ``spec`` (inventory.validation)."""

    def __init__(self, spec: Object, *, name: str | None = None, required=True, partial=False):
        self.spec, self.name, self.required, self.partial = spec, name, required, partial

    def changes(self) -> "Body":
        """The body of a PATCH: any of the fields, none required."""
        return Body(self.spec, partial=True)


class Upload:
    """A multipart/form-data body carrying a file (``file``) and text ``fields``; its size limit
    is the route's own, not the API's."""

    media_type = "multipart/form-data"

    def __init__(self, fields: dict[str, str], *, max_bytes: int):
        self.fields, self.max_bytes = fields, max_bytes


# --- what a route answers ------------------------------------------------------------------------

class Page:
    """The list envelope of API.md; a query is paged by ?page= and ?per_page=, a list is whole."""

    def __init__(self, shape: Shape, *, paged=True):
        self.shape, self.paged = shape, paged
        self.params = PAGING if paged else ()

    def dump(self, result) -> dict:
        if self.paged:
            return core.paginated(result, self.shape.dump)
        items = [self.shape.dump(row) for row in result]
        # per_page is at least 1 (the envelope's schema): an empty whole list is one empty page.
        return {"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)}


class File:
    """The bytes of a file (an image …) of one media type."""

    params = ()

    def __init__(self, media_type: str):
        self.media_type = media_type


class Operation:
    """One route's declaration: what openapi.py documents and what the route answers."""

    def __init__(self, method, rule, summary, view, *, endpoint, answers=None, status=200, body=None,
                 query=(), params=None, errors=None, idempotent=False):
        self.method, self.rule, self.summary, self.view = method, rule, summary, view
        self.endpoint = endpoint
        self.answers, self.status, self.idempotent = answers, status, idempotent
        self.body = Body(body) if isinstance(body, Object) else body
        self.query = (*query, *getattr(answers, "params", ()))
        self.errors = errors if errors is not None else WRITE_ERRORS if idempotent else ()
        self.path_params = _path_params(rule, params or {})

    def answer(self, arguments: dict):
        if self.idempotent:
            return core.idempotent(lambda: (self.status, self.answers.dump(self.view(**arguments))))
        result = self.view(**arguments)
        if isinstance(result, Response):  # an answer the view wrote itself
            return result
        if self.answers is None:
            return "", self.status
        if isinstance(self.answers, File):
            return Response(result, status=self.status, mimetype=self.answers.media_type)
        return jsonify(self.answers.dump(result)), self.status


def _path_params(rule: str, declared: dict[str, Field]) -> dict[str, Field]:
    """Each argument of the rule with its spec; an integer needs none, any other must have one."""
    found = {}
    for converter, name in RULE_ARGUMENT.findall(rule):
        if name in declared:
            found[name] = declared[name]
        elif converter == "int":
            found[name] = ROW_ID
        else:
            raise ValueError(f"{rule}: say what <{name}> is (params={{{name!r}: String(...)}})")
    if unknown := declared.keys() - found.keys():
        raise ValueError(f"{rule} has no argument {', '.join(sorted(unknown))}")
    return found


class Routes:
    """Declares the API's routes: ``route.get(rule, summary, answers=…, errors=…)`` and so on."""

    def __init__(self, blueprint):
        self.blueprint = blueprint
        self.operations: list[Operation] = []  # in the order declared, for openapi.py

    def get(self, rule, summary, **declared):
        return self.route("GET", rule, summary, **declared)

    def post(self, rule, summary, **declared):
        return self.route("POST", rule, summary, **declared)

    def patch(self, rule, summary, **declared):
        return self.route("PATCH", rule, summary, **declared)

    def delete(self, rule, summary, **declared):
        return self.route("DELETE", rule, summary, status=204, **declared)

    def route(self, method, rule, summary, *, endpoint=None, **declared):
        def register(view):
            name = endpoint or view.__name__
            operation = Operation(method, rule, summary, view, endpoint=f"{self.blueprint.name}.{name}",
                                  **declared)

            @functools.wraps(view)
            def answer(**arguments):
                return operation.answer(arguments)

            self.blueprint.add_url_rule(rule, name, answer, methods=[method])
            self.operations.append(operation)
            if isinstance(operation.body, Upload):
                UPLOAD_LIMITS[operation.endpoint] = operation.body.max_bytes
            return answer
        return register


route = Routes(core.api)
