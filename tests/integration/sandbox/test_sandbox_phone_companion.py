"""A companion linked by the simulated phone gets the app-state key share and the history sync
after its first login, decrypts them with its own keys, and can talk to its phone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from helpers import (
    Companion,
    DeviceKeys,
    TestClient,
    answer_pair_success,
    child_bytes,
    companion_finish_node,
    companion_hello_node,
    expect_restart,
    login,
    pair_with_phone,
    start_registration,
    tag_is,
)
from sandbox_companion import history_blob

from daemon.binary import JID, Node
from daemon.client.lid_sync import lid_sync_mappings
from daemon.crypto import pair_code
from daemon.crypto.curve import KeyPair as CurveKeyPair
from daemon.signal import (
    InMemorySignalStore,
    KeyPair,
    ProtocolAddress,
    SessionCipher,
    SignedPreKey,
    pad,
    unpad,
)
from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import Account
from sandbox.phone import (
    ChatMessage,
    HistoryConfig,
    PhoneSettings,
    SeededChat,
    SimulatedPhone,
    phone_factory,
)
from sandbox.phone.app_state import account_app_state_key
from sandbox.phone.client_stanzas import parse_prekey_bundles
from sandbox.phone.history import decompress
from waproto import wa_e2e_pb2, wa_history_pb2

OLD_FRIEND = JID("15559990000", "s.whatsapp.net")
SEEDED = SeededChat(
    OLD_FRIEND,
    name="Old friend",
    messages=(
        ChatMessage.text(OLD_FRIEND, "SEED1", "long ago", from_me=False, timestamp=1_000),
        ChatMessage.text(OLD_FRIEND, "SEED2", "indeed", from_me=True, timestamp=1_001),
    ),
)


@pytest.fixture
async def seeded_sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    settings = PhoneSettings(history=HistoryConfig(seeded_chats=(SEEDED,)))
    config = SandboxConfig(state_dir=tmp_path / "state")
    async with SandboxServer(config, phone_factory=phone_factory(settings)) as server:
        yield server


class CompanionSignal:
    """The companion's side of its sessions, from the keys it registered with."""

    def __init__(self, companion: Companion, phone_address: ProtocolAddress) -> None:
        keys = companion.keys
        identity = KeyPair(keys.identity.private, keys.identity.public)
        self.store = InMemorySignalStore(identity, keys.registration_id)
        self.signed = SignedPreKey(
            keys.signed_prekey_id,
            KeyPair(keys.signed_prekey.private, keys.signed_prekey.public),
            keys.signed_prekey_signature,
        )
        self.cipher = SessionCipher(self.store)
        self.phone = phone_address

    async def setup(self) -> None:
        await self.store.store_signed_prekey(self.signed)

    async def open(self, stanza: Node) -> wa_e2e_pb2.Message:
        [enc] = stanza.children_by_tag("enc")
        body = enc.content_bytes()
        assert body is not None
        decrypted = await self.cipher.decrypt(self.phone, enc.attr_str("type") or "", body)
        return wa_e2e_pb2.Message.FromString(unpad(decrypted.plaintext))


def peer_from(account: Account) -> Callable[[Node], bool]:
    def predicate(node: Node) -> bool:
        return (
            node.tag == "message"
            and node.attr_str("category") == "peer"
            and node.attrs.get("from") == account.pn
        )

    return predicate


async def next_peer_message(
    client: TestClient, account: Account, signal: CompanionSignal
) -> tuple[Node, wa_e2e_pb2.Message]:
    stanza = await client.wait_for(peer_from(account))
    return stanza, await signal.open(stanza)


async def test_first_login_gets_key_share_then_history(seeded_sandbox: SandboxServer) -> None:
    server = seeded_sandbox
    network = server.network
    ann = await network.create_account("15550001111", push_name="Ann")
    bob = await network.create_account("15550002222", push_name="Bob")
    ann_phone = network.phones[ann.phone_user]
    bob_phone = network.phones[bob.phone_user]
    assert isinstance(ann_phone, SimulatedPhone) and isinstance(bob_phone, SimulatedPhone)
    before = await ann_phone.send_text(bob.pn, "before the laptop")
    await bob_phone.idle()

    companion = await pair_with_phone(server, ann, push_name="Ann's laptop")
    signal = CompanionSignal(companion, ProtocolAddress.from_jid(ann.lid_device(0)))
    await signal.setup()
    client = await login(server, companion)
    try:
        stanza, share = await next_peer_message(client, ann, signal)
        assert [e.attr_str("type") for e in stanza.children_by_tag("enc")] == ["pkmsg"]
        assert stanza.child("device-identity") is None  # the primary has no ADV identity
        protocol = share.protocolMessage
        assert protocol.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
        [key] = protocol.appStateSyncKeyShare.keys
        expected = account_app_state_key(ann.identity, ann.created_at)
        assert key.keyID.keyID == expected.key_id
        assert key.keyData.keyData == expected.key_data
        assert list(key.keyData.fingerprint.deviceIndexes) == [0, 1]

        kinds = []
        payloads: list[wa_history_pb2.HistorySync] = []
        for _ in range(3):
            stanza, message = await next_peer_message(client, ann, signal)
            notification = message.protocolMessage.historySyncNotification
            assert (
                message.protocolMessage.type == wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION
            )
            kinds.append(notification.syncType)
            # INITIAL_BOOTSTRAP is inline, the others are media-host blobs.
            payloads.append(decompress(await history_blob(server, notification)))
        assert kinds == [wa_e2e_pb2.INITIAL_BOOTSTRAP, wa_e2e_pb2.PUSH_NAME, wa_e2e_pb2.RECENT]
        bootstrap, names, recent = payloads
        chats = {c.ID: c for c in bootstrap.conversations}
        assert set(chats) == {str(bob.pn), str(OLD_FRIEND)}
        [exchanged] = chats[str(bob.pn)].messages
        assert before == exchanged.message.key.ID
        assert exchanged.message.key.fromMe
        assert exchanged.message.message.conversation == "before the laptop"
        # Phones list a conversation's messages newest first.
        assert [m.message.key.ID for m in chats[str(OLD_FRIEND)].messages] == ["SEED2", "SEED1"]
        assert chats[str(OLD_FRIEND)].name == "Old friend"
        mappings = {(m.pnJID, m.lidJID) for m in bootstrap.phoneNumberToLidMappings}
        assert (str(bob.pn), str(bob.lid)) in mappings
        assert (str(ann.pn), str(ann.lid)) in mappings
        assert (str(bob.pn), "Bob") in {(p.ID, p.pushname) for p in names.pushnames}
        assert recent.progress == 100
        # Then the LID migration mapping sync of a migrated account's phone.
        _, synced = await next_peer_message(client, ann, signal)
        assert lid_sync_mappings(synced) == sorted(
            [(ann.pn, ann.lid), (bob.pn, bob.lid)], key=lambda pair: str(pair[0])
        )

        # What the phone sends now reaches the companion too, as a device-sent copy.
        later = await ann_phone.send_text(bob.pn, "sent from the phone")
        copy = await client.wait_for(lambda n: n.tag == "message" and n.attr_str("id") == later)
        assert copy.attrs.get("recipient") == bob.lid  # LID-first, the number beside it
        assert copy.attrs.get("peer_recipient_pn") == bob.pn
        sent = (await signal.open(copy)).deviceSentMessage
        assert sent.destinationJID == str(bob.pn)
        assert sent.message.conversation == "sent from the phone"

        # The companion asks its phone for the app-state key again (a peer message to its own
        # account, which the server routes to device 0); the phone shares it once more.
        request = wa_e2e_pb2.Message(
            protocolMessage=wa_e2e_pb2.ProtocolMessage(
                type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_REQUEST,
                appStateSyncKeyRequest=wa_e2e_pb2.AppStateSyncKeyRequest(
                    keyIDs=[wa_e2e_pb2.AppStateSyncKeyId(keyID=expected.key_id)]
                ),
            )
        )
        encrypted = await signal.cipher.encrypt(signal.phone, pad(request.SerializeToString()))
        await client.send(
            Node(
                "message",
                {"id": "3EB0REQUEST1", "to": ann.pn, "type": "text", "category": "peer"},
                [Node("enc", {"v": "2", "type": encrypted.message.type}, encrypted.message.body)],
            )
        )
        stanza, again = await next_peer_message(client, ann, signal)
        assert again.protocolMessage.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE

        # A retry receipt for that share: the phone encrypts it once more, still a peer message.
        share_id = stanza.attr_str("id") or ""
        await client.send(
            Node(
                "receipt",
                {"id": share_id, "to": ann.pn, "type": "retry"},
                [
                    Node("retry", {"count": "1", "id": share_id, "t": "0", "v": "1"}),
                    Node("registration", {}, companion.keys.registration_id.to_bytes(4, "big")),
                ],
            )
        )
        resent, message = await next_peer_message(client, ann, signal)
        assert resent.attr_str("id") == share_id
        assert [e.attr_str("count") for e in resent.children_by_tag("enc")] == ["1"]
        assert message.protocolMessage.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
    finally:
        await client.close()


async def test_pair_code_link_gets_the_welcome_too(sandbox: SandboxServer) -> None:
    network = sandbox.network
    ann = await network.create_account("15550003333", push_name="Ann")
    phone = network.phones[ann.phone_user]
    keys = DeviceKeys()
    registering = await start_registration(sandbox, keys)
    client = registering.client
    code = pair_code.new_code()
    ephemeral = CurveKeyPair.generate()
    answer = await client.iq("md", "set", [companion_hello_node(ann.pn, code, ephemeral, keys)])
    ref = child_bytes(answer, "link_code_companion_reg", "link_code_pairing_ref")

    confirm = asyncio.create_task(phone.confirm_pair_code(pair_code.display_code(code)))
    notification = await client.wait_for(tag_is("notification", type="link_code_companion_reg"))
    reg = "link_code_companion_reg"
    finish = pair_code.companion_finish(
        code,
        ephemeral,
        keys.identity,
        child_bytes(notification, reg, "link_code_pairing_wrapped_primary_ephemeral_pub"),
        child_bytes(notification, reg, "primary_identity_pub"),
    )
    keys.adv_secret = finish.adv_secret
    await client.iq("md", "set", [companion_finish_node(ann.pn, finish, ref)])
    jid = await answer_pair_success(registering)
    device = await confirm
    assert device.jid() == jid
    await expect_restart(client)

    companion = Companion(keys, jid)
    signal = CompanionSignal(companion, ProtocolAddress.from_jid(ann.lid_device(0)))
    await signal.setup()
    session = await login(sandbox, companion)
    try:
        _, share = await next_peer_message(session, ann, signal)
        assert share.protocolMessage.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
    finally:
        await session.close()


async def test_companion_texts_another_phone_and_gets_the_echo(sandbox: SandboxServer) -> None:
    network = sandbox.network
    ann = await network.create_account("15550004444", push_name="Ann", enforcing=False)
    bob = await network.create_account("15550005555", push_name="Bob")
    bob_phone = network.phones[bob.phone_user]
    bob_phone.auto_reply = True
    companion = await pair_with_phone(sandbox, ann, push_name="Ann's laptop")
    signal = CompanionSignal(companion, ProtocolAddress.from_jid(bob.lid_device(0)))
    await signal.setup()
    client = await login(sandbox, companion)
    try:
        fetched = await client.iq(
            "encrypt", "get", [Node("key", {}, [Node("user", {"jid": bob.pn})])]
        )
        bundle = parse_prekey_bundles(fetched)[bob.pn]
        assert bundle.prekey_id is not None  # the phone uploaded one-time prekeys at start
        await signal.cipher.process_bundle(signal.phone, bundle)
        text = wa_e2e_pb2.Message(conversation="ping").SerializeToString()
        encrypted = await signal.cipher.encrypt(signal.phone, pad(text))
        enc = Node("enc", {"v": "2", "type": encrypted.message.type}, encrypted.message.body)
        await client.send(
            Node(
                "message",
                {"id": "3EB0PING00000000000001", "to": bob.pn, "type": "text"},
                [Node("participants", {}, [Node("to", {"jid": bob.pn}, [enc])])],
            )
        )
        delivered = await client.wait_for(
            lambda n: n.tag == "receipt" and n.attr_str("id") == "3EB0PING00000000000001"
        )
        assert delivered.attrs.get("from") == bob.pn
        assert delivered.attr_str("type") is None
        echo = await client.wait_for(
            lambda n: n.tag == "message" and n.attrs.get("from") == bob.lid_device(0)
        )
        assert [e.attr_str("type") for e in echo.children_by_tag("enc")] == ["msg"]
        assert (await signal.open(echo)).conversation == "echo: ping"
        [received] = bob_phone.messages_received
        assert (received.text, received.sender) == ("ping", companion.jid)
    finally:
        await client.close()
