"""No input makes the API answer 500: random JSON at every write endpoint of the OpenAPI
document, and random query strings at every list (a first cut of QUALITY.md F1)."""

import re

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from inventory.api.openapi import build_document
from tests.factories import receive

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                      children, max_size=5),
    max_leaves=12)

FIELD_NAMES = ["site", "material", "quantity", "lot", "serials", "lines", "label", "recipient",
               "from_site", "to_site", "issue", "issue_line", "condition", "delta", "reason",
               "code", "name", "kind", "parent", "hazards", "agreement", "materials", "per_person",
               "min_quantity", "result", "tested_on", "expiry_date", "received", "line"]
BODIES = st.one_of(JSON, st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=6))


def _paths(method: str, values: dict) -> list[str]:
    paths = []
    for path, item in build_document()["paths"].items():
        if method in item:
            paths.append(re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "X"), path))
    return paths


def test_random_json_never_gets_a_500(app, client, keeper, manager):
    [item] = receive(manager, site="GT-XB", quantity=5)["items"]
    values = {"code": "GT-XB", "label": item["label"], "number": "FF-2026-000001",
              "movement_id": "1", "norm_id": "1"}
    writes = [("post", path) for path in _paths("post", values) if path != "/auth/token"]
    writes += [("patch", path) for path in _paths("patch", values)]

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(target=st.sampled_from(writes), body=BODIES, as_keeper=st.booleans())
    def post_anything(target, body, as_keeper):
        method, path = target
        headers = (keeper if as_keeper else manager).headers
        response = getattr(client, method)(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code < 500, (method, path, body, response.get_data(as_text=True))
        assert response.is_json

    post_anything()


def test_random_query_strings_never_get_a_500(app, client, manager):
    lists = _paths("get", {"code": "GT-XB", "label": "X", "number": "X", "norm_id": "1"})

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(lists),
           query=st.dictionaries(st.sampled_from(["site", "material", "status", "kind", "page",
                                                  "per_page", "since", "until", "all", "q",
                                                  "include_sub_sites", "expiring_before",
                                                  "outstanding", "expiring_days", "label",
                                                  "parent", "category"]),
                                 st.text(max_size=20), max_size=4))
    def get_anything(path, query):
        response = client.get(f"/api/v1{path}", query_string=query, headers=manager.headers)
        assert response.status_code < 500, (path, query, response.get_data(as_text=True)[:500])

    get_anything()
