"""Issue 13: the pages over the demo marketplace, through HTTP (the browser tests in tests/browser
drive the same pages in Chromium): sign-in and each role's home, the language, CSRF, tenancy (others'
pages answer 404), and the main actions of the shop's desk, the buyer's pages and the console."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.demo import load_demo
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def web(app: Shouhou) -> TestClient:
    load_demo(app)
    return TestClient(create_app(app), headers=ZH)


def sign_in(client: TestClient, token: str, next_: str = "") -> TestClient:
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    r = client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": next_}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def ticket_of(app: Shouhou, order: str) -> str:
    with app.uow(write=False) as uow:
        return next(t.id for t in uow.tickets.where() if t.order_id == order)


def status_of(app: Shouhou, ticket: str) -> str:
    with app.uow(write=False) as uow:
        t = uow.tickets.get(ticket)
        assert t is not None
        return t.status


def test_sign_in_leads_each_role_home_in_chinese(web: TestClient) -> None:
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"
    assert web.get("/shop/tickets", follow_redirects=False).headers["location"] == "/login?next=/shop/tickets"
    for token, home, word in (("demo-ks-agent", "/shop/tickets", "售后工作台"), ("demo-buyer-1", "/buyer/orders", "我的订单"),
                              ("demo-platform", "/console/interventions", "平台介入")):
        client = TestClient(web.app, headers=ZH)
        sign_in(client, token)
        r = client.get("/", follow_redirects=False)
        assert r.headers["location"] == home
        page = client.get(home)
        assert page.status_code == 200 and word in page.text and 'lang="zh-CN"' in page.text
        cookie = next(x for x in client.cookies.jar if x.name == "shouhou_session")
        assert cookie.has_nonstandard_attr("HttpOnly") or "httponly" in str(cookie.__dict__).lower()


def test_a_bad_token_is_refused_and_the_login_form_needs_its_csrf_cookie(web: TestClient) -> None:
    form = web.get("/login")
    r = web.post("/login", data={"csrf": csrf_of(form.text), "token": "nope"}, follow_redirects=False)
    assert r.status_code == 401 and "令牌无效" in r.text
    stranger = TestClient(web.app)
    r = stranger.post("/login", data={"csrf": "forged", "token": "demo-platform"}, follow_redirects=False)
    assert r.status_code == 403 and "shouhou_session" not in r.headers.get("set-cookie", "")


def test_english_by_query_remembered_or_by_accept_language(web: TestClient) -> None:
    sign_in(web, "demo-ks-agent")
    assert "After-sales desk" in web.get("/shop/tickets?lang=en").text
    assert "After-sales desk" in web.get("/shop/tickets").text  # remembered
    assert "售后工作台" in web.get("/shop/tickets?lang=zh").text
    english = TestClient(web.app, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in english.get("/login").text


def test_the_queue_shows_order_ids_statuses_and_countdowns_by_the_engine_clock(web: TestClient, app: Shouhou,
                                                                               clock: VirtualClock) -> None:
    sign_in(web, "demo-ks-agent")
    page = web.get("/shop/tickets").text
    assert "KS-1101" in page and "待商家处理" in page
    row = re.search(r'<tr class="(\w*)">\s*<td><input type="checkbox" name="ticket" value="(\w+)" aria-label="[^"]*KS-1101', page)
    assert row is not None and row.group(1) == "ok"  # 46 h left
    clock.advance(timedelta(hours=41))  # 5 h left: urgent
    assert re.search(r'<tr class="urgent">\s*<td><input type="checkbox" name="ticket" value="\w+" aria-label="[^"]*KS-1101',
                     web.get("/shop/tickets").text)
    clock.advance(timedelta(hours=6))  # passed, and no worker has run: late
    assert re.search(r'<tr class="late">\s*<td><input type="checkbox" name="ticket" value="\w+" aria-label="[^"]*KS-1101',
                     web.get("/shop/tickets").text)


def test_an_agent_approves_and_rejects_and_a_refusal_names_its_rule(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-agent")
    tid = ticket_of(app, "KS-1109")
    page = web.get(f"/shop/tickets/{tid}")
    assert page.status_code == 200 and "KS-1109" in page.text and "同意" in page.text and "拒绝" in page.text
    r = web.post(f"/shop/tickets/{tid}/reject", data={"csrf": csrf_of(page.text), "reason": ""})
    assert r.status_code == 422 and "KS-RR-4" in r.text and status_of(app, tid) == "pending_review"
    r = web.post(f"/shop/tickets/{tid}/reject", data={"csrf": csrf_of(page.text), "reason": "口味无质量问题"},
                 follow_redirects=False)
    assert r.status_code == 303 and status_of(app, tid) == "rejected"
    other = ticket_of(app, "KS-1101")
    r = web.post(f"/shop/tickets/{other}/approve", data={"csrf": csrf_of(page.text),
                                                        "return_address": "浙江省杭州市 1 号仓"}, follow_redirects=False)
    assert r.status_code == 303 and status_of(app, other) == "awaiting_return"
    assert "待买家退货" in web.get(r.headers["location"]).text


def test_forms_without_the_session_csrf_change_nothing(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-agent")
    tid = ticket_of(app, "KS-1101")
    for data in ({}, {"csrf": "0" * 40}):
        r = web.post(f"/shop/tickets/{tid}/approve", data=data)
        assert r.status_code == 403 and status_of(app, tid) == "pending_review"


def test_bulk_approve_answers_for_each_ticket(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-agent")
    page = web.get("/shop/tickets").text
    ids = [ticket_of(app, "KS-1101"), ticket_of(app, "KS-1109"), ticket_of(app, "KS-1104")]  # the last is not pending
    r = web.post("/shop/tickets/bulk-approve", data={"csrf": csrf_of(page), "ticket": ids})
    assert r.status_code == 200
    assert status_of(app, ids[0]) == "awaiting_return" and status_of(app, ids[1]) == "refunded"
    assert r.text.count('class="notice"') == 2 and r.text.count('class="alert"') == 1


def test_other_tenants_pages_answer_404(web: TestClient, app: Shouhou) -> None:
    ks_ticket, dy_ticket = ticket_of(app, "KS-1101"), ticket_of(app, "DY-2101")
    sign_in(web, "demo-dy-agent")
    assert web.get(f"/shop/tickets/{ks_ticket}").status_code == 404
    assert web.get(f"/shop/tickets/{dy_ticket}").status_code == 200
    assert web.get("/console/interventions").status_code == 404
    buyer = sign_in(TestClient(web.app, headers=ZH), "demo-buyer-2")
    assert buyer.get(f"/buyer/tickets/{ks_ticket}").status_code == 404  # buyer-1's
    assert buyer.get("/shop/tickets").status_code == 404
    assert buyer.get("/buyer/orders/KS-1101/apply").status_code == 404


def test_a_buyer_applies_with_a_photo_and_follows_the_ticket(web: TestClient, app: Shouhou) -> None:
    buyer = sign_in(web, "demo-buyer-3")
    orders = buyer.get("/buyer/orders")
    assert orders.status_code == 200 and "KS-1004" in orders.text
    form = buyer.get("/buyer/orders/KS-1004/apply")
    assert form.status_code == 200 and 'capture="environment"' in form.text
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"0" * 2000
    r = buyer.post("/buyer/orders/KS-1004/apply",
                   data={"csrf": csrf_of(form.text), "type": "refund_only", "reason": "quality", "amount": "20.00",
                         "qty:KS-1004": "1", "note": "瓶盖裂了"},
                   files=[("photos", ("cap.jpg", jpeg, "image/jpeg"))], follow_redirects=False)
    assert r.status_code == 303, r.text
    page = buyer.get(r.headers["location"])
    assert page.status_code == 200 and "待商家处理" in page.text and "cap.jpg sha256:" in page.text
    bad = buyer.post("/buyer/orders/KS-1004/apply", data={"csrf": csrf_of(form.text), "type": "refund_only",
                                                          "reason": "other", "amount": "1.234"})
    assert bad.status_code == 422


def test_the_console_takes_a_case_and_rules(web: TestClient, app: Shouhou) -> None:
    tid = ticket_of(app, "KS-1106")  # rejected with a reason
    app.handle(c.RequestIntervention(tid, "商家拒绝"), app_buyer(app, tid))
    console = sign_in(web, "demo-platform")
    queue = console.get("/console/interventions")
    assert queue.status_code == 200 and "KS-1106" in queue.text
    page = console.get(f"/console/tickets/{tid}")
    r = console.post(f"/console/tickets/{tid}/respond", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    page = console.get(f"/console/tickets/{tid}")
    assert "判定" in page.text
    r = console.post(f"/console/tickets/{tid}/ruling", data={"csrf": csrf_of(page.text), "in_favour_of": "buyer",
                                                               "fault": "shop", "remedy": "refund"},
                     follow_redirects=False)
    assert r.status_code == 303 and status_of(app, tid) == "refunded"


def app_buyer(app: Shouhou, ticket: str) -> object:
    from shouhou.domain.actors import Actor  # noqa: PLC0415
    with app.uow(write=False) as uow:
        t = uow.tickets.get(ticket)
        assert t is not None
        return Actor("buyer", t.buyer_id)


def test_sign_out_ends_the_session(web: TestClient) -> None:
    sign_in(web, "demo-ks-agent")
    page = web.get("/shop/tickets").text
    assert web.post("/logout", data={"csrf": csrf_of(page)}, follow_redirects=False).status_code == 303
    assert web.get("/shop/tickets", follow_redirects=False).status_code == 303


def test_the_shop_sees_its_money_tops_up_and_downloads_its_statement(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-owner")
    page = web.get("/shop/money")
    assert page.status_code == 200 and "¥5000.00" in page.text and "<svg" in page.text
    r = web.post("/shop/money/top-up", data={"csrf": csrf_of(page.text), "account": "deposit", "amount": "12.5"},
                 follow_redirects=False)
    assert r.status_code == 303
    assert "¥20012.50" in web.get("/shop/money").text
    bad = web.post("/shop/money/top-up", data={"csrf": csrf_of(page.text), "account": "deposit", "amount": "1.234"})
    assert bad.status_code == 422
    csv = web.get("/shop/money/statement.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "entry,at,kind,account,amount,order,ticket,rule"


def test_the_slow_shop_sees_its_score_and_appeals_a_measure(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-slow-owner")
    page = web.get("/shop/governance")
    assert page.status_code == 200 and "警告" in page.text and "逾期率" in page.text and "<svg" in page.text
    measure = re.search(r'action="/shop/governance/measures/(\w+)/appeal"', page.text)
    assert measure is not None
    r = web.post(f"/shop/governance/measures/{measure.group(1)}/appeal",
                 data={"csrf": csrf_of(page.text), "reason": "系统故障"}, follow_redirects=False)
    assert r.status_code == 303
    with app.uow(write=False) as uow:
        assert [a.status for a in uow.measure_appeals.where()] == ["pending"]


def test_the_entry_page_explains_every_condition_and_opens_the_entry(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-owner")
    page = web.get("/shop/entry?order=KS-1005")
    assert page.status_code == 200 and "KS-OP" in page.text
    assert "KS-1005" in web.get("/shop/entry").text  # among the completed orders
    r = web.post("/shop/entry/open", data={"csrf": csrf_of(page.text), "order": ["KS-1005", "KS-1101"]})
    assert r.status_code == 200 and r.text.count('class="notice"') == 1 and r.text.count('class="alert"') == 1
    assert "已打开" in web.get("/shop/entry?order=KS-1005").text
    assert "本店没有这个订单" in web.get("/shop/entry?order=DY-2005").text  # another shop's: not shown


def test_the_console_reports_governance_with_charts_and_csv_and_shows_the_packs(web: TestClient) -> None:
    console = sign_in(web, "demo-platform")
    page = console.get("/console/governance?sort=overdue_rate")
    assert page.status_code == 200 and "ks-slow" in page.text and page.text.count("<svg") == 3
    assert "强制学习" in page.text  # ks-slow's highest measure, in the ladder chart
    assert console.get("/console/governance?level=L5").text.count("<td>dy-demo") == 1
    csv = console.get("/console/governance.csv")
    assert csv.status_code == 200 and "ks-slow" in csv.text
    packs = console.get("/console/policies?name=kuaishou")
    assert packs.status_code == 200 and "KS-RR-1" in packs.text and "seed 004" in packs.text
    shop = sign_in(TestClient(web.app, headers=ZH), "demo-ks-owner")
    assert shop.get("/console/governance").status_code == 404 and shop.get("/console/policies").status_code == 404


def test_photos_and_evidence_are_shown_to_whoever_may_see_the_ticket(web: TestClient, app: Shouhou) -> None:
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")  + b"0" * 64
    buyer = sign_in(web, "demo-buyer-3")
    form = buyer.get("/buyer/orders/KS-1004/apply")
    notes = buyer.post("/buyer/orders/KS-1004/apply", data={"csrf": csrf_of(form.text), "type": "refund_only",
                                                           "reason": "quality", "amount": "5.00"},
                       files=[("photos", ("notes.txt", b"just text", "image/png"))])
    assert notes.status_code == 422 and "不是图片" in notes.text
    r = buyer.post("/buyer/orders/KS-1004/apply", data={"csrf": csrf_of(form.text), "type": "refund_only",
                                                       "reason": "quality", "amount": "5.00"},
                   files=[("photos", ("crack.png", png, "image/png"))], follow_redirects=False)
    assert r.status_code == 303
    tid = r.headers["location"].split("/buyer/tickets/")[1].split("?")[0]
    page = buyer.get(f"/buyer/tickets/{tid}").text
    src = re.search(r'<img src="(/files/photos/[^"]+)"', page)
    assert src is not None
    got = buyer.get(src.group(1))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png" and got.content == png
    shop = sign_in(TestClient(web.app, headers=ZH), "demo-ks-agent")
    assert shop.get(src.group(1)).status_code == 200
    other = sign_in(TestClient(web.app, headers=ZH), "demo-buyer-1")
    assert other.get(src.group(1)).status_code == 404
    assert buyer.get(f"/files/photos/{tid}/{'0' * 64}").status_code == 404  # not this ticket's


def test_both_sides_submit_evidence_from_their_pages_and_the_console_opens_it(web: TestClient, app: Shouhou) -> None:
    from shouhou.domain.actors import Actor  # noqa: PLC0415
    tid = ticket_of(app, "KS-1106")
    platform = Actor("platform", "cs", role="platform_cs")
    app.handle(c.RequestIntervention(tid, "商家拒绝"), Actor("buyer", "buyer-3"))
    app.handle(c.RespondIntervention(tid), platform)
    app.handle(c.RequestEvidence(tid), platform)
    shop = sign_in(web, "demo-ks-agent")
    page = shop.get(f"/shop/tickets/{tid}")
    assert 'action="/shop/tickets/' + tid + '/evidence"' in page.text
    pdf = b"%PDF-1.4 inspection report"
    r = shop.post(f"/shop/tickets/{tid}/evidence", data={"csrf": csrf_of(page.text)},
                  files=[("files", ("report.pdf", pdf, "application/pdf"))], follow_redirects=False)
    assert r.status_code == 303, r.text
    lie = shop.post(f"/shop/tickets/{tid}/evidence", data={"csrf": csrf_of(page.text)},
                    files=[("files", ("photo.jpg", pdf, "image/jpeg"))])  # declared a photo, is a PDF
    assert lie.status_code == 422 and "KS-PI-2" in lie.text
    console = sign_in(TestClient(web.app, headers=ZH), "demo-platform")
    case = console.get(f"/console/tickets/{tid}").text
    link = re.search(r'href="(/files/evidence/\w+)">report.pdf', case)
    assert link is not None
    got = console.get(link.group(1))
    assert got.status_code == 200 and got.content == pdf and "attachment" in got.headers["content-disposition"]
    assert sign_in(TestClient(web.app, headers=ZH), "demo-dy-agent").get(link.group(1)).status_code == 404


def test_the_automation_editor_previews_on_30_days_then_saves(web: TestClient, app: Shouhou) -> None:
    sign_in(web, "demo-ks-owner")
    page = web.get("/shop/automation")
    assert page.status_code == 200 and 'value="small-unshipped-refunds"' in page.text
    form = {"csrf": csrf_of(page.text), "id0": "all-refund-only", "action0": "approve", "types0": ["refund_only"],
            "max_amount0": "100.00", "action1": "approve"}
    shown = web.post("/shop/automation", data={**form, "intent": "preview"})
    assert shown.status_code == 200 and "KS-1109" in shown.text  # a ¥69 refund-only application
    assert "KS-1101" not in shown.text.split("规则会处理的售后单")[1]  # a return: not this rule's
    with app.uow(write=False) as uow:
        assert [r["id"] for r in uow.automation_rules("ks-demo")] == ["small-unshipped-refunds", "snacks-back"]
    saved = web.post("/shop/automation", data={**form, "intent": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    with app.uow(write=False) as uow:
        assert [r["id"] for r in uow.automation_rules("ks-demo")] == ["all-refund-only"]
    bad = web.post("/shop/automation", data={**form, "max_amount0": "lots", "intent": "save"})
    assert bad.status_code == 422 and "GEN-AUTO-1" in bad.text


def test_the_console_issues_and_revokes_tokens_and_shows_the_roles_table(web: TestClient) -> None:
    console = sign_in(web, "demo-platform")
    page = console.get("/console/tokens")
    assert page.status_code == 200 and "manage_tokens" in page.text and "platform_operator" in page.text
    r = console.post("/console/tokens", data={"csrf": csrf_of(page.text), "kind": "buyer", "holder": "buyer-2",
                                              "days": "30"})
    assert r.status_code == 201
    token = re.search(r"<code>([^<]+)</code> · (tok_\w+)", r.text)
    assert token is not None
    fresh = sign_in(TestClient(web.app, headers=ZH), token.group(1))
    assert fresh.get("/buyer/orders").status_code == 200
    r = console.post(f"/console/tokens/{token.group(2)}/revoke", data={"csrf": csrf_of(page.text)},
                     follow_redirects=False)
    assert r.status_code == 303
    assert fresh.get("/buyer/orders", follow_redirects=False).status_code == 303  # back to sign-in
    cs = sign_in(TestClient(web.app, headers=ZH), "demo-ks-owner")
    assert cs.get("/console/tokens").status_code == 404


def test_the_console_decides_an_appeal(web: TestClient, app: Shouhou) -> None:
    from shouhou.domain.actors import Actor  # noqa: PLC0415
    tid = ticket_of(app, "KS-1106")
    platform = Actor("platform", "cs", role="platform_cs")
    app.handle(c.RequestIntervention(tid, "商家拒绝"), Actor("buyer", "buyer-3"))
    app.handle(c.RespondIntervention(tid), platform)
    app.handle(c.Rule(tid, "buyer", "refund", None, "shop"), platform)
    app.handle(c.FileAppeal(tid, "买家签收时未提异议"), Actor("staff", "ks-demo-owner", shop_id="ks-demo", role="owner"))
    console = sign_in(web, "demo-platform")
    page = console.get("/console/appeals")
    appeal = re.search(r'action="/console/appeals/(\w+)"', page.text)
    assert appeal is not None and "买家签收时未提异议" in page.text
    r = console.post(f"/console/appeals/{appeal.group(1)}", data={"csrf": csrf_of(page.text), "upheld": "yes",
                                                                  "fault_after": "platform", "answer": "成立"},
                     follow_redirects=False)
    assert r.status_code == 303
    with app.uow(write=False) as uow:
        assert [a.status for a in uow.appeals.where()] == ["upheld"]


def test_the_buyer_reads_site_messages_in_the_page_language(web: TestClient, app: Shouhou) -> None:
    from shouhou.domain.actors import Actor  # noqa: PLC0415
    app.handle(c.OpenEntry("KS-1005"), Actor("staff", "ks-demo-owner", shop_id="ks-demo", role="owner"))  # DY-OP-10 style notice
    buyer = sign_in(web, "demo-buyer-2")
    with app.uow(write=False) as uow:
        msgs = uow.messages.where()
    assert msgs, "opening the entry sends the buyer a site message"
    zh = buyer.get("/buyer/orders").text
    assert msgs[0].title_zh in zh and msgs[0].title_en not in zh
    assert msgs[0].title_en in buyer.get("/buyer/orders?lang=en").text


def test_guessing_tokens_at_the_sign_in_form_is_rate_limited_like_the_api(app: Shouhou) -> None:
    from shouhou.config import Settings  # noqa: PLC0415

    load_demo(app)
    web = TestClient(create_app(app, settings=Settings(auth_rate_limit="3/minute")), headers=ZH)
    for _ in range(3):
        form = web.get("/login")
        assert web.post("/login", data={"csrf": csrf_of(form.text), "token": "guess"}).status_code == 401
    form = web.get("/login")
    r = web.post("/login", data={"csrf": csrf_of(form.text), "token": "demo-platform"}, follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right token waits
