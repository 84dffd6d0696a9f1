"""No input makes the API answer 500: random JSON at every write endpoint of the OpenAPI
document, and random query strings at every list (a first cut of QUALITY.md F1).

Besides ordinary JSON the bodies carry the shapes that broke or spoofed things before (issue 14,
findings 5 and 10): lone surrogates, bidi controls and invisible characters in text and keys,
nesting from a few levels to past the parser's recursion limit, bytes that are not JSON, and
Content-Types that are not JSON (which must answer 415, whatever the body).
"""

import json
import re

import hypothesis.strategies as st
from hypothesis import HealthCheck, example, given, settings

from inventory.api.core import MAX_NESTING
from inventory.api.openapi import build_document
from inventory.api.routes import Upload, route
from tests.factories import receive

# Text no column, hash or list should take as it is: lone surrogates (JSON can say "\ud800", UTF-8
# cannot), bidi controls that reorder what is shown, characters that show as nothing, NUL.
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["\ud800", "\udfff\ud800", "\ud83d 没有另一半", "帐篷\u202e10-GT", "\u202e",
                     "\u2066新坝\u2069", "\u200f", "\u061c", "\u200b", "\ufeff\u200d", "\u2060 ",
                     "a\u200cb", "\u3164", "\x00", "line\nbreak"]),
    st.text(st.characters(categories=["Cs", "Cf", "Zs", "Cc"]), min_size=1, max_size=6))
TEXT = st.one_of(st.text(max_size=40), HOSTILE_TEXT)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.one_of(st.text(max_size=12), HOSTILE_TEXT), children, max_size=5),
    max_leaves=12)

FIELD_NAMES = ["site", "material", "quantity", "lot", "serials", "lines", "label", "recipient",
               "from_site", "to_site", "issue", "issue_line", "condition", "delta", "reason",
               "code", "name", "kind", "parent", "hazards", "agreement", "materials", "per_person",
               "min_quantity", "result", "tested_on", "expiry_date", "received", "line", "note"]
BODIES = st.one_of(JSON, st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=6))


def _nested(depth: int, shape: str) -> str:
    if shape == "list":
        return "[" * depth + "]" * depth
    if shape == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth  # never closed


# Nesting around our own limit, around the parser's, and far past it; alone or as a field's value.
DEPTHS = st.one_of(st.integers(1, 1200), st.sampled_from(
    [MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, 900, 950, 990, 1000, 100_000]))
DEEP = st.builds(
    lambda depth, shape, field: (_nested(depth, shape) if field is None
                                 else f'{{"site": "GT-XB", "{field}": {_nested(depth, shape)}}}'),
    DEPTHS, st.sampled_from(["list", "object", "open"]), st.none() | st.sampled_from(FIELD_NAMES))
# What goes on the wire: JSON text with lone surrogates escaped (as JSON says them) or written
# out raw (bytes no UTF-8 decoder takes), deep nesting, and bytes that are no JSON at all.
RAW_BODIES = st.one_of(
    BODIES.map(lambda body: json.dumps(body).encode()),
    BODIES.map(lambda body: json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    DEEP.map(str.encode), st.binary(max_size=60), st.just(b""))
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"]
OTHER_TYPES = ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
               "multipart/form-data", "multipart/form-data; boundary=x", "application/xml",
               "text/json", "application/octet-stream", ""]
CONTENT_TYPES = st.one_of(st.sampled_from(JSON_TYPES), st.sampled_from(OTHER_TYPES), st.none())
MULTIPART = ["multipart/form-data", "multipart/form-data; boundary=x"]
# The routes that take a file (as the API's paths, without /api/v1).
UPLOAD_PATHS = {operation.rule for operation in route.operations if isinstance(operation.body, Upload)}


def _paths(method: str, values: dict) -> list[str]:
    paths = []
    for path, item in build_document()["paths"].items():
        if method in item:
            paths.append(re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "X"), path))
    return paths


def _writes(manager) -> list[tuple[str, str]]:
    [item] = receive(manager, site="GT-XB", quantity=5)["items"]
    values = {"code": "GT-XB", "label": item["label"], "number": "FF-2026-000001",
              "movement_id": "1", "norm_id": "1", "stocktake_id": "1", "incident_id": "1",
              "request_id": "1", "kit_id": "1", "device_id": "1", "conflict_id": "1", "job_id": "1"}
    writes = [("post", path) for path in _paths("post", values)]
    return writes + [("patch", path) for path in _paths("patch", values)]


def test_random_json_never_gets_a_500(app, client, keeper, manager):
    writes = [target for target in _writes(manager) if target[1] != "/auth/token"]

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(target=st.sampled_from(writes), body=BODIES, as_keeper=st.booleans())
    def post_anything(target, body, as_keeper):
        method, path = target
        headers = (keeper if as_keeper else manager).headers
        response = getattr(client, method)(f"/api/v1{path}", data=json.dumps(body),
                                           content_type="application/json", headers=headers)
        assert response.status_code < 500, (method, path, body, response.get_data(as_text=True))
        assert response.is_json

    post_anything()


def test_hostile_bodies_and_content_types_never_get_a_500(app, client, keeper, manager):
    """Every write, the token endpoint included, with any of the shapes above under any type."""
    writes = _writes(manager)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(target=st.sampled_from(writes), body=RAW_BODIES, content_type=CONTENT_TYPES,
           as_keeper=st.booleans())
    @example(target=("post", "/receipts"), content_type="application/json", as_keeper=True,
             body=b'{"site": "GT-XB", "note": %s}' % _nested(940, "list").encode())
    @example(target=("post", "/auth/token"), content_type="text/plain", as_keeper=False,
             body=b'{"username": "\\ud800", "password": "x"}')
    def send_anything(target, body, content_type, as_keeper):
        method, path = target
        headers = dict((keeper if as_keeper else manager).headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = getattr(client, method)(f"/api/v1{path}", data=body, headers=headers)
        answer = (method, path, body[:200], content_type, response.get_data(as_text=True)[:300])
        assert response.status_code < 500, answer
        assert response.is_json, answer
        # A route that takes a file takes multipart/form-data (refusing what is in it with 422).
        takes = MULTIPART if path in UPLOAD_PATHS else JSON_TYPES
        if body and content_type not in takes:
            assert response.status_code == 415, answer

    send_anything()


def test_random_query_strings_never_get_a_500(app, client, manager):
    lists = _paths("get", {"code": "GT-XB", "label": "X", "number": "X", "norm_id": "1",
                               "stocktake_id": "1", "incident_id": "1", "request_id": "1", "kit_id": "1",
                               "device_id": "1", "conflict_id": "1"})

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(lists),
           query=st.dictionaries(st.sampled_from(["site", "material", "status", "kind", "page",
                                                  "per_page", "since", "until", "all", "q",
                                                  "include_sub_sites", "expiring_before",
                                                  "outstanding", "expiring_days", "label",
                                                  "parent", "category", "incident", "after",
                                                  "types", "limit", "recipient_pending"]),
                                 st.text(max_size=20), max_size=4))
    def get_anything(path, query):
        response = client.get(f"/api/v1{path}", query_string=query, headers=manager.headers)
        assert response.status_code < 500, (path, query, response.get_data(as_text=True)[:500])

    get_anything()
