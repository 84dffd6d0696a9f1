"""The offline pages: a user's devices (revoke; an admin reports one lost) and the operations a
sync held, which a manager applies with a correction or rejects."""

import re

from tests.factories import Api, check_ledger, form_key, page_client, receive
from tests.offline.test_devices_api import register
from tests.offline.test_sync_api import issue_of, operation, quantity, sync


def test_a_keeper_sees_and_revokes_their_own_devices_and_an_admin_reports_one_lost(
        app, client, keeper, make_user, token_for):
    device, phone = register(client, keeper, "仓库一号机")
    other, _other_phone = register(client, Api(client, token_for(make_user("keeper", username="nh",
                                                                           sites=["GT-NH"]))), "南华的手机")
    pages = page_client(app, "xb")
    listed = pages.get("/offline/devices").get_data(as_text=True)
    assert "仓库一号机" in listed and "使用中" in listed and "南华的手机" not in listed
    assert "/lost" not in listed  # an admin's act
    assert pages.post(f"/offline/devices/{other['id']}/revoke").status_code == 404
    revoked = pages.post(f"/offline/devices/{device['id']}/revoke", follow_redirects=True)
    assert "已注销设备" in revoked.get_data(as_text=True) and phone.get("/me").status_code == 401
    again = pages.post(f"/offline/devices/{device['id']}/revoke", follow_redirects=True)
    assert "已注销" in again.get_data(as_text=True) and again.status_code == 200
    make_user("admin", username="root")
    admin = page_client(app, "root")
    everyone = admin.get("/offline/devices").get_data(as_text=True)
    assert "南华的手机" in everyone and "仓库一号机" in everyone
    lost = admin.post(f"/offline/devices/{other['id']}/lost", follow_redirects=True)
    assert "已挂失设备" in lost.get_data(as_text=True)
    assert pages.post(f"/offline/devices/{device['id']}/lost").status_code == 403


def test_a_manager_applies_a_held_issue_with_its_correction_from_the_page(app, client, keeper, manager):
    _device, phone = register(client, keeper, "一号机")
    water = receive(keeper, quantity=3)["items"][0]["label"]
    held_op = operation("issue", issue_of(water, 5))
    assert sync(phone, held_op)[0]["status"] == "conflict"
    assert page_client(app, "xb").get("/offline/conflicts").status_code == 403
    boss = page_client(app, "boss")
    page = boss.get("/offline/conflicts").get_data(as_text=True)
    assert "账面库存不足" in page and "一号机" in page and water in page and "要 5，账面 3" in page
    conflict_id = re.search(r'/offline/conflicts/(\d+)/resolve', page)[1]
    # The note is what the keeper is told: without one nothing happens.
    empty = boss.post(f"/offline/conflicts/{conflict_id}/resolve", data={"note": " ", "apply": "1"},
                      follow_redirects=True)
    assert "请填写处理说明" in empty.get_data(as_text=True) and quantity(keeper, water) == 3
    done = boss.post(f"/offline/conflicts/{conflict_id}/resolve",
                     data={"note": "实物已发出", "apply": "1", "idempotency_key": form_key(page)},
                     follow_redirects=True)
    assert "已更正并入账" in done.get_data(as_text=True) and quantity(keeper, water) == 0
    assert "没有记录" in done.get_data(as_text=True)  # nothing open is left
    applied = boss.get("/offline/conflicts?status=applied").get_data(as_text=True)
    assert "实物已发出" in applied
    second = boss.post(f"/offline/conflicts/{conflict_id}/resolve", data={"note": "再来", "reject": "1"},
                       follow_redirects=True)
    assert "该记录已处理" in second.get_data(as_text=True)
    assert check_ledger(app)[0] == 0


def test_a_manager_rejects_one_held_operation_and_the_others_stay(app, client, keeper, manager):
    _device, phone = register(client, keeper)
    first, second = (operation("issue", issue_of(f"NO-SUCH-{n}", 1), seq=n) for n in (1, 2))
    assert [r["status"] for r in sync(phone, first, second)] == ["conflict", "conflict"]
    boss = page_client(app, "boss")
    page = boss.get("/offline/conflicts").get_data(as_text=True)
    ids = re.findall(r'/offline/conflicts/(\d+)/resolve', page)
    keys = re.findall(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"', page)
    assert len(ids) == 2 and len(set(keys)) == 2  # each its own form, its own key
    boss.post(f"/offline/conflicts/{ids[0]}/resolve", data={"note": "标签写错", "reject": "1",
                                                            "idempotency_key": keys[0]})
    boss.post(f"/offline/conflicts/{ids[1]}/resolve", data={"note": "也写错了", "reject": "1",
                                                            "idempotency_key": keys[1]})
    assert [r["status"] for r in sync(phone, first, second)] == ["rejected", "rejected"]
    assert manager.get("/sync/conflicts?status=rejected").json["total"] == 2


def test_a_held_body_is_shown_whatever_the_phone_sent():
    from inventory.offline.queries import recorded_lines

    assert recorded_lines("issue", {"lines": [{"label": "AB12", "quantity": 3}, {"material": "WATER"}]}) == [
        "AB12 × 3", "WATER"]
    assert recorded_lines("adjustment", {"label": "AB12", "delta": -2}) == ["AB12 -2"]
    assert recorded_lines("count", {"label": "AB12", "counted": 0}) == ["AB12 = 0"]
    for body in ({}, {"lines": "x"}, {"lines": [1, None, [], {"label": {"a": 1}}]}, {"delta": "十"},
                 {"label": None, "delta": 1.5}):
        for kind in ("issue", "adjustment", "count", "return"):
            assert all(isinstance(line, str) for line in recorded_lines(kind, body))
