"""Decrypting a message's parts through a staged store: pairwise then group parts, duplicates
are not failures, failures keep the steps that did succeed, nothing is written until commit."""

from __future__ import annotations

from daemon.binary import JID, Node
from daemon.client.decrypt import Outcome, decrypt_message
from daemon.client.incoming import parse_message
from daemon.client.message_content import sender_key_distribution
from daemon.client.signal_stage import StagedSignalStore
from daemon.signal import (
    GroupCipher,
    InMemorySignalStore,
    NoSenderKeyError,
    PreKeyBundle,
    ProtocolAddress,
    SenderKeyName,
    SessionCipher,
    StoreChanges,
    generate_identity_key_pair,
    generate_prekeys,
    generate_signed_prekey,
    pad,
)
from daemon.signal.padding import pad_with
from daemon.signal.state import SessionRecord
from waproto import wa_e2e_pb2

ALICE = ProtocolAddress("111_1", 1)
BOB = ProtocolAddress("222_1", 0)
BOB_DEVICE = JID.parse("15550002222@s.whatsapp.net")
GROUP = JID.parse("120363000000000001@g.us")


async def _parties() -> tuple[InMemorySignalStore, InMemorySignalStore]:
    """Alice (us, the receiver, with prekeys) and Bob (who starts a session from her bundle)."""
    alice = InMemorySignalStore(generate_identity_key_pair(), 1111)
    bob = InMemorySignalStore(generate_identity_key_pair(), 2222)
    signed = generate_signed_prekey(await alice.get_identity_key_pair(), 1)
    await alice.store_signed_prekey(signed)
    [prekey] = generate_prekeys(5, 1)
    await alice.store_prekeys([prekey])
    bundle = PreKeyBundle(
        registration_id=1111,
        identity_key=(await alice.get_identity_key_pair()).public,
        signed_prekey_id=1,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
        prekey_id=prekey.key_id,
        prekey=prekey.key_pair.public,
    )
    await SessionCipher(bob).process_bundle(ALICE, bundle)
    return alice, bob


def _text(text: str) -> bytes:
    return pad(wa_e2e_pb2.Message(conversation=text).SerializeToString())


def _stanza(*encs: tuple[str, bytes], group: bool = False) -> Node:
    attrs: dict[str, object] = {"id": "M", "from": BOB_DEVICE, "t": "1"}
    if group:
        attrs = {"id": "M", "from": GROUP, "participant": BOB_DEVICE, "t": "1"}
    return Node(
        "message",
        attrs,  # type: ignore[arg-type]
        [Node("enc", {"v": "2", "type": kind}, body) for kind, body in encs],
    )


async def test_pairwise_then_duplicate() -> None:
    alice, bob = await _parties()
    first = await SessionCipher(bob).encrypt(ALICE, _text("one"))
    incoming = parse_message(_stanza((first.message.type.value, first.message.body)))
    staged = StagedSignalStore(alice)
    result = await decrypt_message(incoming, staged, BOB, None)
    assert result.outcome is Outcome.OK and result.content is not None
    assert result.content.conversation == "one"
    assert alice.sessions == {} and alice.prekeys  # nothing written before the commit
    changes = staged.changes()
    assert changes.removed_prekeys == (5,) and [a for a, _ in changes.sessions] == [BOB]
    await alice.commit(changes)
    again = await decrypt_message(incoming, StagedSignalStore(alice), BOB, None)
    assert again.outcome is Outcome.DUPLICATE and again.error is None


async def test_group_message_with_its_sender_key_in_one_stanza() -> None:
    alice, bob = await _parties()
    name_at_bob = SenderKeyName(str(GROUP), ProtocolAddress("222_1", 0))
    distribution = (await GroupCipher(bob).distribution_message(name_at_bob)).message
    skdm = sender_key_distribution(str(GROUP), distribution.serialized).SerializeToString()
    pairwise = await SessionCipher(bob).encrypt(ALICE, pad(skdm))
    skmsg = await GroupCipher(bob).encrypt(name_at_bob, _text("to the group"))
    # The skmsg comes first on the wire; the pairwise part must still be read first.
    incoming = parse_message(
        _stanza(
            ("skmsg", skmsg.ciphertext),
            (pairwise.message.type.value, pairwise.message.body),
            group=True,
        )
    )
    name = SenderKeyName(str(GROUP), BOB)
    staged = StagedSignalStore(alice)
    result = await decrypt_message(incoming, staged, BOB, name)
    assert result.outcome is Outcome.OK and result.content is not None
    assert result.content.conversation == "to the group"
    assert [n for n, _ in staged.changes().sender_keys] == [name]


async def test_failure_keeps_the_parts_that_worked() -> None:
    alice, bob = await _parties()
    pairwise = await SessionCipher(bob).encrypt(ALICE, _text("hello"))
    # A group message under a sender key Alice never received.
    unknown_key = SenderKeyName("elsewhere", BOB)
    await GroupCipher(bob).distribution_message(unknown_key)
    orphan = await GroupCipher(bob).encrypt(unknown_key, _text("unreadable"))
    incoming = parse_message(
        _stanza(
            (pairwise.message.type.value, pairwise.message.body),
            ("skmsg", orphan.ciphertext),
            group=True,
        )
    )
    staged = StagedSignalStore(alice)
    result = await decrypt_message(incoming, staged, BOB, SenderKeyName(str(GROUP), BOB))
    assert result.outcome is Outcome.FAILED and isinstance(result.error, NoSenderKeyError)
    assert result.lacks_session
    assert [a for a, _ in staged.changes().sessions] == [BOB]  # the pairwise step is kept


async def test_bad_padding_and_protobuf_fail_without_retry_keys() -> None:
    alice, bob = await _parties()
    bad = await SessionCipher(bob).encrypt(ALICE, pad_with(b"\xff\xff\xff", 3))
    result = await decrypt_message(
        parse_message(_stanza((bad.message.type.value, bad.message.body))),
        StagedSignalStore(alice),
        BOB,
        None,
    )
    assert result.outcome is Outcome.FAILED and not result.lacks_session
    empty = await decrypt_message(parse_message(_stanza()), StagedSignalStore(alice), BOB, None)
    assert empty.outcome is Outcome.FAILED


async def test_staged_store_reads_its_own_writes() -> None:
    alice, _ = await _parties()
    staged = StagedSignalStore(alice)
    await staged.delete_session(BOB)
    assert await staged.load_session(BOB) == SessionRecord()
    assert await alice.load_session(BOB) is None
    assert await staged.load_prekey(5) is not None
    await staged.commit(StoreChanges(removed_prekeys=(5,)))
    assert await staged.load_prekey(5) is None and await alice.load_prekey(5) is not None
