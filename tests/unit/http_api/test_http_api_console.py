"""The console's server side: the page and its assets are served without a key under a strict
Content-Security-Policy, with no inline code; every module the page imports is shipped; and the
two API additions the console uses (``GET /whoami``, ``lastSeq``) and the access log work."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

from daemon_fakes import fast_config
from http_rig import ADMIN_KEY, running_api
from structlog.testing import capture_logs

from daemon.config import HttpConfig
from http_api.access_log import masked_path
from http_api.console.assets import assets
from http_api.console.routes import CSP


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


async def test_the_page_is_open_strict_and_has_no_inline_code(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        async with rig.client.get("/", allow_redirects=False) as root:
            assert root.status == 302 and root.headers["Location"] == "/console/"
        async with rig.client.get("/console/") as response:
            assert response.status == 200 and response.content_type == "text/html"
            html = await response.text()
            headers = response.headers
        assert headers["Content-Security-Policy"] == CSP
        assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP
        assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"

        page = Tags()
        page.feed(html)
        assert not page.inline_script
        for tag, attrs in page.tags:
            assert "style" not in attrs, tag
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            if tag == "input":
                # Every field is labelled (accessibility).
                assert re.search(rf'<label for="{attrs["id"]}"', html), attrs
        linked = [a.get("src") or a.get("href") for t, a in page.tags if t in ("script", "link")]
        assert linked and all(str(url).startswith("/console/assets/") for url in linked)
        for url in linked:
            async with rig.client.get(str(url)) as asset:
                assert asset.status == 200
                assert "immutable" in asset.headers["Cache-Control"]
                assert asset.headers["Content-Security-Policy"] == CSP

        async with rig.client.get("/console/assets/api.js") as module:
            assert module.headers["Cache-Control"] == "no-cache"
            etag = module.headers["ETag"]
        revalidated = rig.client.get("/console/assets/api.js", headers={"If-None-Match": etag})
        async with revalidated as again:
            assert again.status == 304

        missing = await rig.call("GET", "/console/assets/nope.js", key=None)
        assert missing.status == 404 and missing.content_type == "application/problem+json"


def test_every_imported_module_is_shipped() -> None:
    shipped = assets()
    for name, asset in shipped.items():
        if not name.endswith(".js"):
            continue
        imported = re.findall(r'from "\./([\w.-]+)"', asset.body.decode())
        for module in imported:
            assert module in shipped, f"{name} imports {module}, which is not shipped"
        assert asset.content_type.startswith("text/javascript")
    assert {"main.js", "console.css", "favicon.svg"} <= set(shipped)


def test_every_console_file_is_package_data() -> None:
    """An installed wamd (not only a checkout) serves the console: pyproject's package-data
    patterns cover every file under static/ and templates/."""
    root = Path(__file__).resolve().parents[3]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["http_api.console"]
    console = root / "http_api" / "console"
    files = [f for d in ("static", "templates") for f in (console / d).iterdir() if f.is_file()]
    assert files
    for file in files:
        relative = file.relative_to(console).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


async def test_whoami_names_the_caller(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        created = await rig.call("POST", "/sessions", json_body={"id": "alice"})
        key = created.body["apiKey"]["key"]
        assert (await rig.call("GET", "/whoami")).body == {"role": "admin", "sessionId": None}
        scoped = await rig.call("GET", "/whoami", key=key)
        assert scoped.body == {"role": "session", "sessionId": "alice"}
        assert (await rig.call("GET", "/whoami", key=None)).status == 401
        assert ADMIN_KEY


async def test_the_access_log_masks_numbers_and_omits_queries(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    config = dataclasses.replace(config, http=HttpConfig(api_key=ADMIN_KEY, access_log=True))
    async with running_api(tmp_path, config) as rig:
        await rig.call("POST", "/sessions", json_body={"id": "alice"})
        with capture_logs() as logs:
            await rig.call("GET", "/health?secret=1", key=None)
            await rig.call("GET", "/sessions/alice/chats/15551234567@s.whatsapp.net/messages")
        lines = [e for e in logs if e["event"] == "http.request"]
        assert [(e["method"], e["path"], e["status"]) for e in lines] == [
            ("GET", "/health", 200),
            ("GET", "/sessions/alice/chats/*******4567@s.whatsapp.net/messages", 200),
        ]
    assert masked_path("/a/12345/b") == "/a/*2345/b"
