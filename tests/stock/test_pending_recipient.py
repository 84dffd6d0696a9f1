"""先发后补: goods issued to a queue of people before each recipient is taken down, flagged until
someone completes the recipient (audited), and the queue page (发放队列) that issues them."""

import pytest
import sqlalchemy as sa

from inventory.audit.models import AuditEntry
from inventory.auth.services import find_user
from inventory.db import db
from inventory.errors import Forbidden, InvalidState, ValidationError
from inventory.stock import services
from inventory.stock.issues import PENDING_RECIPIENT_NAME
from inventory.stock.models import Issue
from tests.factories import form_key, page_client, receive

pytestmark = pytest.mark.usefixtures("county", "catalog")


def _pending_issue(**recipient):
    return services.issue(actor=find_user("xb"), data={
        "site": "GT-XB", "recipient_pending": True, "recipient": {"type": "household", **recipient},
        "lines": [{"material": "WATER", "quantity": 2}]})


def test_a_pending_issue_needs_no_name_and_is_flagged(app, keeper):
    receive(keeper, quantity=10)
    with app.app_context():
        unnamed = _pending_issue()
        assert (unnamed.recipient_name, unnamed.recipient_pending) == (PENDING_RECIPIENT_NAME, True)
        blank = _pending_issue(name="  ")
        assert blank.recipient_name == PENDING_RECIPIENT_NAME
        named = _pending_issue(name="李家")
        assert (named.recipient_name, named.recipient_pending) == ("李家", True)
        with pytest.raises(ValidationError) as refused:
            services.issue(actor=find_user("xb"), data={
                "site": "GT-XB", "recipient": {"type": "household", "name": ""},
                "lines": [{"material": "WATER", "quantity": 1}]})
        assert "recipient.name" in refused.value.details


def test_completing_the_recipient_clears_the_flag_and_is_audited(app, keeper):
    receive(keeper, quantity=10)
    with app.app_context():
        number = _pending_issue().number
        done = services.complete_recipient(actor=find_user("xb"), number=number, data={
            "type": "household", "name": "马家庄 张秀英", "id_number": "620724198001011234x"})
        assert (done.recipient_name, done.recipient_id_number, done.recipient_pending) == (
            "马家庄 张秀英", "620724198001011234X", False)
        [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "issue",
                                                                 AuditEntry.entity_key == number))
        assert entry.username == "xb"
        assert entry.changes["recipient_name"] == [PENDING_RECIPIENT_NAME, "马家庄 张秀英"]
        assert entry.changes["recipient_pending"] == [True, False]
        assert "620724198001011234X" not in str(entry.changes), "the audit log masks ID numbers"
        with pytest.raises(InvalidState):
            services.complete_recipient(actor=find_user("xb"), number=number,
                                        data={"type": "household", "name": "又一次"})
        with pytest.raises(ValidationError):
            services.complete_recipient(actor=find_user("xb"), number=_pending_issue().number,
                                        data={"type": "household", "name": PENDING_RECIPIENT_NAME})


def test_a_keeper_of_another_site_cannot_complete_it(app, keeper, make_user):
    receive(keeper, quantity=10)
    make_user("keeper", username="nh", sites=["GT-NH"])
    with app.app_context():
        number = _pending_issue().number
        with pytest.raises(Forbidden):
            services.complete_recipient(actor=find_user("nh"), number=number,
                                        data={"type": "household", "name": "张家"})
        stored = db.session.scalar(sa.select(Issue).where(Issue.number == number))
        assert (stored.recipient_name, stored.recipient_pending) == (PENDING_RECIPIENT_NAME, True)
        assert not db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "issue")).all()


def test_the_queue_page_issues_to_two_people_in_a_row(app, client, login, keeper):
    receive(keeper, quantity=20)
    login("xb")
    page = client.get("/stock/issue/queue?site=GT-XB").get_data(as_text=True)
    assert "发放队列" in page and "先发后补" in page
    first = client.post("/stock/issue/queue?site=GT-XB", data={
        "idempotency_key": form_key(page), "lines-0-material": "WATER", "lines-0-quantity": "3",
        "recipient_name": "张家", "recipient_id_number": "620724198001011234"})
    assert first.status_code == 302, first.get_data(as_text=True)
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    pending_form = {"idempotency_key": form_key(page), "lines-0-material": "WATER", "lines-0-quantity": "2",
                    "recipient_pending": "y"}
    second = client.post("/stock/issue/queue?site=GT-XB", data=pending_form)
    assert second.status_code == 302, second.get_data(as_text=True)
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        issued = db.session.execute(sa.select(Issue.number, Issue.recipient_name, Issue.recipient_type,
                                              Issue.recipient_pending).order_by(Issue.id)).all()
    assert [row[1:] for row in issued] == [("张家", "household", False),
                                           (PENDING_RECIPIENT_NAME, "household", True)]
    assert issued[0].number in page and issued[1].number in page
    assert "待补登 1 人" in page
    # A form sent twice applies once; a short one says so by its row.
    replayed = client.post("/stock/issue/queue?site=GT-XB", data=pending_form)
    assert replayed.status_code == 302
    short = client.post("/stock/issue/queue?site=GT-XB", data={
        "idempotency_key": form_key(page), "lines-0-material": "WATER", "lines-0-quantity": "50",
        "recipient_name": "王"})
    assert short.status_code == 422 and "库存不足" in short.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 2

    # Completed from the slip; the pending list is then empty.
    slip = client.get(f"/stock/issues/{issued[1].number}").get_data(as_text=True)
    assert "补登领用人" in slip
    completing = slip[slip.index(f"/stock/issues/{issued[1].number}/recipient"):]
    blank = client.post(f"/stock/issues/{issued[1].number}/recipient", data={
        "idempotency_key": form_key(completing), "recipient_type": "household", "recipient_name": ""})
    assert blank.status_code == 422 and "不能为空" in blank.get_data(as_text=True)
    done = client.post(f"/stock/issues/{issued[1].number}/recipient", data={
        "idempotency_key": form_key(completing), "recipient_type": "household", "recipient_name": "李家"})
    assert done.status_code == 302, done.get_data(as_text=True)
    listing = client.get("/stock/issues?site=GT-XB&pending=true").get_data(as_text=True)
    assert issued[1].number not in listing and issued[0].number not in listing


def test_a_keeper_cannot_open_the_queue_of_another_site(app, keeper, make_user):
    make_user("keeper", username="nh", sites=["GT-NH"])
    other = page_client(app, "nh")
    assert other.get("/stock/issue/queue?site=GT-XB").status_code == 403
    assert other.get("/stock/issue/queue?site=GT-NH&incident=99").status_code == 404
