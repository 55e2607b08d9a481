"""A client generated from the app's OpenAPI document works against it: openapi-python-client (the
test extra) writes a Python package from /openapi.json, and that package lists tickets and approves one
with a bearer token, over an httpx transport to the ASGI app. It breaks when the document stops
describing what the API does (a name clash between components, an enum missing a value the API
answers, a list that is not in its envelope). Generation takes about 2 s."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shouhou.entrypoints.api import create_app
from shouhou.services.app import Shouhou

from .test_api import world  # noqa: F401 - the shops, staff, buyers, orders and tokens of the API tests

EXECUTABLE = Path(sys.executable).with_name("openapi-python-client")  # the venv's, beside its python
CONFIG = "project_name_override: shouhou-client\npackage_name_override: shouhou_client\n"


@pytest.fixture
def generated(tmp_path: Path, app: Shouhou) -> Iterator[Any]:
    """The generated package `shouhou_client`, importable for the test's length."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(create_app(app).openapi()), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "client"
    done = subprocess.run([str(EXECUTABLE), "generate", "--path", str(spec), "--output-path", str(out),
                           "--config", str(tmp_path / "config.yaml"), "--meta", "none"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every path and component made it into the client
    sys.path.insert(0, str(tmp_path))
    out.rename(tmp_path / "shouhou_client")  # --meta none writes the package's contents into out
    try:
        yield importlib.import_module("shouhou_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [x for x in sys.modules if x == "shouhou_client" or x.startswith("shouhou_client.")]:
            del sys.modules[name]


def test_a_generated_client_lists_tickets_and_approves_one(world: Any, generated: Any) -> None:  # noqa: F811
    client, *_ = world
    list_tickets = importlib.import_module("shouhou_client.api.tickets.list_tickets_v1_tickets_get")
    apply = importlib.import_module("shouhou_client.api.tickets.apply_v1_orders_order_id_tickets_post")
    approve = importlib.import_module("shouhou_client.api.tickets.ticket_approve_v1_tickets_ticket_id_approve_post")
    models = importlib.import_module("shouhou_client.models")
    transport = httpx.ASGITransport(app=client.app)

    def as_(token: str) -> Any:
        return generated.AuthenticatedClient(base_url="http://shouhou.test", token=token,
                                             httpx_args={"transport": transport})

    async def scenario() -> None:
        ticket = await apply.asyncio("O1", client=as_("b1"), body=models.ApplyIn(
            type_=models.ApplyInType.RETURN_REFUND, reason=models.ApplyInReason.QUALITY, amount="99.00",
            evidence=["crack.jpg"]))
        assert isinstance(ticket, models.TicketOut), ticket
        assert ticket.status == models.TicketSummaryStatus.PENDING_REVIEW

        page = await list_tickets.asyncio(client=as_("ag1"))
        assert isinstance(page, models.TicketPage), page
        assert [x.id for x in page.items] == [ticket.id] and page.total == 1 and page.limit == 50

        done = await approve.asyncio(ticket.id, client=as_("ag1"),
                                     body=models.ApproveIn(return_address="杭州 1 号仓"))
        assert isinstance(done, models.TicketOut), done
        assert done.status == models.TicketSummaryStatus.AWAITING_RETURN
        assert [e.type_ for e in done.timeline] == ["applied", "approved"]

        refused = await approve.asyncio_detailed(ticket.id, client=as_("nobody"), body=models.ApproveIn())
        assert refused.status_code == 401 and isinstance(refused.parsed, models.ErrorOut)
        assert refused.parsed.code == "unauthenticated"

    asyncio.run(scenario())
