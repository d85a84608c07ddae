"""Simulated phones talk to each other through the real sandbox network: 1:1, groups, retries,
receipts, and a restart that keeps their Signal sessions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from daemon.binary import JID, Node
from daemon.signal import ProtocolAddress, SenderKeyName
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.phone import SimulatedPhone

TIMEOUT = 5.0


def phone_of(server: SandboxServer, account: Account) -> SimulatedPhone:
    phone = server.network.phones[account.phone_user]
    assert isinstance(phone, SimulatedPhone)
    return phone


def record_deliveries(phone: SimulatedPhone) -> list[Node]:
    """Keeps a copy of every stanza the network hands to ``phone``."""
    seen: list[Node] = []
    original = phone.deliver

    async def deliver(node: Node) -> None:
        seen.append(node)
        await original(node)

    phone.deliver = deliver  # type: ignore[method-assign]
    return seen


def received(phone: SimulatedPhone, message_id: str) -> Callable[[], bool]:
    return lambda: any(m.id == message_id for m in phone.messages_received)


async def until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def enc_types(node: Node) -> list[str]:
    encs = [*node.children_by_tag("enc")]
    return [e.attr_str("type") or "" for e in encs]


async def accounts(server: SandboxServer, *names: str) -> list[Account]:
    made = []
    for index, name in enumerate(names, start=1):
        made.append(await server.network.create_account(f"1555000{index:04d}", push_name=name))
    return made


async def test_two_phones_exchange_texts_with_receipts(sandbox: SandboxServer) -> None:
    ann, bob = await accounts(sandbox, "Ann", "Bob")
    ann_phone, bob_phone = phone_of(sandbox, ann), phone_of(sandbox, bob)
    to_bob, to_ann = record_deliveries(bob_phone), record_deliveries(ann_phone)

    first = await ann_phone.send_text(bob.pn, "hello bob")
    await until(received(bob_phone, first))
    [got] = bob_phone.messages_received
    assert (got.kind, got.text, got.chat, got.sender) == ("text", "hello bob", ann.pn, ann.pn)
    [stanza] = [n for n in to_bob if n.tag == "message"]
    assert enc_types(stanza) == ["pkmsg"]
    assert stanza.attr_str("notify") == "Ann"

    # Bob answers on the session Ann's prekey message opened: a plain msg.
    reply = await bob_phone.send_reply(ann.pn, "hi ann", first)
    await until(received(ann_phone, reply))
    answer = ann_phone.messages_received[-1]
    assert (answer.kind, answer.text, answer.quoted_id) == ("reply", "hi ann", first)
    assert enc_types([n for n in to_ann if n.tag == "message"][-1]) == ["msg"]

    second = await ann_phone.send_text(bob.pn, "second")
    await until(received(bob_phone, second))
    assert enc_types([n for n in to_bob if n.tag == "message"][-1]) == ["msg"]

    # Delivery receipts went back to the senders.
    await until(lambda: {first, second} <= {i for r in ann_phone.receipts for i in r.message_ids})
    assert all(r.receipt_type == "" for r in ann_phone.receipts)
    assert any(reply in r.message_ids for r in bob_phone.receipts)

    # Read receipts when asked for.
    await bob_phone.mark_read(ann.pn, [first, second])
    await until(lambda: any(r.receipt_type == "read" for r in ann_phone.receipts))
    read = next(r for r in ann_phone.receipts if r.receipt_type == "read")
    assert set(read.message_ids) == {first, second}
    assert read.sender == bob.lid  # a LID conversation: receipts come from the LID

    reaction = await ann_phone.send_reaction(bob.pn, reply, "👍")
    await until(received(bob_phone, reaction))
    assert bob_phone.messages_received[-1].kind == "reaction"
    assert bob_phone.messages_received[-1].quoted_id == reply
    # Ann's chat list (what her companions' history sync shows) holds the whole conversation.
    assert [m.message_id for m in ann_phone.chat_log] == [first, reply, second, reaction]
    assert [m.from_me for m in ann_phone.chat_log] == [True, False, True, True]
    assert {m.chat for m in ann_phone.chat_log} == {bob.pn}


async def test_group_send_among_three_phones(sandbox: SandboxServer) -> None:
    ann, bob, carl = await accounts(sandbox, "Ann", "Bob", "Carl")
    phones = [phone_of(sandbox, a) for a in (ann, bob, carl)]
    ann_phone, bob_phone, carl_phone = phones
    to_bob = record_deliveries(bob_phone)

    group = await ann_phone.create_group("Trio", [bob.pn, carl.lid])
    first = await ann_phone.send_group_text(group, "hello group")
    for phone in (bob_phone, carl_phone):
        await until(received(phone, first))
        message = phone.messages_received[-1]
        assert (message.chat, message.sender, message.text) == (group, ann.pn, "hello group")
    stanza = [n for n in to_bob if n.tag == "message"][-1]
    # The first send carries the sender key (pairwise pkmsg) next to the group payload.
    assert sorted(enc_types(stanza)) == ["pkmsg", "skmsg"]
    assert stanza.attrs["participant"] == ann.pn

    second = await ann_phone.send_group_text(group, "again")
    await until(received(carl_phone, second))
    assert enc_types([n for n in to_bob if n.tag == "message"][-1]) == ["skmsg"]

    from_bob = await bob_phone.send_group_text(group, "bob here")
    for phone in (ann_phone, carl_phone):
        await until(received(phone, from_bob))
        assert phone.messages_received[-1].sender == bob.pn

    # Group delivery receipts reach the sender.
    await until(lambda: sum(first in r.message_ids for r in ann_phone.receipts) >= 2)


async def test_retry_receipt_rebuilds_a_lost_session(sandbox: SandboxServer) -> None:
    ann, bob = await accounts(sandbox, "Ann", "Bob")
    ann_phone, bob_phone = phone_of(sandbox, ann), phone_of(sandbox, bob)
    hello = await ann_phone.send_text(bob.pn, "hello")
    await until(received(bob_phone, hello))
    answer = await bob_phone.send_text(ann.pn, "hello to you")
    await until(received(ann_phone, answer))

    # Bob loses his session with Ann: her next msg cannot be decrypted.
    await bob_phone._store.delete_session(ProtocolAddress.from_jid(ann.lid_device(0)))
    to_bob, to_ann = record_deliveries(bob_phone), record_deliveries(ann_phone)
    lost = await ann_phone.send_text(bob.pn, "after the loss")
    await until(received(bob_phone, lost))
    assert bob_phone.messages_received[-1].text == "after the loss"
    # Bob asked again, with a fresh bundle; Ann encrypted once more on a new session.
    retry = next(n for n in to_ann if n.tag == "receipt" and n.attr_str("type") == "retry")
    assert retry.attr_str("id") == lost
    assert retry.child("keys") is not None
    again = [n for n in to_bob if n.tag == "message" and n.attr_str("id") == lost]
    assert [enc_types(n) for n in again] == [["msg"], ["pkmsg"]]
    [enc] = again[1].children_by_tag("enc")
    assert enc.attr_str("count") == "1"
    # And the rebuilt session keeps working both ways.
    back = await bob_phone.send_text(ann.pn, "back")
    await until(received(ann_phone, back))


async def test_group_retry_goes_to_the_one_device_that_asked(sandbox: SandboxServer) -> None:
    ann, bob, carl = await accounts(sandbox, "Ann", "Bob", "Carl")
    ann_phone, bob_phone, carl_phone = (phone_of(sandbox, a) for a in (ann, bob, carl))
    group = await ann_phone.create_group("Trio", [bob.pn, carl.pn])
    first = await ann_phone.send_group_text(group, "one")
    await until(received(carl_phone, first))
    await until(received(bob_phone, first))

    # Carl loses Ann's sender key: her next skmsg cannot be read and Carl asks again.
    await carl_phone._store.delete_sender_key(
        SenderKeyName(str(group), ProtocolAddress.from_jid(ann.lid_device(0)))
    )
    to_bob, to_carl = record_deliveries(bob_phone), record_deliveries(carl_phone)
    second = await ann_phone.send_group_text(group, "two")
    await until(received(carl_phone, second))
    assert carl_phone.messages_received[-1].text == "two"
    resent = [n for n in to_carl if n.tag == "message" and n.attr_str("id") == second][-1]
    [enc] = resent.children_by_tag("enc")
    # Pairwise (still a pkmsg: Carl never wrote to Ann directly), marked as the first retry.
    assert (enc.attr_str("type"), enc.attr_str("count")) == ("pkmsg", "1")
    assert resent.attrs["participant"] == ann.pn
    # Bob got the message once; the retry was for Carl alone.
    await until(received(bob_phone, second))
    await ann_phone.idle()
    assert len([n for n in to_bob if n.tag == "message" and n.attr_str("id") == second]) == 1
    # Carl has the sender key again: the group's next message reads without a retry.
    third = await ann_phone.send_group_text(group, "three")
    await until(received(carl_phone, third))
    last = [n for n in to_carl if n.tag == "message"][-1]
    assert enc_types(last) == ["skmsg"]


async def test_sessions_survive_a_sandbox_restart(sandbox: SandboxServer) -> None:
    ann, bob = await accounts(sandbox, "Ann", "Bob")
    ann_phone, bob_phone = phone_of(sandbox, ann), phone_of(sandbox, bob)
    first = await ann_phone.send_text(bob.pn, "before")
    await until(received(bob_phone, first))
    # Bob's answer completes the session setup: from now on both sides send plain msgs.
    answer = await bob_phone.send_text(ann.pn, "before too")
    await until(received(ann_phone, answer))

    await sandbox.restart()
    ann_phone, bob_phone = phone_of(sandbox, ann), phone_of(sandbox, bob)
    to_bob = record_deliveries(bob_phone)
    to_ann = record_deliveries(ann_phone)
    # Addressed by LID this time: the same session (sessions are keyed by LID address).
    after = await ann_phone.send_text(JID(bob.lid_user, "lid"), "after")
    await until(received(bob_phone, after))
    assert enc_types([n for n in to_bob if n.tag == "message"][-1]) == ["msg"]
    again = await bob_phone.send_text(ann.pn, "after too")
    await until(received(ann_phone, again))
    assert enc_types([n for n in to_ann if n.tag == "message"][-1]) == ["msg"]
