"""The campaign routes (every answer checked against the OpenAPI document): a large batch
above the API's general body limit, paging recipients by status with the cursor, the campaign
list, and the errors: 400 that changes nothing, 404, 409, 413, 415, another session's key."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from aiohttp import FormData
from daemon_fakes import fast_config
from http_rig import Rig, running_api
from PIL import Image

BODY = {"name": "n", "content": {"type": "text", "text": "Hi {{name}}"}, "defaults": {"name": "x"}}


async def session_and_campaign(rig: Rig) -> str:
    created = await rig.call("POST", "/sessions", json_body={"id": "s"})
    assert created.status == 201
    reply = await rig.call("POST", "/sessions/s/campaigns", json_body=BODY)
    assert reply.status == 201, reply.body
    assert reply.headers["Location"] == f"/sessions/s/campaigns/{reply.body['id']}"
    return str(reply.body["id"])


async def test_a_large_batch_and_pages_of_recipients(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        campaign_id = await session_and_campaign(rig)
        path = f"/sessions/s/campaigns/{campaign_id}"
        # ~1.6 MB: above http.max_body_bytes (1 MiB), within campaigns.max_body_bytes.
        numbers = [f"+1999{n:07d}" for n in range(60_000)]
        added = await rig.call("POST", f"{path}/recipients", json_body={"recipients": numbers})
        assert added.status == 200, added.body
        assert added.body["added"] == 60_000 and added.body["total"] == 60_000
        again = await rig.call(
            "POST", f"{path}/recipients", json_body={"recipients": [*numbers[:10], "+19990600000"]}
        )
        assert again.body["added"] == 1 and again.body["duplicates"] == 10
        campaign = (await rig.call("GET", path)).body
        assert campaign["counts"]["pending"] == 60_001 and campaign["counts"]["total"] == 60_001

        first = (await rig.call("GET", f"{path}/recipients?status=pending&limit=2")).body
        assert [r["to"] for r in first["recipients"]] == [
            "19990000000@s.whatsapp.net",
            "19990000001@s.whatsapp.net",
        ]
        second = (
            await rig.call("GET", f"{path}/recipients?limit=2&cursor={first['nextCursor']}")
        ).body
        assert second["recipients"][0]["to"] == "19990000002@s.whatsapp.net"
        assert (await rig.call("GET", f"{path}/recipients?status=read")).body == {
            "recipients": [],
            "nextCursor": None,
        }
        listed = (await rig.call("GET", "/sessions/s/campaigns")).body
        assert [c["id"] for c in listed["campaigns"]] == [campaign_id]


async def test_errors_change_nothing(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    config = dataclasses.replace(
        config, campaigns=dataclasses.replace(config.campaigns, max_body_bytes=4096)
    )
    async with running_api(tmp_path, config) as rig:
        campaign_id = await session_and_campaign(rig)
        path = f"/sessions/s/campaigns/{campaign_id}"
        big = {"recipients": [f"+1999{n:07d}" for n in range(1000)]}
        assert (await rig.call("POST", f"{path}/recipients", json_body=big)).status == 413
        plain = await rig.call("POST", f"{path}/recipients", data="x")
        assert plain.status == 415
        bad = await rig.call("POST", f"{path}/recipients", json_body={"recipients": []})
        assert bad.status == 400 and bad.body["type"].endswith("/invalid-campaign")
        assert (await rig.call("GET", f"{path}/recipients?status=nope")).status == 400
        assert (await rig.call("GET", f"{path}/recipients?cursor=abc")).status == 400
        assert (await rig.call("GET", "/sessions/s/campaigns/cmp_nope")).status == 404
        assert (await rig.call("POST", f"{path}/start")).status == 409
        assert (await rig.call("POST", f"{path}/pause")).status == 409
        assert (await rig.call("GET", path)).body["counts"]["total"] == 0

        other = await rig.call("POST", "/sessions", json_body={"id": "t"})
        other_key = other.body["apiKey"]["key"]
        assert (await rig.call("GET", path, key=other_key)).status == 403
        assert (await rig.call("GET", f"/sessions/t/campaigns/{campaign_id}")).status == 404

        reader = await rig.call("POST", "/sessions/s/api-keys", json_body={"canSend": False})
        assert reader.status == 201, reader.body
        reader_key = reader.body["key"]
        refused = await rig.call("POST", "/sessions/s/campaigns", key=reader_key, json_body=BODY)
        assert refused.status == 403 and refused.body["type"].endswith("/send-not-allowed")
        assert (await rig.call("POST", f"{path}/cancel", key=reader_key)).status == 403
        assert (await rig.call("GET", path, key=reader_key)).status == 200
        narrow = await rig.call(
            "POST", "/sessions/s/api-keys", json_body={"chats": ["+19990000001"]}
        )
        narrow_key = narrow.body["key"]
        assert (await rig.call("GET", path, key=narrow_key)).status == 403

        rig.devices.unpaired.add("u")
        assert (await rig.call("POST", "/sessions", json_body={"id": "u"})).status == 201
        unpaired = await rig.call("POST", "/sessions/u/campaigns", json_body=BODY)
        unpaired_path = f"/sessions/u/campaigns/{unpaired.body['id']}"
        await rig.call(
            "POST", f"{unpaired_path}/recipients", json_body={"recipients": ["+19990000123"]}
        )
        refused = await rig.call("POST", f"{unpaired_path}/start")
        assert refused.status == 409 and refused.body["type"].endswith("/not-paired")

        cancelled = await rig.call("POST", f"{path}/cancel")
        assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
        late = await rig.call(
            "POST", f"{path}/recipients", json_body={"recipients": ["+19990000001"]}
        )
        assert late.status == 409


def form(*parts: tuple[str, str | bytes, str]) -> FormData:
    built = FormData()
    for name, value, content_type in parts:
        built.add_field(
            name, value, filename="f" if name == "file" else None, content_type=content_type
        )
    return built


PNG_CAMPAIGN = json.dumps(
    {"content": {"type": "image", "caption": "Hi {{name}}"}, "defaults": {"name": "x"}}
)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


async def test_a_media_campaign_is_created_with_its_file_or_refused_whole(
    tmp_path: Path,
) -> None:
    async with running_api(tmp_path) as rig:
        await session_and_campaign(rig)
        directory = rig.services.campaigns.files.directory
        text_campaign = json.dumps(BODY)
        refused = [
            form(("file", png(), "image/png")),
            form(("campaign", PNG_CAMPAIGN, "application/json")),
            form(("campaign", "{not json", "application/json"), ("file", png(), "image/png")),
            form(("campaign", PNG_CAMPAIGN, "application/json"), ("extra", "x", "text/plain")),
            form(("campaign", text_campaign, "application/json"), ("file", png(), "image/png")),
            form(
                ("campaign", PNG_CAMPAIGN, "application/json"),
                ("file", png(), "image/png"),
                ("file", png(), "image/png"),
            ),
            form(
                (
                    "campaign",
                    json.dumps({"content": {"type": "image", "url": "https://x.test/a.png"}}),
                    "application/json",
                ),
                ("file", png(), "image/png"),
            ),
            form(("campaign", PNG_CAMPAIGN, "application/json"), ("file", b"", "image/png")),
        ]
        for body in refused:
            reply = await rig.call("POST", "/sessions/s/campaigns", data=body)
            assert reply.status == 400, reply.body
        assert not directory.exists() or not any(directory.iterdir())
        listed = (await rig.call("GET", "/sessions/s/campaigns")).body["campaigns"]
        assert len(listed) == 1

        good = form(("campaign", PNG_CAMPAIGN, "application/json"), ("file", png(), "image/png"))
        created = await rig.call("POST", "/sessions/s/campaigns", data=good)
        assert created.status == 201, created.body
        content = created.body["content"]
        assert content["file"]["mimetype"] == "image/png" and "path" not in content["file"]
        assert (content["width"], content["height"]) == (40, 30)
        campaign_id = created.body["id"]
        assert sorted(p.name for p in directory.iterdir()) == [campaign_id, f"{campaign_id}.thumb"]
        path = f"/sessions/s/campaigns/{created.body['id']}"
        assert (await rig.call("POST", f"{path}/cancel")).status == 200
        assert not any(directory.iterdir())
