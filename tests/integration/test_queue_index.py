"""The work queue reads a shop's page off ix_tickets_shop_next (migration 0014), in its own order,
instead of sorting every ticket of the shop: checked on the statement the view really runs."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from shouhou.domain.actors import Actor
from shouhou.services.app import Shouhou
from shouhou.services.views import tickets as tickets_views

from ..conftest import is_postgres


@pytest.mark.skipif(is_postgres(), reason="EXPLAIN QUERY PLAN is SQLite's; PostgreSQL's plan depends on its statistics")
def test_the_queue_of_a_shop_reads_its_page_off_the_index_in_order(app: Shouhou, engine: Engine) -> None:
    with app.uow(write=False) as uow:
        tickets_views.list_tickets(uow, Actor("staff", "U1", shop_id="S1", role="cs_agent"), limit=50)
    # the page's statement of a shop's queue without filters, as the view compiled and ran it
    _, page = tickets_views.queue_queries("shop", 0, None, False, False, False, False, False)
    statement, parameters = page.sql(engine.dialect, seen="S1", limit=50, offset=0)
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_tickets_shop_next" in plan and "TEMP B-TREE" not in plan, plan
