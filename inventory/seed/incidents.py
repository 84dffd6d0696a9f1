"""The demo's incidents (灾情调度), through the same services the duty office uses: a flood some
weeks ago, handled and closed, and an earthquake drill under way today. The dispatcher opens
incidents, plans and approves; the stock at the towns (receipts, issues, returns) is the
command line's, as the rest of the demo's stock is (the demo has one keeper, 新坝镇's).

Every step runs at its own moment of the demo's calendar (clock.travel), counted back from the
day the demo is loaded, so the flood is always weeks old and the drill always a few hours old.
"""

import datetime as dt

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.dispatch import planning
from inventory.dispatch import services as dispatch
from inventory.stock.services import issue, return_items
from inventory.stock.transfers import receive_transfer

# 黑河高台段洪涝: started FLOOD_DAYS_AGO (after the last round of counts, before 和平村便民商店
# joined), the goods received the next day, part of the tents lent to households back after
# nine days, the incident closed the day after that.
FLOOD_DAYS_AGO = 33
FLOOD_TOWN = "GT-XH"
# The drill: started DRILL_HOURS_AGO; 新坝镇 is cut off (its roads through the 祁连山 foothills),
# so its request waits for the road, while 南华镇's is approved and on the road.
DRILL_HOURS_AGO = 3
CUT_OFF_TOWN = "GT-XB"
REACHABLE_TOWN = "GT-NH"
DRIVER = {"driver_name": "张建军", "driver_phone": "13909361234", "vehicle": "甘G·D3721"}


def _day(today: dt.date, days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour, minute),
                               tzinfo=clock.timezone())


def flood(today: dt.date) -> None:
    """洪涝 Ⅳ级 at 宣化镇: one request planned and approved, its transfer received, households
    given water and food and lent tents (some back), then closed."""
    dispatcher, manager = find_user("dispatcher"), find_user("manager")
    with clock.travel(_day(today, FLOOD_DAYS_AGO, 7, 40)):
        incident = dispatch.open_incident(actor=dispatcher, data={
            "name": "黑河高台段洪涝", "type": "flood", "level": 4,
            "started_at": _day(today, FLOOD_DAYS_AGO, 5, 30).isoformat(),
            "people": [{"site": FLOOD_TOWN, "affected_people": 2100, "displaced_people": 380},
                       {"site": "GT-CG", "affected_people": 650, "displaced_people": 0}],
            "note": "黑河上游强降雨，宣化镇沿河村组进水，紧急转移安置群众 380 人"})
    with clock.travel(_day(today, FLOOD_DAYS_AGO, 8, 10)):
        request = dispatch.create_request(actor=dispatcher, incident_id=incident.id, data={
            "to_site": FLOOD_TOWN, "note": "宣化镇防汛抢险及安置点生活物资",
            "lines": [{"material": "3-01-001", "quantity": 800}, {"material": "9-05-001", "quantity": 30},
                      {"material": "1-04-003", "quantity": 60}, {"material": "1-05-001", "quantity": 80}]})
    with clock.travel(_day(today, FLOOD_DAYS_AGO, 8, 30)):
        planning.plan(actor=dispatcher, request_id=request.id)
        transfers = planning.approve(actor=dispatcher, request_id=request.id, data=DRIVER)
    with clock.travel(_day(today, FLOOD_DAYS_AGO, 11, 15)):
        for transfer in transfers:
            receive_transfer(actor=COMMAND_LINE, number=transfer.number)
    with clock.travel(_day(today, FLOOD_DAYS_AGO, 14)):
        households = {"type": "household", "name": "宣化镇台子寺村受灾户（15户）"}
        issue(actor=COMMAND_LINE, data={
            "site": FLOOD_TOWN, "recipient": households, "incident": incident.id,
            "purpose": "洪涝受灾群众生活救助",
            "lines": [{"material": "1-05-001", "quantity": 30}, {"material": "1-04-003", "quantity": 15}]})
        # Tents are lent, not given: they come back when the houses are dry again.
        loan = issue(actor=COMMAND_LINE, data={
            "site": FLOOD_TOWN, "recipient": {"type": "household", "name": "宣化镇乐三村受灾户（6户）"},
            "incident": incident.id, "purpose": "洪涝紧急转移临时安置",
            "lines": [{"material": "1-01-002", "quantity": 6,
                       "due_back": today + dt.timedelta(days=14)}]})
    with clock.travel(_day(today, FLOOD_DAYS_AGO - 9, 10)):
        return_items(actor=COMMAND_LINE, data={
            "issue": loan.number, "note": "4 户已返家，帐篷清洗后归还",
            "lines": [{"issue_line": loan.lines[0].id, "quantity": 4, "condition": "good"}]})
    with clock.travel(_day(today, FLOOD_DAYS_AGO - 10, 17)):
        dispatch.close_incident(actor=manager, incident_id=incident.id)


def drill(now: dt.datetime) -> None:
    """地震演练 Ⅲ级, started a few hours ago: 新坝镇 cut off and asking, 南华镇 asking and its
    goods on the road."""
    dispatcher = find_user("dispatcher")
    started = now - dt.timedelta(hours=DRILL_HOURS_AGO)
    with clock.travel(started + dt.timedelta(minutes=20)):
        incident = dispatch.open_incident(actor=dispatcher, data={
            "name": "高台县地震应急演练", "type": "earthquake", "level": 3,
            "started_at": started.isoformat(),
            "people": [{"site": CUT_OFF_TOWN, "affected_people": 3200, "displaced_people": 860},
                       {"site": REACHABLE_TOWN, "affected_people": 1500, "displaced_people": 420}],
            "cut_off_sites": [CUT_OFF_TOWN],
            "note": "演练：模拟新坝镇附近 5.8 级地震，新坝镇对外道路塌方中断"})
    with clock.travel(started + dt.timedelta(minutes=50)):
        dispatch.create_request(actor=find_user("keeper"), incident_id=incident.id, data={
            "to_site": CUT_OFF_TOWN, "note": "道路中断，待抢通后调运",
            "lines": [{"material": "1-01-002", "quantity": 120}, {"material": "1-02-001", "quantity": 400},
                      {"material": "1-05-001", "quantity": 300}, {"material": "1-04-001", "quantity": 130}]})
    with clock.travel(started + dt.timedelta(minutes=65)):
        request = dispatch.create_request(actor=dispatcher, incident_id=incident.id, data={
            "to_site": REACHABLE_TOWN, "note": "南华镇安置点首批物资",
            # What the county depot holds above its own norm: one truck from 高台县救灾物资储备库.
            "lines": [{"material": "1-04-002", "quantity": 200}, {"material": "1-05-002", "quantity": 150}]})
    with clock.travel(started + dt.timedelta(minutes=80)):
        planning.plan(actor=dispatcher, request_id=request.id)
        planning.approve(actor=dispatcher, request_id=request.id, data=DRIVER)
