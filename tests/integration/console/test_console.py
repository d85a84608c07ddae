"""The console in a real headless Chromium against a real daemon and the sandbox.

One operator's day: sign in, create a session (red), pair it by scanning the QR read off the
page with the sandbox phone (green), the sandbox drops the connection (red, then green again),
the reconnect button, an inbound message appears in the inbox and the reply typed in the page
reaches the phone with its ticks advancing, dead webhook letters replayed from the page; then a
session-scoped key sees only its session. A second test hides the tab and counts the polls
that reach the daemon (none), then stops the daemon and watches the backoff.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from browser import qr_payload, set_hidden, sign_in, snap
from daemon_harness import (
    ADMIN_KEY,
    WEBHOOK_SECRET,
    DaemonProcess,
    Receiver,
    admin,
    create_account,
)
from playwright.async_api import BrowserContext, Page, expect

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"
OWNER_JID = f"{OWNER}@s.whatsapp.net"
OTHER = "15550005555"


def card(page: Page, session_id: str) -> Any:
    return page.locator(f'li[data-session="{session_id}"]')


async def expect_dot(page: Page, state: str) -> None:
    await expect(page.locator("#dot")).to_have_attribute("data-state", state)


async def record_statuses(page: Page) -> None:
    """Remembers every status a message bubble shows, in order (ticks advancing)."""
    await page.evaluate(
        """() => {
            window.seenStatuses = [];
            new MutationObserver((changes) => {
                for (const change of changes) {
                    const node = change.target;
                    if (node.dataset && node.dataset.id) {
                        window.seenStatuses.push([node.dataset.id, node.dataset.status]);
                    }
                    for (const added of change.addedNodes || []) {
                        if (added.dataset && added.dataset.id) {
                            window.seenStatuses.push([added.dataset.id, added.dataset.status]);
                        }
                    }
                }
            }).observe(document.querySelector("#messages"), {
                subtree: true, childList: true, attributes: true,
                attributeFilter: ["data-status"],
            });
        }"""
    )


async def test_an_operator_pairs_watches_and_answers_from_the_console(
    daemon: DaemonProcess, sandbox: SandboxServer, browser: BrowserContext
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    api = daemon.api()
    page = browser.pages[0] if browser.pages else await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.add_init_script(
        """window.cspViolations = [];
        document.addEventListener("securitypolicyviolation",
            (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"""
    )

    # Sign in; the key stays in session storage, never in the URL.
    await sign_in(page, daemon.url, ADMIN_KEY)
    assert "wamd_" not in page.url and ADMIN_KEY not in page.url
    assert await page.evaluate("sessionStorage.getItem('wamd.apiKey')") == ADMIN_KEY

    # A new session is red until it is paired; its own key is shown once.
    await page.get_by_label("New session id").fill("alice")
    await page.locator("#create-form button").click()
    alice = card(page, "alice")
    await expect(alice.locator(".badge")).to_have_text("Disconnected")
    await expect_dot(page, "red")
    await expect(page.locator("#health-text")).to_have_text("Not paired yet: alice")
    alice_key = (await page.locator("#new-key code").text_content()) or ""
    assert alice_key.startswith("wamd_")
    await snap(page, "01-new-session-red")

    # Pair: the page follows the QR as it rotates; the phone scans it as the page shows it.
    await alice.get_by_role("button", name="Pair").click()
    first = await qr_payload(page)
    await expect(page.locator("#qr-image")).to_have_attribute("data-index", "1")
    payload = await qr_payload(page)
    assert payload != first
    assert payload == (await api.call("GET", "/sessions/alice/qr")).body["qr"]
    await snap(page, "02-pairing-qr")
    await admin(sandbox, "POST", f"/accounts/{OWNER}/scan-qr", {"qr": payload})
    await expect(page.locator("#pair-status")).to_have_text("Paired and connected.")
    await page.keyboard.press("Escape")
    await expect(alice.locator(".badge")).to_have_text("Connected")
    await expect_dot(page, "green")
    await expect(alice.locator(".f-phone")).to_have_text("+1 **** 1111")
    await snap(page, "03-paired-green")

    # The sandbox drops the connection and refuses logins for a while: red, then green.
    await admin(sandbox, "POST", "/faults/refuse-logins", {"reason": 503})
    await admin(sandbox, "POST", "/faults/drop", {})
    await expect_dot(page, "red")
    await expect(alice.locator(".badge")).to_have_text("Disconnected")
    await snap(page, "04-connection-dropped-red")
    await admin(sandbox, "DELETE", "/faults/refuse-logins", {})
    await expect_dot(page, "green")
    await expect(alice.locator(".badge")).to_have_text("Connected")

    # The reconnect button: spins while it runs (every change of aria-busy is recorded, however
    # quick), then shows the outcome.
    reconnect = alice.get_by_role("button", name="Reconnect")
    await reconnect.evaluate(
        """(button) => {
            window.busyChanges = [];
            new MutationObserver(() => window.busyChanges.push(button.getAttribute("aria-busy")))
                .observe(button, { attributes: true, attributeFilter: ["aria-busy"] });
        }"""
    )
    await reconnect.click()
    await expect(alice.locator(".result")).to_contain_text("Reconnected: connected as")
    assert await page.evaluate("window.busyChanges") == ["true", None]
    await expect(alice.locator(".badge")).to_have_text("Connected")

    # An inbound message appears in the inbox, live.
    await page.get_by_role("link", name="Inbox").click()
    await expect(page.locator("#chats-empty")).to_be_visible()
    await admin(sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": "hi there"})
    chat = page.locator(f'#chat-list button[data-jid="{FRIEND_JID}"]')
    await expect(chat.locator(".chat-preview")).to_have_text("hi there")
    await chat.click()
    await expect(page.locator("#messages .msg.in .msg-text")).to_have_text(["hi there"])

    # The reply typed in the page reaches the phone; its ticks advance to read.
    await record_statuses(page)
    await page.get_by_label("Message").fill("hello from the console")
    await page.get_by_role("button", name="Send").click()
    mine = page.locator("#messages .msg.out")
    await expect(mine.locator(".msg-text")).to_have_text(["hello from the console"])
    await expect(mine).to_have_attribute("data-status", "delivered")
    message_id = await mine.get_attribute("data-id")
    got = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
    assert [m["id"] for m in got if m["text"] == "hello from the console"] == [message_id]
    await admin(
        sandbox, "POST", f"/accounts/{FRIEND}/read", {"chat": OWNER_JID, "ids": [message_id]}
    )
    await expect(mine).to_have_attribute("data-status", "read")
    await expect(mine.locator(".tick-label")).to_have_text("Read")
    seen = [s for i, s in await page.evaluate("window.seenStatuses") if i == message_id]
    order = ["pending", "sending", "sent", "delivered", "read"]
    assert seen[0] == "pending" and seen[-1] == "read", seen
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    await snap(page, "05-inbox-ticks")

    # A longer conversation: the newest 20, then "load older" through the cursor.
    for n in range(20):
        await admin(sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": f"n{n}"})
    await expect(page.locator("#messages .msg-text").last).to_have_text("n19")
    await chat.click()
    await expect(page.locator("#messages li")).to_have_count(20)
    await page.get_by_role("button", name="Load older messages").click()
    await expect(page.locator("#messages li")).to_have_count(22)
    await expect(page.get_by_role("button", name="Load older messages")).to_be_hidden()

    # A group: open for sending while the session is a member, read-only once a phone removes
    # it (marked live, in the list and in the thread).
    made_group = await admin(
        sandbox, "POST", f"/accounts/{FRIEND}/groups", {"subject": "Team", "participants": [OWNER]}
    )
    group_jid = made_group["jid"]
    await admin(
        sandbox, "POST", f"/accounts/{FRIEND}/messages", {"group": group_jid, "text": "team hi"}
    )
    group_chat = page.locator(f'#chat-list button[data-jid="{group_jid}"]')
    await expect(group_chat.locator(".chat-preview")).to_have_text("team hi")
    await group_chat.click()
    await expect(page.locator("#messages .msg-text")).to_have_text(["team hi"])
    await expect(page.locator("#send-form")).to_be_visible()
    await admin(
        sandbox,
        "POST",
        f"/accounts/{FRIEND}/groups/{group_jid}/participants",
        {"action": "remove", "participants": [OWNER]},
    )
    await expect(page.locator("#read-only")).to_contain_text("Read-only")
    await expect(page.locator("#send-form")).to_be_hidden()
    await expect(group_chat.locator(".tag")).to_have_text("read-only")
    await snap(page, "06-read-only-group")

    # Dead webhook letters, replayed from the page.
    refusing = Receiver(status=400)
    await refusing.start()
    try:
        made = await api.call(
            "POST", "/sessions/alice/webhooks", {"url": refusing.url, "secret": WEBHOOK_SECRET}
        )
        hook_id = made.body["id"]
        await admin(sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": "2"})
        await api.wait_for(
            f"/webhooks/{hook_id}/deliveries?status=dead", lambda page: bool(page["deliveries"])
        )
        await page.get_by_role("link", name="Events & webhooks").click()
        hook = page.locator(f'li[data-webhook="{hook_id}"]')
        await expect(hook.locator(".dead li").first).to_contain_text("HTTP 400")
        await expect(page.locator("#event-list code").first).to_be_visible()
        await snap(page, "07-events-webhooks")
        await hook.get_by_role("button", name="Replay dead letters").click()
        await expect(hook.locator(".result")).to_contain_text("Replayed")
    finally:
        await refusing.stop()

    # Nothing the page did broke its Content-Security-Policy or threw.
    assert await page.evaluate("window.cspViolations") == []
    assert errors == []

    # Another session, paired with a code typed on the phone; a third one created and deleted.
    await page.get_by_role("link", name="Sessions").click()
    await create_account(sandbox, OTHER, "Other")
    for session_id in ("bob", "carol"):
        await page.get_by_label("New session id").fill(session_id)
        await page.locator("#create-form button").click()
        await expect(card(page, session_id)).to_be_visible()
    await page.get_by_role("button", name="I have saved it").click()
    await card(page, "bob").get_by_role("button", name="Pair").click()
    await page.get_by_label("Or pair by phone number").fill(f"+{OTHER}")
    await page.get_by_role("button", name="Get code").click()
    await expect(page.locator("#pair-code")).to_have_text(re.compile(r"^\w{4}-\w{4}$"))
    code = await page.locator("#pair-code").text_content()
    await admin(sandbox, "POST", f"/accounts/{OTHER}/pair-code", {"code": code})
    await expect(page.locator("#pair-status")).to_have_text("Paired and connected.")
    await page.keyboard.press("Escape")
    await expect(card(page, "bob").locator(".badge")).to_have_text("Connected")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await card(page, "carol").get_by_role("button", name="Delete").click()
    await expect(card(page, "carol")).to_have_count(0)
    await expect(page.locator("li[data-session]")).to_have_count(2)
    assert (await api.call("GET", "/sessions/carol")).status == 404

    # A session key sees its session only, and no admin controls.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#signin")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('wamd.apiKey')") is None
    await sign_in(page, daemon.url, alice_key)
    await expect(card(page, "alice").locator(".badge")).to_have_text("Connected")
    await expect(page.locator("li[data-session]")).to_have_count(1)
    await expect(page.locator("#create-form")).to_be_hidden()
    await expect(card(page, "alice").get_by_role("button", name="Delete")).to_have_count(0)
    await snap(page, "08-scoped-key")
    assert await daemon.stop() == 0


def polls(daemon: DaemonProcess) -> int:
    return len(daemon.matching("http.request", path="/health"))


def requests_after(daemon: DaemonProcess, start: int) -> list[str]:
    """Paths requested since the ``start``-th request (the closing of an event stream, logged
    when it ends, is not a request made meanwhile)."""
    return [
        str(e["path"])
        for e in daemon.matching("http.request")[start:]
        if not str(e["path"]).endswith("/events")
    ]


async def test_a_hidden_tab_stops_polling_and_an_absent_daemon_is_unreachable(
    daemon: DaemonProcess, browser: BrowserContext
) -> None:
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await sign_in(page, daemon.url, ADMIN_KEY)
    await expect_dot(page, "green")
    # The daemon is young (uptime < 60 s): the console polls every 5 s.
    signed_in = polls(daemon)
    await daemon.wait_log("http.request", path="/health", count=signed_in + 1)

    await set_hidden(page, True)
    await asyncio.sleep(1)  # a poll already on its way may still land
    hidden_at = polls(daemon)
    start = len(daemon.matching("http.request"))
    await asyncio.sleep(11)  # more than two poll intervals
    assert requests_after(daemon, start) == []

    # Shown again: it polls at once.
    await set_hidden(page, False)
    await daemon.wait_log("http.request", path="/health", count=hidden_at + 1, timeout=3)
    # Hidden and shown again right after that poll: the schedule carries on.
    await set_hidden(page, True)
    await set_hidden(page, False)
    await daemon.wait_log("http.request", path="/health", count=hidden_at + 2)

    # The header dot works from the keyboard; the page fits a phone's width.
    await page.keyboard.press("Escape")
    await page.locator("#dot").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#popover")).to_be_visible()
    await expect(page.locator("#dot")).to_have_attribute("aria-expanded", "true")
    await page.keyboard.press("Escape")
    await expect(page.locator("#popover")).to_be_hidden()
    await page.set_viewport_size({"width": 390, "height": 760})
    for view in ("Sessions", "Inbox", "Events & webhooks"):
        await page.get_by_role("link", name=view).click()
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth"), view
    await page.get_by_role("link", name="Sessions").click()
    await snap(page, "10-phone-width")

    # The schedule itself, from the shipped module: 5 s while the daemon is young, 30 s after,
    # 5 → 10 → 30 s while it cannot be reached.
    delays = await page.evaluate(
        """async () => {
            const { nextDelay } = await import("/console/assets/poller.js");
            const up = (uptime) => nextDelay({ reachable: true, failures: 0, uptime });
            const down = (failures) => nextDelay({ reachable: false, failures, uptime: 10 });
            return [up(3), up(59), up(60), up(9000), down(1), down(2), down(3), down(9)];
        }"""
    )
    assert delays == [5000, 5000, 30000, 30000, 5000, 10000, 30000, 30000]
    masked = await page.evaluate(
        """async () => {
            const { maskPhone } = await import("/console/assets/util.js");
            return ["27821231234", "15550001111", "447700900123", "35312345678", null].map(
                maskPhone);
        }"""
    )
    assert masked == [
        "+27 **** 1234",
        "+1 **** 1111",
        "+44 **** 0123",
        "+353 **** 5678",
        "not paired",
    ]

    # The daemon goes away: "server unreachable" (not "WhatsApp disconnected"), backing off.
    assert await daemon.stop() == 0
    await expect_dot(page, "unreachable")
    await expect(page.locator("#health-text")).to_have_text("Server unreachable — retrying in 5 s")
    await snap(page, "09-server-unreachable")
    await expect(page.locator("#health-text")).to_have_text("Server unreachable — retrying in 10 s")
