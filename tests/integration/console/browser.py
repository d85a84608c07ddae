"""Driving the console in Debian's headless Chromium through Playwright's Python driver.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``./scripts/test``
installs it) with a fresh profile and the flags a closed network needs. Screenshots of each
state go to ``test-artifacts/console/`` (ignored by git).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import zxingcpp
from playwright.async_api import BrowserContext, Page, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"
WAIT_MS = 20_000
"""How long a state may take to show (generous: CI machines are busy)."""

expect.set_options(timeout=WAIT_MS)


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[BrowserContext]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run ./scripts/test (installs it)"
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1200, "height": 760},
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            await context.close()


async def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def sign_in(page: Page, url: str, key: str) -> None:
    await page.goto(url + "/")
    await page.get_by_label("API key").fill(key)
    await page.locator("#signin-form button").click()
    await expect(page.locator("#signout")).to_be_visible()


async def set_hidden(page: Page, hidden: bool) -> None:
    """Headless Chromium has no window to minimise (every page reports ``visible``), so the
    test gives ``document`` the hidden state a browser gives a background tab, and fires the
    ``visibilitychange`` event a browser fires; the console's own code does the rest."""
    await page.evaluate(
        """(hidden) => {
            if (hidden) {
                Object.defineProperty(document, "visibilityState", {
                    configurable: true, get: () => "hidden" });
                Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            } else {
                delete document.visibilityState;
                delete document.hidden;
            }
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


async def qr_payload(page: Page) -> str:
    """Reads the QR shown on the page, as a camera would: the image as rendered, drawn on a
    canvas, turned into grey pixels and decoded."""
    image = page.locator("#qr-image")
    await expect(image).to_be_visible()
    size = 400
    pixels = await image.evaluate(
        """async (img, size) => {
            await img.decode();
            const canvas = document.createElement("canvas");
            canvas.width = size;
            canvas.height = size;
            const ctx = canvas.getContext("2d");
            ctx.fillStyle = "#fff";
            ctx.fillRect(0, 0, size, size);
            ctx.drawImage(img, 0, 0, size, size);
            const rgba = ctx.getImageData(0, 0, size, size).data;
            const grey = new Uint8Array(size * size);
            for (let i = 0; i < grey.length; i++) grey[i] = rgba[i * 4];
            let text = "";
            for (const byte of grey) text += String.fromCharCode(byte);
            return btoa(text);
        }""",
        size,
    )
    grey = base64.b64decode(pixels)
    found = zxingcpp.read_barcodes(memoryview(grey).cast("B", (size, size)))
    assert len(found) == 1, "no readable QR on the page"
    return str(found[0].text)


__all__ = ["ARTIFACTS", "chromium", "qr_payload", "set_hidden", "sign_in", "snap"]
