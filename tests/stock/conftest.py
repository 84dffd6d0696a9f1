"""Stock fixtures: a small county with a catalog, and API helpers for its people."""

import pytest

from tests.catalog.test_catalog_api import make_material


@pytest.fixture
def catalog(app):
    """Water (lot, 1 year), tents (lot, returnable), generators (serial, returnable)."""
    make_material(app, "WATER", "瓶装饮用水", shelf_life_days=365)
    make_material(app, "TENT", "棉帐篷", unit="顶", returnable=True)
    make_material(app, "GEN", "汽油发电机", unit="台", tracking="serial", returnable=True,
                  needs_testing=True)
    make_material(app, "QUILT", "棉被", unit="床")
    return ["WATER", "TENT", "GEN", "QUILT"]


class Api:
    """A JSON client for one user."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def post(self, path, body=None, key=None, **kwargs):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(f"/api/v1{path}", json=body, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)


@pytest.fixture
def keeper(client, make_user, token_for, county, catalog):
    """The keeper of 新坝镇 (GT-XB and what hangs under it)."""
    return Api(client, token_for(make_user("keeper", username="xb", sites=["GT-XB"])))


@pytest.fixture
def manager(client, make_user, token_for, county, catalog):
    return Api(client, token_for(make_user("manager", username="boss")))


def receive(api, site="GT-XB", material="WATER", quantity=10, **fields):
    response = api.post("/receipts", {"site": site, "material": material, "quantity": quantity,
                                      **fields})
    assert response.status_code == 201, response.json
    return response.json


def check_ledger(app):
    """Run `flask check ledger`; return its exit code and output."""
    result = app.test_cli_runner().invoke(args=["check", "ledger"])
    return result.exit_code, result.output
