"""Each role's navigation follows its own work (issue 15): a keeper's tabs are the jobs at a
town room, a dispatcher's are transfers, nobody is offered what they may not do; and units
speak the page's language."""

import pytest

from inventory import navigation
from inventory.auth.access import can_somewhere
from tests.factories import page_client, receive


class _User:
    is_authenticated = True

    def __init__(self, role, sites=("GT-XB",)):
        self.role, self.sites = role, list(sites)


@pytest.mark.parametrize("role", sorted(navigation.MENUS))
def test_nobody_is_offered_what_they_may_not_do(role):
    user = _User(role)
    for entry in navigation.menu(user):
        assert entry.permission is None or can_somewhere(user, entry.permission), (role, entry.endpoint)
    assert navigation.tabs(user)[-1] is navigation.MORE and len(navigation.tabs(user)) == 5


def test_the_roles_tabs_are_their_own_work():
    names = {role: [str(entry.name) for entry in navigation.tabs(_User(role))] for role in navigation.MENUS}
    assert names["keeper"] == ["扫码", "发放", "入库", "库存", "更多"]
    assert "发放" not in names["dispatcher"] and "调拨" in names["dispatcher"]
    assert "用户" not in [str(e.name) for e in navigation.menu(_User("manager"))]
    assert "用户" in [str(e.name) for e in navigation.menu(_User("admin", sites=()))]


def test_a_keeper_lands_on_the_tasks_a_manager_on_the_dashboard(app, keeper, make_user):
    page = page_client(app, "xb").get("/").get_data(as_text=True)
    assert 'class="tasks"' in page and "储备态势" not in page
    manager = page_client(app, make_user("manager")).get("/").get_data(as_text=True)
    assert "储备态势" in manager and 'class="tasks"' not in manager


def test_the_more_page_lists_the_whole_menu(app, keeper):
    page = page_client(app, "xb").get("/more").get_data(as_text=True)
    for name in ("台账", "预警", "定额", "站点", "物资目录", "修改密码"):
        assert name in page
    assert "审计日志" not in page


def test_units_are_translated_in_english(app, keeper):
    receive(keeper, material="TENT", quantity=3)
    client = page_client(app, "xb")
    assert "<small>顶</small>" in client.get("/stock/?site=GT-XB").get_data(as_text=True)
    english = client.get("/stock/?site=GT-XB&lang=en").get_data(as_text=True)
    assert "<small>pcs</small>" in english and "<small>顶</small>" not in english
