"""Replays ../shared/vectors/signal.json: a libsignal (npm, as Baileys runs it) conversation.

Pairwise: Alice builds a session from Bob's bundle and they exchange pkmsg/msg both ways. The
file lists every key pair the library drew, in draw order (``generated_keypairs``); we feed the
ones drawn inside operations (base key, ratchet keys) to our own key pair source in the same
order, so our encryption of every recorded plaintext must give the recorded bytes exactly, and
every recorded ciphertext must decrypt, on the receiving side, to the recorded plaintext. The
conversation runs twice: through the pure core, and through the async store-backed ciphers
(whose records go through their storage bytes after every step).

Group: our SKDM from the recorded key id, chain key and signing key must equal the recorded one;
every recorded skmsg must verify and decrypt. Our own skmsgs for the same iterations must equal
the recorded ones up to the signature (signatures carry fresh randomness) and verify.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from daemon.binary.jid import JID
from daemon.signal import curve, group, padding, session
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.cipher import SessionCipher
from daemon.signal.curve import KeyPair
from daemon.signal.errors import DuplicateMessageError
from daemon.signal.group import SenderKeyRecord, SenderKeyState
from daemon.signal.kdf import next_chain_key
from daemon.signal.keys import PreKey, PreKeyBundle, SignedPreKey, verify_signed_prekey
from daemon.signal.memory_store import InMemorySignalStore
from daemon.signal.messages import (
    build_distribution_message,
    parse_distribution_message,
    parse_prekey_message,
    parse_sender_key_message,
)
from daemon.signal.session import EncType
from daemon.signal.state import ChainKey, SessionRecord
from daemon.vectors.report import CaseResult
from waproto import wa_e2e_pb2

FIXED_DRAWS = 4
"""Draws 0..3 are the long-lived keys (identities, Bob's prekeys); later ones happen inside
session setup, decryption and sender key creation."""

_ENC_TYPES = {3: EncType.PKMSG, 1: EncType.MSG}


class Mismatch(Exception):
    """A replayed value differs from the recorded one."""


def _expect(what: str, got: object, want: object) -> None:
    if got != want:
        raise Mismatch(f"{what}: got {_show(got)}, want {_show(want)}")


def _show(value: object) -> str:
    text = value.hex() if isinstance(value, bytes) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _case(results: list[CaseResult], name: str, check: Callable[[], None]) -> bool:
    try:
        check()
    except Mismatch as exc:
        results.append(CaseResult(name, False, str(exc)))
        return False
    except Exception as exc:
        results.append(CaseResult(name, False, f"{type(exc).__name__}: {exc}"))
        return False
    results.append(CaseResult(name, True))
    return True


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _pair(entry: dict[str, Any]) -> KeyPair:
    return KeyPair(_hex(entry["private"]), _hex(entry["public"]))


class RecordedKeyPairs:
    """A key pair source that hands out recorded draws in order and says what it handed out."""

    def __init__(self, draws: list[dict[str, Any]]) -> None:
        self._draws: Iterator[dict[str, Any]] = iter(draws)
        self.labels: list[str] = []

    def __call__(self) -> KeyPair:
        try:
            entry = next(self._draws)
        except StopIteration:
            raise Mismatch("the implementation drew more key pairs than recorded") from None
        self.labels.append(str(entry.get("label", "")))
        return _pair(entry)


@dataclass(slots=True)
class _Party:
    identity: KeyPair
    registration_id: int
    record: SessionRecord | None = None
    signed_prekey: SignedPreKey | None = None
    prekeys: dict[int, PreKey] = field(default_factory=dict)


def replay(doc: dict[str, Any]) -> list[CaseResult]:
    results: list[CaseResult] = []
    try:
        _replay_keys(doc, results)
        _replay_pairwise(doc, results)
        _replay_pairwise_with_store(doc, results)
        _replay_group(doc, results)
    except Exception as exc:  # a malformed file: report it as a failed case, not a crash
        results.append(CaseResult("signal vector file", False, f"{type(exc).__name__}: {exc}"))
    return results


# --- keys and addresses ------------------------------------------------------------------------


def _replay_keys(doc: dict[str, Any], results: list[CaseResult]) -> None:
    for entry in doc["generated_keypairs"]:

        def check(entry: dict[str, Any] = entry) -> None:
            derived = KeyPair.from_private(_hex(entry["private"]))
            _expect("public key from private", derived.public, _hex(entry["public"]))

        _case(results, f"keypair[{entry['draw']}] {entry['label']}", check)

    for who in ("alice", "bob"):
        party = doc[who]

        def check_serialized(party: dict[str, Any] = party) -> None:
            identity = party["identity"]
            _expect(
                "0x05 form",
                curve.serialize_public(_hex(identity["public"])),
                _hex(identity["public_serialized"]),
            )

        def check_address(party: dict[str, Any] = party) -> None:
            address = ProtocolAddress.from_jid(JID.parse(party["jid"]))
            _expect("signal address", str(address), party["signal_address"])
            _expect("parsed back", ProtocolAddress.parse(party["signal_address"]), address)

        _case(results, f"{who} identity serialized", check_serialized)
        _case(results, f"{who} signal address from {party['jid']}", check_address)

    bob = doc["bob"]

    def check_signature() -> None:
        spk = bob["signed_prekey"]
        _expect(
            "signed prekey signature verifies (libsignal rule)",
            verify_signed_prekey(
                _hex(bob["identity"]["public"]), _hex(spk["public"]), _hex(spk["signature"])
            ),
            True,
        )

    _case(results, "bob signed prekey signature", check_signature)


# --- pairwise ----------------------------------------------------------------------------------


def _parties(doc: dict[str, Any]) -> tuple[_Party, _Party, PreKeyBundle]:
    alice_doc, bob_doc = doc["alice"], doc["bob"]
    alice = _Party(_pair(alice_doc["identity"]), alice_doc["registration_id"])
    spk, otk = bob_doc["signed_prekey"], bob_doc["one_time_prekey"]
    bob = _Party(
        _pair(bob_doc["identity"]),
        bob_doc["registration_id"],
        signed_prekey=SignedPreKey(spk["id"], _pair(spk), _hex(spk["signature"])),
        prekeys={otk["id"]: PreKey(otk["id"], _pair(otk))},
    )
    bundle = PreKeyBundle(
        registration_id=bob_doc["registration_id"],
        identity_key=_hex(bob_doc["identity"]["public"]),
        signed_prekey_id=spk["id"],
        signed_prekey=_hex(spk["public"]),
        signed_prekey_signature=_hex(spk["signature"]),
        prekey_id=otk["id"],
        prekey=_hex(otk["public"]),
    )
    return alice, bob, bundle


@dataclass(slots=True)
class _Conversation:
    parties: dict[str, _Party]
    draws: RecordedKeyPairs
    consumed: list[int] = field(default_factory=list)


def _check_padding(message: dict[str, Any]) -> None:
    plaintext, unpadded = _hex(message["plaintext"]), _hex(message["plaintext_unpadded"])
    _expect("padded", padding.pad_with(unpadded, message["pad_len"]), plaintext)
    _expect("unpadded", padding.unpad(plaintext), unpadded)


def _encrypt_pairwise(conversation: _Conversation, message: dict[str, Any]) -> None:
    sender = conversation.parties[message["from"]]
    if sender.record is None:
        raise Mismatch("the sender has no session")
    encrypted, sender.record = session.encrypt(sender.record, _hex(message["plaintext"]))
    _expect("enc type", encrypted.type, _ENC_TYPES[message["type"]])
    _expect("ciphertext", encrypted.body, _hex(message["ciphertext"]))


def _decrypt_pairwise(conversation: _Conversation, message: dict[str, Any]) -> None:
    receiver = conversation.parties[message["to"]]
    ciphertext = _hex(message["ciphertext"])
    if message["enc_type"] == "pkmsg":
        prekey_message = parse_prekey_message(ciphertext)
        prekey_id = prekey_message.prekey_id
        result = session.decrypt_prekey_message(
            receiver.record,
            prekey_message,
            identity=receiver.identity,
            registration_id=receiver.registration_id,
            signed_prekey=receiver.signed_prekey,
            prekey=None if prekey_id is None else receiver.prekeys.get(prekey_id),
            new_key_pair=conversation.draws,
        )
        if result.used_prekey_id is not None:
            conversation.consumed.append(result.used_prekey_id)
            del receiver.prekeys[result.used_prekey_id]
        plaintext, receiver.record = result.plaintext, result.record
    else:
        plaintext, receiver.record = session.decrypt(
            receiver.record, ciphertext, new_key_pair=conversation.draws
        )
    _expect("plaintext", plaintext, _hex(message["plaintext"]))
    _expect("decrypted_by_peer", message.get("decrypted_by_peer", True), True)


def _check_redelivery(conversation: _Conversation, message: dict[str, Any]) -> None:
    receiver = conversation.parties[message["to"]]
    try:
        session.decrypt(receiver.record, _hex(message["ciphertext"]))
    except DuplicateMessageError:
        return
    raise Mismatch("a redelivered message decrypted a second time")


def _replay_pairwise(doc: dict[str, Any], results: list[CaseResult]) -> None:
    alice, bob, bundle = _parties(doc)
    conversation = _Conversation(
        {"alice": alice, "bob": bob}, RecordedKeyPairs(doc["generated_keypairs"][FIXED_DRAWS:])
    )

    def setup() -> None:
        alice.record = session.initiate_session(
            None,
            bundle,
            identity=alice.identity,
            registration_id=alice.registration_id,
            new_key_pair=conversation.draws,
        )

    if not _case(results, "pairwise: alice builds a session from bob's bundle", setup):
        return
    for message in doc["pairwise_messages"]:
        label = (
            f"pairwise[{message['index']}] {message['from']}->{message['to']} {message['enc_type']}"
        )
        _case(results, f"{label}: padding", partial(_check_padding, message))
        _case(
            results,
            f"{label}: re-encrypt byte-exact",
            partial(_encrypt_pairwise, conversation, message),
        )
        _case(
            results,
            f"{label}: {message['to']} decrypts",
            partial(_decrypt_pairwise, conversation, message),
        )

    def check_consumed() -> None:
        _expect(
            "one-time prekeys consumed",
            conversation.consumed,
            doc["bob"]["one_time_prekeys_consumed"],
        )

    _case(results, "pairwise: one-time prekeys consumed", check_consumed)
    _case(
        results,
        "pairwise: redelivered last message is a duplicate",
        partial(_check_redelivery, conversation, doc["pairwise_messages"][-1]),
    )


def _replay_pairwise_with_store(doc: dict[str, Any], results: list[CaseResult]) -> None:
    def run() -> None:
        asyncio.run(_converse_with_store(doc))

    _case(results, "pairwise through the store-backed ciphers: byte-exact both ways", run)


async def _converse_with_store(doc: dict[str, Any]) -> None:
    alice, bob, bundle = _parties(doc)
    draws = RecordedKeyPairs(doc["generated_keypairs"][FIXED_DRAWS:])
    stores = {
        "alice": InMemorySignalStore(alice.identity, alice.registration_id),
        "bob": InMemorySignalStore(bob.identity, bob.registration_id),
    }
    if bob.signed_prekey is not None:
        await stores["bob"].store_signed_prekey(bob.signed_prekey)
    await stores["bob"].store_prekeys(list(bob.prekeys.values()))
    addresses = {who: ProtocolAddress.parse(doc[who]["signal_address"]) for who in ("alice", "bob")}
    ciphers = {who: SessionCipher(store, new_key_pair=draws) for who, store in stores.items()}
    await ciphers["alice"].process_bundle(addresses["bob"], bundle)
    for message in doc["pairwise_messages"]:
        sender, receiver = message["from"], message["to"]
        encrypted = await ciphers[sender].encrypt(addresses[receiver], _hex(message["plaintext"]))
        _expect(
            f"message {message['index']} ciphertext",
            encrypted.message.body,
            _hex(message["ciphertext"]),
        )
        decrypted = await ciphers[receiver].decrypt(
            addresses[sender], message["enc_type"], _hex(message["ciphertext"])
        )
        _expect(
            f"message {message['index']} plaintext",
            decrypted.plaintext,
            _hex(message["plaintext"]),
        )
    _expect("bob's prekeys left", sorted(stores["bob"].prekeys), [])


# --- group -------------------------------------------------------------------------------------


def _replay_group(doc: dict[str, Any], results: list[CaseResult]) -> None:
    g = doc["group"]
    signing = _pair(g["signing_key"])
    key_id, chain_key = g["sender_key_id"], _hex(g["initial_chain_key"])
    skdm_bytes = _hex(g["sender_key_distribution_message"])
    alice = doc["alice"]
    sender_draws = [d for d in doc["generated_keypairs"] if "sender_signing_key" in d["label"]]
    receiver: dict[str, SenderKeyRecord | None] = {"record": None}
    own: dict[str, SenderKeyRecord] = {}

    def check_name() -> None:
        name = SenderKeyName.from_jids(JID.parse(g["group_jid"]), JID.parse(alice["jid"]))
        _expect("sender key name", str(name), g["sender_key_name"])

    def check_skdm() -> None:
        built = build_distribution_message(
            key_id=key_id,
            iteration=g["initial_iteration"],
            chain_key=chain_key,
            signing_key=signing.public,
        )
        _expect("SKDM", built.serialized, skdm_bytes)
        record = group.new_own_sender_key(
            key_id=key_id, chain_key=chain_key, new_key_pair=RecordedKeyPairs(sender_draws)
        )
        ours = group.distribution_message(record).serialized
        _expect("SKDM from a new own sender key", ours, skdm_bytes)
        own["record"] = record

    def check_wrapped() -> None:
        wrapped = wa_e2e_pb2.Message.FromString(_hex(g["skdm_wrapped_in_proto_message"]))
        inner = wrapped.senderKeyDistributionMessage
        _expect("groupID", inner.groupID, g["group_jid"])
        _expect("axolotl SKDM", inner.axolotlSenderKeyDistributionMessage, skdm_bytes)

    def process() -> None:
        parsed = parse_distribution_message(skdm_bytes)
        _expect("key id", parsed.key_id, key_id)
        _expect("chain key", parsed.chain_key, chain_key)
        _expect("signing key", parsed.signing_key, signing.public)
        receiver["record"] = group.process_distribution_message(None, parsed)

    _case(results, "group: sender key name", check_name)
    _case(results, "group: SKDM byte-exact", check_skdm)
    _case(results, "group: SKDM inside Message", check_wrapped)
    _case(results, "group: receiver processes SKDM", process)

    for message in g["messages"]:
        label = f"group[{message['index']}] iteration {message['iteration']}"
        _case(
            results,
            f"{label}: verifies and decrypts",
            partial(_decrypt_group, receiver, message, signing.public),
        )
        _case(
            results,
            f"{label}: re-encrypt byte-exact but the signature",
            partial(_encrypt_group, own, message, signing.public),
        )


def _decrypt_group(
    receiver: dict[str, SenderKeyRecord | None], message: dict[str, Any], signing_key: bytes
) -> None:
    parsed = parse_sender_key_message(_hex(message["ciphertext"]))
    _expect("key id", parsed.key_id, message["key_id"])
    _expect("iteration", parsed.iteration, message["iteration"])
    _expect("signature verifies", parsed.verify(signing_key), True)
    plaintext, receiver["record"] = group.group_decrypt(receiver["record"], parsed)
    _expect("plaintext", plaintext, _hex(message["plaintext"]))
    _expect("unpadded", padding.unpad(plaintext), _hex(message["plaintext_unpadded"]))


def _encrypt_group(
    own: dict[str, SenderKeyRecord], message: dict[str, Any], signing_key: bytes
) -> None:
    if "record" not in own:
        raise Mismatch("no own sender key (the SKDM case failed)")
    record = _advance_to(own["record"], message["iteration"])
    ours, own["record"] = group.group_encrypt(record, _hex(message["plaintext"]))
    parsed = parse_sender_key_message(ours)
    recorded = _hex(message["ciphertext"])
    _expect("signed part", parsed.signed_part, recorded[: -curve.SIGNATURE_SIZE])
    _expect("our signature verifies", parsed.verify(signing_key), True)


def _advance_to(record: SenderKeyRecord, iteration: int) -> SenderKeyRecord:
    """Our own chain moved forward to ``iteration`` (Baileys skips one iteration per message
    after the first, see the file's note_iterations; our encrypt never skips)."""
    state = record.states[-1]
    chain = state.chain_key
    if chain.index > iteration:
        raise Mismatch(f"our chain is at {chain.index}, past iteration {iteration}")
    key = chain.key
    for _ in range(iteration - chain.index):
        key = next_chain_key(key)
    moved = SenderKeyState(
        state.key_id,
        ChainKey(key, iteration),
        state.signing_public,
        state.signing_private,
        state.skipped,
    )
    return record.replace_state(state, moved)
