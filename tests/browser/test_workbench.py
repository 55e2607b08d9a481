"""Issue 13 in a real browser: each role's main flow end to end, both languages, the phone width,
CSRF, tenancy, a countdown that changes state with the virtual clock, and an axe-core check of the
main pages (no serious or critical violations)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

from shouhou.clock import VirtualClock
from shouhou.domain.actors import Actor
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

# a 1x1 PNG, as a phone's camera would hand over a photo
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


def ticket_of(app: Shouhou, order: str) -> str:
    with app.uow(write=False) as uow:
        return next(t.id for t in uow.tickets.where() if t.order_id == order)


def sign_in(page: Any, base: str, token: str, path: str = "/") -> None:
    page.goto(base + path)
    page.fill("#token", token)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def test_an_agent_works_the_queue_in_chinese(browser: Any, server: str, app: Shouhou, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860}, **ZH)
    sign_in(page, server, "demo-ks-agent")
    assert page.url.endswith("/shop/tickets")
    assert page.locator("h1").inner_text() == "售后工作台"
    page.screenshot(path=str(shots / "shop-queue-zh.png"), full_page=True)
    assert serious(page) == []
    page.click("text=KS-1109")
    assert "待商家处理" in page.locator("h1").inner_text()
    page.click("button:has-text('拒绝')")  # no reason: the browser's own check stops it first
    page.fill("textarea[name=reason]", "口味不支持无理由退款,已与买家沟通")
    page.click("button:has-text('拒绝')")
    page.wait_for_load_state()
    assert "已拒绝" in page.locator("h1").inner_text()
    assert serious(page) == []
    page.goto(server + "/shop/tickets")
    page.click("text=KS-1101")
    page.click("button:has-text('同意')")
    page.wait_for_load_state()
    assert "待买家退货" in page.locator("h1").inner_text()
    page.screenshot(path=str(shots / "shop-ticket-zh.png"), full_page=True)
    page.goto(server + "/shop/tickets?lang=en")
    assert page.locator("h1").inner_text() == "After-sales desk"
    page.goto(server + "/shop/tickets")
    assert page.locator("h1").inner_text() == "After-sales desk"  # the choice is remembered
    page.close()


def test_a_buyer_on_a_phone_applies_with_a_photo_ships_and_sees_the_refund(browser: Any, server: str, app: Shouhou,
                                                                         shots: Path, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 812}, device_scale_factor=2, **ZH)
    sign_in(page, server, "demo-buyer-3")
    assert page.url.endswith("/buyer/orders")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
    page.screenshot(path=str(shots / "buyer-orders-phone-zh.png"))
    page.goto(server + "/buyer/orders/KS-1004/apply")
    photo = tmp_path / "broken.png"
    photo.write_bytes(PNG)
    page.select_option("select[name=type]", "return_refund")
    page.select_option("select[name=reason]", "quality")
    page.set_input_files("input[name=photos]", str(photo))
    page.fill("textarea[name=note]", "瓶身有裂纹")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious(page) == []
    page.click("button:has-text('提交')")
    page.wait_for_load_state()
    assert "待商家处理" in page.locator("h1").inner_text()
    assert "broken.png sha256:" in page.content()
    tid = page.url.split("/buyer/tickets/")[1].split("?")[0]
    app.handle(c.Approve(tid), Actor("staff", "ks-demo-agent", shop_id="ks-demo", role="cs_agent"))
    page.reload()
    page.fill("input[name=waybill]", "SF9000000001")
    page.fill("input[name=carrier]", "SF")
    page.click("button:has-text('提交退货运单')")
    page.wait_for_load_state()
    assert "待商家收货" in page.locator("h1").inner_text()
    app.handle(c.ConfirmReturn(tid), Actor("staff", "ks-demo-agent", shop_id="ks-demo", role="cs_agent"))
    page.reload()
    assert "已退款" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(shots / "buyer-ticket-phone-zh.png"), full_page=True)
    page.close()


def test_the_platform_rules_and_the_shop_appeals(browser: Any, server: str, app: Shouhou, shots: Path) -> None:
    tid = ticket_of(app, "KS-1106")  # rejected by the shop
    app.handle(c.RequestIntervention(tid, "商家拒绝"), Actor("buyer", "buyer-3"))
    console = browser.new_page(viewport={"width": 1280, "height": 860}, **ZH)
    sign_in(console, server, "demo-platform")
    assert console.url.endswith("/console/interventions")
    assert serious(console) == []
    console.click("text=KS-1106")
    console.click("button:has-text('响应介入')")
    console.wait_for_load_state()
    console.check("input[name=in_favour_of][value=buyer]")
    console.select_option("select[name=fault]", "shop")
    console.select_option("select[name=remedy]", "refund")
    console.screenshot(path=str(shots / "console-case-zh.png"), full_page=True)
    assert serious(console) == []
    console.click("form[action$='/ruling'] button[type=submit]")
    console.wait_for_load_state()
    assert "已退款" in console.locator("h1").inner_text()
    shop = browser.new_page(viewport={"width": 1280, "height": 860}, **ZH)
    sign_in(shop, server, "demo-ks-owner", f"/shop/tickets/{tid}")
    assert tid in shop.url
    shop.fill("form[action$='/appeal'] textarea[name=reason]", "买家已签收确认无质量问题")
    shop.click("button:has-text('申诉判定')")
    shop.wait_for_load_state()
    assert "申诉" in shop.content() and "待处理" in shop.content()
    console.close()
    shop.close()


def test_forms_need_the_sessions_csrf_and_others_pages_answer_404(browser: Any, server: str, app: Shouhou) -> None:
    page = browser.new_page(**ZH)
    sign_in(page, server, "demo-dy-agent")
    ks_ticket = ticket_of(app, "KS-1101")
    r = page.goto(f"{server}/shop/tickets/{ks_ticket}")
    assert r is not None and r.status == 404 and "未找到" in page.content()
    dy_ticket = ticket_of(app, "DY-2101")
    forged = page.request.post(f"{server}/shop/tickets/{dy_ticket}/approve", form={"csrf": "0" * 40})
    assert forged.status == 403
    with app.uow(write=False) as uow:
        t = uow.tickets.get(dy_ticket)
        assert t is not None and t.status == "pending_review"
    page.close()


def test_a_countdown_changes_state_when_the_virtual_clock_passes_the_deadline(browser: Any, server: str,
                                                                              clock: VirtualClock) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860}, **ZH)
    sign_in(page, server, "demo-ks-agent")
    row = page.locator("tr", has=page.locator("a", has_text="KS-1102"))
    assert row.get_attribute("class") == "urgent"  # 5 minutes left
    assert "剩" in row.locator(".countdown").inner_text()
    clock.advance(timedelta(minutes=6))  # past KS-RO-1's 24 h; no worker has fired it yet
    page.reload()
    row = page.locator("tr", has=page.locator("a", has_text="KS-1102"))
    assert row.get_attribute("class") == "late"
    assert "已超时" in row.locator(".countdown").inner_text()
    page.close()


def test_the_docs_work_offline(browser: Any, server: str) -> None:
    page = browser.new_page()
    outside: list[str] = []  # anything fetched from elsewhere (ReDoc's sidebar asks its CDN for a logo: the CSP stops it)
    page.on("requestfinished", lambda req: outside.append(req.url)
            if req.url.startswith(("http:", "https:")) and not req.url.startswith(server) else None)
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "shouhou" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto(server + "/redoc")
    page.wait_for_selector("h1", timeout=15_000)
    assert outside == []
    page.close()


def test_every_other_page_passes_the_accessibility_check_in_both_languages(browser: Any, server: str,
                                                                            shots: Path) -> None:
    """The desk's money, governance, entry and automation pages, and the console's report, packs,
    tokens and appeals: no serious or critical axe violation, in Chinese and in English."""
    found: dict[str, list[str]] = {}
    for token, paths in (("demo-ks-slow-owner", ("/shop/governance",)),
                         ("demo-ks-owner", ("/shop/money", "/shop/entry?order=KS-1005", "/shop/automation")),
                         ("demo-platform", ("/console/governance", "/console/policies", "/console/tokens",
                                            "/console/appeals"))):
        page = browser.new_page(viewport={"width": 1280, "height": 860}, **ZH)
        sign_in(page, server, token)
        for lang in ("zh", "en"):
            for path in paths:
                page.goto(f"{server}{path}{'&' if '?' in path else '?'}lang={lang}")
                assert page.locator("h1").count() == 1, path
                bad = serious(page)
                if bad:
                    found[f"{lang} {path}"] = bad
                if lang == "zh" and path in ("/shop/governance", "/console/governance"):
                    page.screenshot(path=str(shots / f"{path.strip('/').replace('/', '-')}-zh.png"), full_page=True)
        page.close()
    assert found == {}
