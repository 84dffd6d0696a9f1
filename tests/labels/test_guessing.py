"""S13: whoever keeps asking for labels that are not theirs to see is refused for a while."""

from tests.factories import page_client, receive


def test_many_unknown_labels_get_a_user_refused_and_no_one_else(app, client, login, make_user,
                                                                  manager):
    app.extensions["label_misses"].limit = 5
    item = receive(manager, site="GT-XB", material="WATER", quantity=3)["items"][0]
    guesser = make_user("keeper", sites=["GT-XB"])
    login(guesser)
    misses = [client.get(f"/scan/lookup/ABCD{n:04d}EFGH{n:04d}").status_code for n in range(5)]
    assert misses == [404] * 5
    # Now even a real label is refused, on every label route, with the usual error answer.
    assert client.get(f"/scan/lookup/{item['label']}").status_code == 429
    refused = client.get(f"/s/{item['label']}")
    assert refused.status_code == 429 and "请求过于频繁" in refused.get_data(as_text=True)
    colleague = page_client(app, make_user("keeper", sites=["GT-XB"]))
    assert colleague.get(f"/scan/lookup/{item['label']}").status_code == 200


def test_labels_of_another_site_count_as_misses_too(app, client, login, make_user, manager):
    app.extensions["label_misses"].limit = 3
    foreign = receive(manager, site="GT-NH", material="WATER",
                      quantity=1)["items"][0]
    login(make_user("keeper", sites=["GT-XB"]))
    assert [client.get(f"/s/{foreign['label']}").status_code for _ in range(3)] == [404] * 3
    assert client.get(f"/s/{foreign['label']}").status_code == 429


def test_the_api_counts_unknown_and_foreign_labels_too(app, manager, keeper):
    app.extensions["label_misses"].limit = 4
    foreign = receive(manager, site="GT-NH", material="WATER", quantity=1)["items"][0]
    own = receive(keeper, material="WATER", quantity=1)["items"][0]
    answers = [keeper.get("/stock/ZZZZZZZZZZZZZZZZ").status_code,
               keeper.get(f"/stock/{foreign['label']}").status_code,
               keeper.get(f"/stock/{foreign['label']}/qr.png").status_code,
               keeper.get("/stock/ZZZZZZZZZZZZZZZZ/qr.svg").status_code]
    assert answers == [404, 403, 403, 404]
    refused = keeper.get(f"/stock/{own['label']}")
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_requests"
    assert manager.get(f"/stock/{own['label']}").status_code == 200
