"""Sessions through the API: the auth matrix, CRUD, commands, QR as JSON/PNG/SVG, keys,
problem+json errors, the shutdown write gate."""

from __future__ import annotations

import zlib
from pathlib import Path

from http_rig import ADMIN_KEY, Rig, running_api

from daemon.client.state import SessionState


async def create(rig: Rig, session_id: str, **body: object) -> str:
    reply = await rig.call("POST", "/sessions", json_body={"id": session_id, **body})
    assert reply.status == 201, reply.body
    key: str = reply.body["apiKey"]["key"]
    return key


async def test_auth_matrix(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        alice_key = await create(rig, "alice")
        bob_key = await create(rig, "bob")

        assert (await rig.call("GET", "/health", key=None)).status == 200
        missing = await rig.call("GET", "/sessions/alice", key=None)
        assert missing.status == 401 and missing.body["type"].endswith("/missing-api-key")
        assert missing.headers["WWW-Authenticate"] == "ApiKey"
        assert missing.content_type == "application/problem+json"
        # alice's key with its last character changed (to one it does not already end in)
        altered = alice_key[:-1] + ("Y" if alice_key.endswith("X") else "X")
        for wrong in ("nope", ADMIN_KEY + "x", altered, "wamd_00000000000000_x"):
            reply = await rig.call("GET", "/sessions/alice", key=wrong)
            assert reply.status == 401 and reply.body["type"].endswith("/invalid-api-key")
        other = await rig.call("GET", "/sessions/alice", key=bob_key)
        assert other.status == 403 and other.body["type"].endswith("/wrong-session")
        # Even a session that does not exist: a scoped key learns nothing about others.
        assert (await rig.call("GET", "/sessions/zed", key=bob_key)).status == 403
        assert (await rig.call("GET", "/sessions/alice", key=alice_key)).status == 200
        assert (await rig.call("GET", "/openapi.json", key=None)).status == 401
        assert (await rig.call("GET", "/health/deep", key=None)).status == 401

        listed = await rig.call("GET", "/sessions", key=alice_key)
        assert [s["id"] for s in listed.body["sessions"]] == ["alice"]
        everyone = await rig.call("GET", "/sessions")
        assert [s["id"] for s in everyone.body["sessions"]] == ["alice", "bob"]
        deep = await rig.call("GET", "/health/deep", key=bob_key)
        assert [s["sessionId"] for s in deep.body["sessions"]] == ["bob"]

        admin_only = [
            ("POST", "/sessions", {"id": "mallory"}),
            ("DELETE", "/sessions/alice", None),
            ("GET", "/sessions/alice/api-keys", None),
            ("POST", "/webhooks", {"url": "https://x.example/h"}),
        ]
        for method, path, body in admin_only:
            reply = await rig.call(method, path, key=alice_key, json_body=body)
            assert reply.status == 403, (method, path, reply.body)
        assert (await rig.call("GET", "/sessions/alice")).status == 200


async def test_create_get_update_delete(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        reply = await rig.call(
            "POST", "/sessions", json_body={"id": "sales", "name": "Sales", "autoConnect": False}
        )
        assert reply.status == 201
        assert reply.headers["Location"] == "/sessions/sales"
        session = reply.body["session"]
        assert session["status"] == "stopped" and session["name"] == "Sales"
        assert session["autoConnect"] is False and session["lastStatusCheck"] is None
        assert reply.body["apiKey"]["key"].startswith("wamd_")

        duplicate = await rig.call("POST", "/sessions", json_body={"id": "sales"})
        assert duplicate.status == 409 and duplicate.body["type"].endswith("/session-exists")
        bad = await rig.call("POST", "/sessions", json_body={"id": "no spaces"})
        assert bad.status == 400
        unknown = await rig.call("POST", "/sessions", json_body={"id": "x", "colour": 1})
        assert unknown.status == 400 and "colour" in unknown.body["detail"]
        generated = await rig.call("POST", "/sessions", json_body={})
        assert generated.body["session"]["id"].startswith("s_")

        got = await rig.call("GET", "/sessions/sales")
        assert got.body["lastStatusCheck"] is not None  # a real check on read

        patched = await rig.call(
            "PATCH", "/sessions/sales", json_body={"name": "Support", "autoConnect": True}
        )
        assert patched.body["name"] == "Support" and patched.body["autoConnect"] is True
        wrong_type = await rig.call("PATCH", "/sessions/sales", json_body={"active": "yes"})
        assert wrong_type.status == 400

        assert (await rig.call("DELETE", "/sessions/sales")).status == 204
        assert (await rig.call("DELETE", "/sessions/sales")).status == 204  # idempotent
        assert (await rig.call("GET", "/sessions/sales")).status == 404
        assert rig.devices.devices["sales"].closed


async def test_commands_and_reconnect(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await create(rig, "s")
        device = rig.devices.devices["s"]
        connected = await rig.call("POST", "/sessions/s/connect")
        assert connected.status == 202 and device.state is SessionState.CONNECTED
        assert connected.body["socketAlive"] is True
        reply = await rig.call("POST", "/sessions/s/reconnect?wait=2")
        assert reply.status == 200
        assert reply.body["success"] is True and "connected as" in reply.body["message"]
        device.default = "banned"
        refused = await rig.call("POST", "/sessions/s/reconnect?wait=2")
        assert refused.body == {
            "success": False,
            "message": "banned: 403: account forbidden or banned",
        }
        stopped = await rig.call("POST", "/sessions/s/disconnect")
        assert stopped.status == 200
        assert (await rig.call("POST", "/sessions/s/reconnect?wait=99")).status == 400
        logged_out = await rig.call("POST", "/sessions/s/logout")
        assert logged_out.body["status"] == "logged_out"


async def test_qr_as_json_png_and_svg(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        rig.devices.unpaired.add("new")
        await create(rig, "new")
        none_yet = await rig.call("GET", "/sessions/new/qr")
        assert none_yet.status == 404 and none_yet.body["type"].endswith("/no-qr")
        started = await rig.call("POST", "/sessions/new/pair")
        assert started.status == 200 and started.body["qr"] == "qr-text-1"
        again = await rig.call("POST", "/sessions/new/pair")
        assert again.body == started.body and rig.devices.devices["new"].pairs == 1

        as_json = await rig.call("GET", "/sessions/new/qr")
        assert as_json.body["qr"] == "qr-text-1" and as_json.body["index"] == 0
        png = await rig.call("GET", "/sessions/new/qr?format=png")
        assert png.content_type == "image/png" and png.body[:8] == b"\x89PNG\r\n\x1a\n"
        by_accept = await rig.call("GET", "/sessions/new/qr", headers={"Accept": "image/png"})
        assert by_accept.body == png.body
        svg = await rig.call("GET", "/sessions/new/qr?format=svg")
        assert svg.content_type == "image/svg+xml" and b"<svg" in svg.body
        assert png.headers["Cache-Control"] == "no-store"
        assert (await rig.call("GET", "/sessions/new/qr?format=gif")).status == 400
        # The IDAT really inflates: a well-formed image, not just a signature.
        assert zlib.decompress(png.body[png.body.index(b"IDAT") + 4 : -16])


async def test_pair_code_input_is_checked(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await create(rig, "s")
        reply = await rig.call("POST", "/sessions/s/pair-code", json_body={"phone": "0123"})
        assert reply.status == 400 and reply.body["type"].endswith("/invalid-phone-number")
        missing = await rig.call("POST", "/sessions/s/pair-code", json_body={})
        assert missing.status == 400


async def test_session_keys(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        first = await create(rig, "s")
        made = await rig.call("POST", "/sessions/s/api-keys", json_body={"label": "crm"})
        assert made.status == 201 and made.body["label"] == "crm"
        second = made.body["key"]
        listed = await rig.call("GET", "/sessions/s/api-keys")
        assert len(listed.body["apiKeys"]) == 2
        assert all("key" not in k for k in listed.body["apiKeys"])  # shown once only
        assert (await rig.call("GET", "/sessions/s", key=second)).status == 200
        revoked = await rig.call("DELETE", f"/sessions/s/api-keys/{made.body['id']}")
        assert revoked.status == 204
        assert (await rig.call("GET", "/sessions/s", key=second)).status == 401
        assert (await rig.call("GET", "/sessions/s", key=first)).status == 200


async def test_errors_are_problem_json(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await create(rig, "s")
        nowhere = await rig.call("GET", "/nowhere")
        assert nowhere.status == 404 and nowhere.content_type == "application/problem+json"
        wrong_method = await rig.call("PUT", "/sessions/s")
        assert wrong_method.status == 405 and "Allow" in wrong_method.headers
        not_json = await rig.call(
            "PATCH", "/sessions/s", data="{", headers={"Content-Type": "application/json"}
        )
        assert not_json.status == 400 and "not valid JSON" in not_json.body["detail"]
        wrong_type = await rig.call(
            "PATCH", "/sessions/s", data="name=x", headers={"Content-Type": "text/plain"}
        )
        assert wrong_type.status == 415
        array = await rig.call("PATCH", "/sessions/s", json_body=[1])
        assert array.status == 400 and array.body["instance"] == "/sessions/s"


async def test_writes_are_refused_while_stopping(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await create(rig, "s")
        await rig.services.gate.close()
        refused = await rig.call("POST", "/sessions/s/connect")
        assert refused.status == 503 and refused.headers["Retry-After"] == "5"
        assert refused.body["type"].endswith("/shutting-down")
        assert (await rig.call("GET", "/sessions/s")).status == 200
