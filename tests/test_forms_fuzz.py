"""Whatever is typed into a form, the page answers with a message, never a 500 (QUALITY.md F2)."""

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from tests.stock.conftest import catalog, keeper, manager

__all__ = ["catalog", "keeper", "manager"]

TEXT = st.one_of(st.text(max_size=30), st.sampled_from(
    ["0", "-1", "1e308", "NaN", "inf", "1e3", "0.1", "١٢", " 5 ", "9" * 30, "\x00", "<b>x</b>",
     "2026-02-30", "2026-13-01", ""]))
FORMS = {
    "/sites/new": ["code", "name", "kind", "parent", "population", "households",
                   "planning_population", "latitude", "longitude", "agreement_valid_from",
                   "agreement_lines"],
    "/catalog/new": ["code", "name", "category", "unit", "tracking", "shelf_life_days"],
    "/stock/receive": ["site", "material", "quantity", "lot", "production_date", "expiry_date",
                       "serials", "source"],
    "/stock/issue": ["site", "recipient_type", "recipient_name", "recipient_id_number",
                     "lines-0-material", "lines-0-label", "lines-0-quantity", "lines-0-due_back"],
    "/stock/transfers/new": ["from_site", "to_site", "lines-0-material", "lines-0-quantity"],
    "/norms/new": ["name", "site_kind", "materials", "min_quantity", "per_person"],
}


def test_random_form_input_never_gets_a_500(app, client, login, manager):
    login("boss")

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(sorted(FORMS)), data=st.data())
    def submit(path, data):
        fields = {name: data.draw(TEXT) for name in FORMS[path]}
        response = client.post(path, data=fields)
        assert response.status_code < 500, (path, fields)

    submit()
