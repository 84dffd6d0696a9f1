"""A recipient's ID number is for those who hand out goods against it (issue 14, finding 8).

The pages mask it; the API answers it in full only to the roles that issue at the issue's
site (its keepers, managers, admins), and masked, as the printed slip shows it, to everyone
else who may read the issue.
"""

import pytest

from tests.factories import Api, issue, receive

ID_NUMBER = "62072419800101123X"
MASKED = "620***********123X"


@pytest.fixture
def loan(keeper):
    receive(keeper, material="TENT", quantity=5, lot="T1")
    return issue(keeper, [{"material": "TENT", "quantity": 1, "due_back": "2099-01-01"}],
                 recipient={"type": "person", "name": "张三", "id_number": ID_NUMBER})


@pytest.mark.parametrize(("role", "sites", "shown"), [
    ("keeper", ["GT-XB"], ID_NUMBER),
    ("manager", [], ID_NUMBER),
    ("admin", [], ID_NUMBER),
    ("dispatcher", [], MASKED),
    ("viewer", [], MASKED),
    ("auditor", ["GT-XB"], MASKED),
])
def test_the_id_number_is_whole_only_for_those_who_issue_there(client, make_user, token_for, loan,
                                                               role, sites, shown):
    reader = Api(client, token_for(make_user(role, sites=sites)))
    assert loan["recipient"]["id_number"] == ID_NUMBER, "the keeper who issued it sees it whole"
    one = reader.get(f"/issues/{loan['number']}")
    assert one.status_code == 200 and one.json["recipient"]["id_number"] == shown
    [listed] = reader.get("/issues").json["items"]
    assert listed["recipient"]["id_number"] == shown
    assert (ID_NUMBER in one.get_data(as_text=True)) == (shown == ID_NUMBER)
