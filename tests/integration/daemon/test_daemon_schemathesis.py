"""schemathesis against a real daemon with a paired session: every operation of
``/openapi.json``, examples, coverage and fuzzing phases, every check. Zero server errors, zero
responses that break the document, no request the document forbids accepted and none it allows
refused.

Two passes, each a bounded ``st run`` (a fixed seed, so a run is repeatable; an SSE answer is
read up to its first event):

* the paired session's own key, with the document's ``{id}`` narrowed to that session (so
  generated requests reach the client: send, media, history, archive, read, pairing, events...,
  and a mutated id is a real other id). Logout is left to the second pass so this one keeps its
  paired session;
* the admin key, with generated ids: admin-only routes, sessions and webhooks made and deleted,
  logout included.

Some answers count as accepting a schema-valid request where the document cannot say more:
opaque cursors (chats, messages, contacts, groups, campaigns and their recipients) are strings
only this API mints, so a generated one is refused with 400; a campaign's ``scheduledAt`` must
lie in the future, which a schema cannot say, so a generated (past) one is refused with 400; an
``Idempotency-Key`` generated twice for two different messages is refused with 422, and a
generated file whose bytes are not of its declared kind with 415, as they must be. Every other
check still applies to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from daemon_harness import ADMIN_KEY, DaemonFactory, create_account, pair, serving

from sandbox.app import SandboxServer

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
"""A 1x1 PNG."""
SEED = 20261207
EXAMPLES = 15
RUN_TIMEOUT_S = 150.0


def _toml(value: object) -> str:
    return json.dumps(value)


CURSOR_REFUSED = ["2xx", 400, 401, 403, 404, 409]
STATE_DEPENDENT_ACCEPTANCE = {
    "listChats": CURSOR_REFUSED,
    "listChatMessages": CURSOR_REFUSED,
    "listContacts": CURSOR_REFUSED,
    "listGroups": CURSOR_REFUSED,
    "listCampaigns": CURSOR_REFUSED,
    "listCampaignRecipients": CURSOR_REFUSED,
    # A past scheduledAt (400 invalid-campaign); a media file with a non-media content type.
    "createCampaign": ["2xx", 400, 401, 403, 404, 409, 413, 415],
    "startCampaign": CURSOR_REFUSED,
    # 413/415: an uploaded file over its kind's limit, or whose bytes are not of its kind.
    "sendMessage": ["2xx", 401, 403, 404, 409, 413, 415, 422],
}


def narrowed_document(
    document: dict[str, Any], media_url: str, session_id: str | None = None
) -> dict[str, Any]:
    """The document with a media send's ``url`` narrowed to ``media_url`` (a file this test
    serves: a generated URL would make the daemon fetch from nowhere), and every ``{id}`` path
    parameter to ``session_id`` when given."""
    narrowed = copy.deepcopy(document)
    for variant in narrowed["components"]["schemas"]["SendMessage"]["oneOf"]:
        if "url" in variant["properties"]:
            variant["properties"]["url"] = {"type": "string", "enum": [media_url]}
    for item in narrowed["paths"].values():
        for parameter in item.get("parameters", []):
            if session_id and parameter["in"] == "path" and parameter["name"] == "id":
                parameter["schema"] = {"type": "string", "enum": [session_id]}
    return narrowed


@contextlib.asynccontextmanager
async def file_server() -> AsyncIterator[str]:
    """Serves a small PNG on loopback; yields its URL."""

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/image.png", image)
    async with serving(app) as base:
        yield f"{base}/image.png"


def write_config(path: Path, url: str, key: str, *, skip_logout: bool) -> None:
    lines = [
        f"base-url = {_toml(url)}",
        f"headers = {{ {_toml('x-api-key')} = {_toml(key)} }}",
        "workers = 1",
        f"seed = {SEED}",
        f"generation.max-examples = {EXAMPLES}",
        "request-timeout = 30.0",
        "max-stream-events = 1",
    ]
    if skip_logout:
        lines += ["[[operations]]", 'include-operation-id = "logoutSession"', "enabled = false"]
    for operation, statuses in STATE_DEPENDENT_ACCEPTANCE.items():
        lines += [
            "[[operations]]",
            f"include-operation-id = {_toml(operation)}",
            f"checks.positive_data_acceptance.expected-statuses = {_toml(statuses)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def run_schemathesis(config: Path, document: Path, url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(document),
        "--url",
        url,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--no-shrink",
        "--output-sanitize",
        "false",
        "--suppress-health-check",
        "all",
        cwd=config.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"schemathesis ran longer than {RUN_TIMEOUT_S} s") from None
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_schemathesis_finds_nothing(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, tmp_path: Path
) -> None:
    await create_account(sandbox, "15550001111", "Alice")
    daemon = await daemon_factory(media={"allow_private_urls": True})
    key = (await pair(daemon.api(), sandbox, "alice", "15550001111"))["key"]

    served = (await daemon.api().call("GET", "/openapi.json")).body
    async with file_server() as media_url:
        passes = {
            "paired-session": (key, narrowed_document(served, media_url, "alice")),
            "admin": (ADMIN_KEY, narrowed_document(served, media_url)),
        }
        for name, (api_key, document) in passes.items():
            workdir = tmp_path / f"schemathesis-{name}"
            workdir.mkdir()
            config, schema = workdir / "schemathesis.toml", workdir / "openapi.json"
            schema.write_text(json.dumps(document), encoding="utf-8")
            write_config(config, daemon.url, api_key, skip_logout=api_key == key)
            code, output = await run_schemathesis(config, schema, daemon.url)
            assert code == 0, f"schemathesis ({name} pass) found problems:\n{output[-12000:]}"
            assert "Tested: " in output, output[-2000:]

    failures = [e for e in daemon.logs if e.get("event") in ("http.unhandled", "http.server_error")]
    assert failures == [], failures[:3]
    assert await daemon.stop() == 0
