"""The login record on the admin API: every successful companion login with its time, per
device and across devices, surviving a restart; refused logins are not logins."""

from __future__ import annotations

from helpers import TestClient, admin, login, login_payload, pair_directly, tag_is

from sandbox.app import SandboxServer


async def test_logins_are_recorded_per_device_and_survive_a_restart(
    bare_sandbox: SandboxServer,
) -> None:
    first = await pair_directly(
        bare_sandbox, await bare_sandbox.network.create_account("15550090001")
    )
    second = await pair_directly(
        bare_sandbox, await bare_sandbox.network.create_account("15550090002")
    )
    # Pairing ends with a 515 and no login: nothing is recorded yet.
    status, body = await admin(bare_sandbox, "GET", "/admin/logins")
    assert status == 200 and body == {"logins": []}

    client = await login(bare_sandbox, first)
    await client.close()
    status, body = await admin(bare_sandbox, "GET", f"/admin/devices/{first.jid}/logins")
    assert status == 200 and body["device"] == str(first.jid) and len(body["logins"]) == 1
    after_first = body["logins"][0]

    await bare_sandbox.restart()
    for companion in (first, second):
        client = await login(bare_sandbox, companion)
        await client.close()
    # A refused login is not a login.
    await admin(bare_sandbox, "POST", "/admin/faults/refuse-logins", {"reason": 503})
    refused = await TestClient.open(bare_sandbox, login_payload(first.jid), first.keys.noise)
    await refused.wait_for(tag_is("failure"))
    await refused.wait_closed()

    status, body = await admin(bare_sandbox, "GET", f"/admin/devices/{first.jid}/logins")
    assert len(body["logins"]) == 2 and body["logins"][0] == after_first
    assert body["logins"][1] >= after_first
    status, body = await admin(bare_sandbox, "GET", "/admin/logins")
    assert [entry["device"] for entry in body["logins"]] == [
        str(first.jid),
        str(first.jid),
        str(second.jid),
    ]
    times = [entry["at"] for entry in body["logins"]]
    assert times == sorted(times)
    status, body = await admin(bare_sandbox, "GET", f"/admin/logins?since={times[1]}")
    assert [entry["at"] for entry in body["logins"]] == times[1:]

    status, problem = await admin(bare_sandbox, "GET", "/admin/logins?since=yesterday")
    assert status == 400 and problem["title"] == "bad request"
    status, body = await admin(
        bare_sandbox, "GET", "/admin/devices/15550090009:1@s.whatsapp.net/logins"
    )
    assert status == 200 and body["logins"] == []


async def test_a_login_pushing_an_open_socket_off_is_recorded(
    bare_sandbox: SandboxServer,
) -> None:
    device = await pair_directly(
        bare_sandbox, await bare_sandbox.network.create_account("15550090003")
    )
    first = await login(bare_sandbox, device)
    await first.close()
    second = await login(bare_sandbox, device)  # the first socket is closed: no push
    status, body = await admin(bare_sandbox, "GET", "/admin/logins/replaced")
    assert status == 200 and body == {"replaced": []}
    third = await login(bare_sandbox, device)  # the second is still open: pushed off
    await second.wait_for(tag_is("stream:error"))
    await third.close()
    status, body = await admin(bare_sandbox, "GET", "/admin/logins/replaced")
    assert [entry["device"] for entry in body["replaced"]] == [str(device.jid)]
