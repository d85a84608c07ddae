"""Property tests for the binary node codec.

The invariant (h11's fuzz rule): any input either decodes to a Node or raises DecodeError, never
another exception and never a hang. And nodes survive marshal -> unmarshal.
"""

from __future__ import annotations

import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.binary import JID, DecodeError, Node, marshal, unmarshal
from daemon.binary.tokens import DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [*SINGLE_BYTE_TOKENS[1:], *(t for d in DOUBLE_BYTE_TOKENS for t in d)]


def _token(index: int) -> str:
    return TOKENS[index]


# An index map rather than sampled_from(TOKENS): the strategy's repr stays short.
TOKEN = st.integers(0, len(TOKENS) - 1).map(_token)
# Surrogates cannot be UTF-8 encoded (outside the escape range the decoder itself produces).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
JID_PART = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="@:."), max_size=16)
DIGITS = st.from_regex(r"[0-9]{1,20}", fullmatch=True)
AGENTS = st.integers(0, 255).filter(lambda a: a not in (1, 128, 129))


def _pn(user: str, device: int, agent: int) -> JID:
    return JID(user, "s.whatsapp.net", device, agent)


JIDS = st.one_of(
    st.builds(_pn, DIGITS | st.just(""), st.integers(0, 255), AGENTS),
    st.builds(JID, DIGITS, st.sampled_from(["lid", "hosted", "hosted.lid"]), st.integers(0, 255)),
    st.builds(JID, DIGITS | JID_PART, st.sampled_from(["g.us", "broadcast", "newsletter", "c.us"])),
    st.builds(JID, JID_PART, JID_PART.filter(bool)),
    st.builds(JID, DIGITS, st.just("msgr"), st.integers(0, 0xFFFF)),
    st.builds(
        lambda u, d, i: JID(u, "interop", d, integrator=i),
        DIGITS,
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
    ),
)

# Text that decodes back as the same text wherever it is written (attribute values).
TEXT_VALUES = st.one_of(
    TOKEN,
    st.from_regex(r"[0-9.\-]{1,130}", fullmatch=True),
    st.from_regex(r"[0-9A-F]{1,130}", fullmatch=True),
    ANY_TEXT.filter(lambda s: "@" not in s),
)
# Text content that decodes back as the same text (raw text content comes back as bytes).
TEXT_CONTENT = st.one_of(
    TOKEN,
    st.from_regex(r"[0-9.\-]{1,127}", fullmatch=True),
    st.from_regex(r"[0-9A-F]{1,127}", fullmatch=True),
    JIDS.map(str),
)
NAMES = TOKEN | ANY_TEXT.filter(lambda s: bool(s) and "@" not in s)


def canonical_nodes(children: st.SearchStrategy[list[Node]]) -> st.SearchStrategy[Node]:
    """Nodes that unmarshal(marshal(node)) gives back exactly."""
    return st.builds(
        Node,
        NAMES,
        st.dictionaries(NAMES, TEXT_VALUES | JIDS, max_size=5),
        st.one_of(st.none(), st.binary(max_size=300), TEXT_CONTENT, children),
    )


CANONICAL = st.recursive(
    canonical_nodes(st.just([])),
    lambda inner: canonical_nodes(st.lists(inner, max_size=4)),
    max_leaves=12,
)


def any_nodes(children: st.SearchStrategy[list[Node]]) -> st.SearchStrategy[Node]:
    """Nodes with arbitrary text anywhere, JID-looking text included."""
    text = ANY_TEXT | TEXT_VALUES | JIDS.map(str) | st.sampled_from(["a@b@c", "1:0@lid", "x@"])
    return st.builds(
        Node,
        text.filter(bool),
        st.dictionaries(text, text | JIDS, max_size=5),
        st.one_of(st.none(), st.binary(max_size=64), text, children),
    )


ANY_NODE = st.recursive(
    any_nodes(st.just([])),
    lambda inner: any_nodes(st.lists(inner, max_size=4)),
    max_leaves=12,
)


def decodes_or_raises_decode_error(data: bytes) -> Node | None:
    try:
        return unmarshal(data)
    except DecodeError as exc:
        compressed = bool(data) and bool(data[0] & 2)
        # Offsets in compressed frames count in the inflated payload.
        assert exc.position >= 0 if compressed else 0 <= exc.position <= len(data)
        return None


def check_decoded_node_is_stable(node: Node) -> None:
    # Whatever decodes can be written again, and settles after one trip.
    again = unmarshal(marshal(node))
    assert unmarshal(marshal(again)) == again


# Round trips --------------------------------------------------------------------------------


@FUZZ
@given(CANONICAL)
def test_canonical_nodes_round_trip(node: Node) -> None:
    encoded = marshal(node)
    assert encoded[0] == 0
    assert unmarshal(encoded) == node
    assert marshal(unmarshal(encoded)) == encoded


@FUZZ
@given(ANY_NODE)
def test_any_node_encodes_and_settles(node: Node) -> None:
    decoded = unmarshal(marshal(node))
    again = unmarshal(marshal(decoded))
    assert again == unmarshal(marshal(again))
    assert marshal(again) == marshal(unmarshal(marshal(again)))


@FUZZ
@given(CANONICAL)
def test_compressed_frames_decode_like_plain_ones(node: Node) -> None:
    body = marshal(node)[1:]
    assert unmarshal(b"\x02" + zlib.compress(body)) == node


# Malformed input ----------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    node = decodes_or_raises_decode_error(data)
    if node is not None:
        check_decoded_node_is_stable(node)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_after_a_plain_flag(data: bytes) -> None:
    node = decodes_or_raises_decode_error(b"\x00" + data)
    if node is not None:
        check_decoded_node_is_stable(node)


# Byte soup made of the tag bytes the decoder branches on reaches much deeper than random bytes.
STRUCTURAL = st.lists(
    st.sampled_from([0, 1, 3, 0x19, 0x80, 0xFF, *range(236, 256)]) | st.integers(0, 255),
    max_size=200,
).map(bytes)


@FUZZ
@given(STRUCTURAL)
def test_structured_noise(data: bytes) -> None:
    node = decodes_or_raises_decode_error(b"\x00\xf8" + data)
    if node is not None:
        check_decoded_node_is_stable(node)


@FUZZ
@given(st.binary(max_size=300))
def test_compressed_random_payloads(data: bytes) -> None:
    node = decodes_or_raises_decode_error(b"\x02" + zlib.compress(data))
    if node is not None:
        check_decoded_node_is_stable(node)


@FUZZ
@given(CANONICAL, st.data())
def test_truncated_frames_raise(node: Node, data: st.DataObject) -> None:
    encoded = marshal(node)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    try:
        unmarshal(encoded[:cut])
    except DecodeError as exc:
        assert 0 <= exc.position <= cut
    else:
        raise AssertionError(f"a {cut}-byte prefix of a {len(encoded)}-byte frame decoded")


@FUZZ
@given(CANONICAL, st.data())
def test_bit_flips(node: Node, data: st.DataObject) -> None:
    encoded = bytearray(marshal(node))
    for _ in range(data.draw(st.integers(1, 3))):
        bit = data.draw(st.integers(0, len(encoded) * 8 - 1))
        encoded[bit // 8] ^= 1 << (bit % 8)
    decoded = decodes_or_raises_decode_error(bytes(encoded))
    if decoded is not None:
        check_decoded_node_is_stable(decoded)


@FUZZ
@given(CANONICAL, st.data())
def test_inserted_and_deleted_bytes(node: Node, data: st.DataObject) -> None:
    encoded = bytearray(marshal(node))
    at = data.draw(st.integers(1, len(encoded)))
    if data.draw(st.booleans()):
        encoded[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    else:
        del encoded[at : at + data.draw(st.integers(1, 4))]
    decoded = decodes_or_raises_decode_error(bytes(encoded))
    if decoded is not None:
        check_decoded_node_is_stable(decoded)
