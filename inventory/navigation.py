"""Who sees which way through the app: each role's navigation follows its own work.

A keeper's day is scanning, issuing and receiving at a town room; a dispatcher's is transfers
between sites; a manager's is the county's readiness. Each role gets a full menu (the top bar on a
desktop, the 更多 page on a phone) and, on a phone, a bottom tab bar of its five most frequent
jobs, the last always 更多.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from inventory.auth.access import can_somewhere


@dataclass(frozen=True)
class Entry:
    endpoint: str
    name: str
    # The endpoints (or blueprints, ending in ".") under which this entry is the current one.
    covers: tuple[str, ...]
    # Shown only to users who hold this permission somewhere.
    permission: str | None = None

    def is_current(self, endpoint: str | None) -> bool:
        endpoint = endpoint or ""
        return any(endpoint == c or (c.endswith(".") and endpoint.startswith(c)) for c in self.covers)


HOME = Entry("dashboard.index", _l("首页"), ("dashboard.index",))
SCAN = Entry("labels.scanner", _l("扫码"), ("labels.",))
ISSUE = Entry("stock.issue", _l("发放"), ("stock.issue", "stock.issue_slip"), "stock.issue")
RECEIVE = Entry("stock.receive", _l("入库"), ("stock.receive", "stock.receipt"), "stock.receive")
STOCK = Entry("stock.index", _l("库存"), ("stock.index", "stock.item", "stock.summary", "stock.adjust",
                                          "stock.test_run"))
ISSUES = Entry("stock.issues", _l("发放记录"), ("stock.issues", "stock.loans", "stock.give_back",
                                               "stock.return_slip"))
TRANSFERS = Entry("stock.transfers", _l("调拨"), ("stock.transfers", "stock.transfer", "stock.new_transfer",
                                                   "stock.receive_transfer"))
LEDGER = Entry("stock.ledger", _l("台账"), ("stock.ledger",))
STOCKTAKES = Entry("stocktakes.index", _l("盘点"), ("stocktakes.",))
INCIDENTS = Entry("dispatch.index", _l("灾情调度"), ("dispatch.",))
ALERTS = Entry("alerts.index", _l("预警"), ("alerts.",))
NORMS = Entry("norms.shortfalls", _l("定额"), ("norms.",))
SITES = Entry("sites.index", _l("站点"), ("sites.",))
CATALOG = Entry("catalog.index", _l("物资目录"), ("catalog.",))
USERS = Entry("auth.users", _l("用户"), ("auth.users", "auth.new_user", "auth.edit_user"), "users.manage")
AUDIT = Entry("audit.index", _l("审计日志"), ("audit.",), "audit.view")
DEVICES = Entry("offline.devices", _l("离线设备"), ("offline.devices",))
HELD = Entry("offline.conflicts", _l("离线记录"), ("offline.conflicts",), "sync.resolve")
IMPORTS = Entry("imports.index", _l("导入"), ("imports.index", "imports.detail"), "stock.receive")
MORE = Entry("dashboard.more", _l("更多"), ("dashboard.more",))

# Every role's menu, its most frequent work first; a role's tab bar is its first four, then 更多.
MENUS: dict[str, tuple[Entry, ...]] = {
    "keeper": (SCAN, ISSUE, RECEIVE, STOCK, HOME, ISSUES, TRANSFERS, INCIDENTS, STOCKTAKES, ALERTS, LEDGER,
               NORMS, SITES, CATALOG, DEVICES, IMPORTS),
    "dispatcher": (HOME, INCIDENTS, TRANSFERS, STOCK, ALERTS, NORMS, SITES, LEDGER, CATALOG, DEVICES),
    "manager": (HOME, ALERTS, NORMS, STOCK, INCIDENTS, STOCKTAKES, ISSUES, TRANSFERS, LEDGER, SITES, CATALOG,
                SCAN, HELD, AUDIT, DEVICES, IMPORTS),
    "admin": (HOME, ALERTS, NORMS, STOCK, INCIDENTS, STOCKTAKES, ISSUES, TRANSFERS, LEDGER, SITES, CATALOG,
              SCAN, HELD, USERS, AUDIT, DEVICES, IMPORTS),
    "auditor": (HOME, STOCKTAKES, STOCK, LEDGER, ALERTS, ISSUES, TRANSFERS, INCIDENTS, NORMS, SITES, CATALOG,
                SCAN, DEVICES),
    "viewer": (HOME, INCIDENTS, STOCK, ALERTS, NORMS, SITES, CATALOG, LEDGER, STOCKTAKES, DEVICES),
}
TABS = 4


def menu(user) -> list[Entry]:
    """The user's whole menu, in the order of the role's work."""
    return [entry for entry in MENUS.get(user.role, ()) if
            entry.permission is None or can_somewhere(user, entry.permission)]


def tabs(user) -> list[Entry]:
    """The phone's bottom tab bar: the role's four most frequent jobs, then 更多."""
    return [*menu(user)[:TABS], MORE]
