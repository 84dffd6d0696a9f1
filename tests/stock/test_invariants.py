"""R11: random sequences of receipts, issues, returns, transfers, adjustments and reversals keep
every invariant of the ledger, compared step by step with a model kept in memory."""

import itertools
from collections import Counter

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.errors import InsufficientStock
from inventory.sites.services import create_site
from inventory.stock import services, transfers
from inventory.stock.models import Movement, StockItem
from inventory.stock.queries import ledger_drift
from tests.factories import make_material

SITES = ("A", "B", "C")
LOT_MATERIALS = ("WATER", "TENT")
run_numbers = itertools.count()


def make_machine(app):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.context = app.app_context()
            self.context.push()
            run = next(run_numbers)
            self.site = {name: f"R{run}-{name}" for name in SITES}
            create_site(actor=COMMAND_LINE, data={"code": self.site["A"], "name": "县库",
                                                  "kind": "county_depot"})
            for name in ("B", "C"):
                create_site(actor=COMMAND_LINE, data={"code": self.site[name], "name": name,
                                                      "kind": "town_store",
                                                      "parent": self.site["A"]})
            self.available = Counter()   # (site, material) -> on the shelf
            self.damaged = Counter()
            self.loans = []              # [issue number, line id, outstanding]
            self.serials = itertools.count()

        def teardown(self):
            db.session.remove()
            self.context.pop()

        def _shelf(self, status):
            codes = {code: name for name, code in self.site.items()}
            rows = db.session.execute(
                sa.select(StockItem.site_id, StockItem.material_id, sa.func.sum(StockItem.quantity))
                .where(StockItem.status == status).group_by(StockItem.site_id, StockItem.material_id))
            from inventory.catalog.models import Material
            from inventory.sites.models import Site
            sites = dict(db.session.execute(sa.select(Site.id, Site.code)).all())
            materials = dict(db.session.execute(sa.select(Material.id, Material.code)).all())
            return Counter({(codes[sites[s]], materials[m]): q for s, m, q in rows
                            if sites[s] in codes and q})

        @rule(site=st.sampled_from(SITES), material=st.sampled_from(LOT_MATERIALS),
              quantity=st.integers(1, 20), lot=st.sampled_from(["L1", "L2"]))
        def receive_lot(self, site, material, quantity, lot):
            services.receive(actor=COMMAND_LINE, data={"site": self.site[site], "material": material,
                                                       "quantity": quantity, "lot": lot})
            self.available[site, material] += quantity

        @rule(site=st.sampled_from(SITES))
        def receive_generator(self, site):
            services.receive(actor=COMMAND_LINE, data={
                "site": self.site[site], "material": "GEN", "quantity": 1,
                "serials": [f"{self.site[site]}-SN{next(self.serials)}"]})
            self.available[site, "GEN"] += 1

        @rule(site=st.sampled_from(SITES), material=st.sampled_from(LOT_MATERIALS + ("GEN",)),
              quantity=st.integers(1, 15))
        def issue(self, site, material, quantity):
            data = {"site": self.site[site], "recipient": {"type": "household", "name": "户"},
                    "lines": [{"material": material, "quantity": quantity}]}
            if self.available[site, material] < quantity:
                with pytest.raises(InsufficientStock):
                    services.issue(actor=COMMAND_LINE, data=data)
                return
            document = services.issue(actor=COMMAND_LINE, data=data)
            self.available[site, material] -= quantity
            self.loans += [[document.number, line.id, line.quantity] for line in document.lines
                           if line.is_loan]

        @precondition(lambda self: any(loan[2] for loan in self.loans))
        @rule(data=st.data(), condition=st.sampled_from(["good", "damaged", "lost"]))
        def give_back(self, data, condition):
            loan = data.draw(st.sampled_from([loan for loan in self.loans if loan[2]]))
            quantity = data.draw(st.integers(1, loan[2]))
            document = services.return_items(actor=COMMAND_LINE, data={
                "issue": loan[0], "lines": [{"issue_line": loan[1], "quantity": quantity,
                                             "condition": condition}]})
            loan[2] -= quantity
            site = next(name for name, code in self.site.items()
                        if code == document.issue.site.code)
            material = document.lines[0].issue_line.item.material.code
            if condition == "good":
                self.available[site, material] += quantity
            elif condition == "damaged":
                self.damaged[site, material] += quantity

        @rule(route=st.permutations(SITES), material=st.sampled_from(LOT_MATERIALS + ("GEN",)),
              quantity=st.integers(1, 10), lost=st.integers(0, 2))
        def transfer(self, route, material, quantity, lost):
            source, destination = route[0], route[1]
            data = {"from_site": self.site[source], "to_site": self.site[destination],
                    "lines": [{"material": material, "quantity": quantity}]}
            if self.available[source, material] < quantity:
                with pytest.raises(InsufficientStock):
                    transfers.create_transfer(actor=COMMAND_LINE, data=data)
                return
            transfer = transfers.create_transfer(actor=COMMAND_LINE, data=data)
            transfer = transfers.dispatch_transfer(actor=COMMAND_LINE, number=transfer.number)
            lines, arrived = [], 0
            for line in transfer.lines:
                received = max(0, line.quantity - lost)
                lines.append({"line": line.id, "received": received})
                arrived += received
            transfers.receive_transfer(actor=COMMAND_LINE, number=transfer.number,
                                      data={"lines": lines})
            self.available[source, material] -= quantity
            self.available[destination, material] += arrived

        @precondition(lambda self: any(self.available.values()))
        @rule(data=st.data())
        def adjust(self, data):
            (site, material), quantity = data.draw(st.sampled_from(
                [key_value for key_value in self.available.items() if key_value[1]]))
            if material == "GEN":
                return
            item = db.session.scalars(sa.select(StockItem).where(
                StockItem.site.has(code=self.site[site]), StockItem.material.has(code=material),
                StockItem.status == "available", StockItem.quantity > 0)).first()
            delta = data.draw(st.integers(-item.quantity, 5).filter(bool))
            services.adjust(actor=COMMAND_LINE, data={"label": item.label, "delta": delta,
                                                      "reason": "count_correction"})
            self.available[site, material] += delta

        @rule()
        def reverse_latest_receipt(self):
            movement = db.session.scalars(
                sa.select(Movement).where(Movement.kind == "receipt", Movement.quantity > 0,
                                          Movement.item.has(StockItem.serial.is_(None)))
                .order_by(Movement.id.desc())).first()
            if movement is None or db.session.scalar(sa.select(sa.exists().where(
                    Movement.reverses_id == movement.id))):
                return
            site = next((name for name, code in self.site.items()
                         if code == movement.item.site.code), None)
            if site is None:
                return
            material = movement.item.material.code
            if movement.item.quantity < movement.quantity:
                with pytest.raises(InsufficientStock):
                    services.reverse(actor=COMMAND_LINE, movement_id=movement.id)
                return
            services.reverse(actor=COMMAND_LINE, movement_id=movement.id)
            self.available[site, material] -= movement.quantity

        @invariant()
        def shelves_match_the_model(self):
            assert self._shelf("available") == +self.available
            assert self._shelf("damaged") == +self.damaged

        @invariant()
        def every_quantity_is_the_sum_of_its_movements(self):
            assert ledger_drift() == []

        @invariant()
        def a_serial_number_is_on_one_shelf_at_most(self):
            counts = db.session.execute(
                sa.select(StockItem.serial, sa.func.sum(StockItem.quantity))
                .where(StockItem.serial.is_not(None)).group_by(StockItem.serial)).all()
            assert all(total <= 1 for _serial, total in counts)

    return LedgerMachine


def test_random_operation_sequences_keep_every_invariant(app):
    make_material(app, "WATER", "瓶装饮用水")
    make_material(app, "TENT", "棉帐篷", returnable=True)
    make_material(app, "GEN", "发电机", tracking="serial", returnable=True)
    machine = make_machine(app)
    machine.TestCase.settings = settings(max_examples=12, stateful_step_count=25, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    machine.TestCase().runTest()
