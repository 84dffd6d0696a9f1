"""The OpenAPI document describes every API route, and only those."""

import re

from inventory.api.openapi import build_document


def test_the_document_is_public_and_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    documented = {(path, method) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        served |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_every_reference_resolves():
    document = build_document()
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"], name
