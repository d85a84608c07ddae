"""Token dictionaries (dictionary version 3) and how the encoder uses them."""

from __future__ import annotations

import pytest

from daemon.binary import DICT_VERSION, Node, marshal, unmarshal
from daemon.binary.tokens import DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS


def test_table_sizes() -> None:
    assert DICT_VERSION == 3
    assert len(SINGLE_BYTE_TOKENS) == 236
    assert [len(d) for d in DOUBLE_BYTE_TOKENS] == [256, 256, 256, 256]


def test_known_positions() -> None:
    assert SINGLE_BYTE_TOKENS[:6] == (
        "",
        "xmlstreamstart",
        "xmlstreamend",
        "s.whatsapp.net",
        "type",
        "participant",
    )
    assert SINGLE_BYTE_TOKENS[235] == "screen_height"
    assert DOUBLE_BYTE_TOKENS[0][:3] == ("read-self", "active", "fbns")
    assert DOUBLE_BYTE_TOKENS[1][:3] == ("reject", "dirty", "announcement")
    # Digit strings can be tokens; the token beats nibble packing.
    assert (DOUBLE_BYTE_TOKENS[3][0], DOUBLE_BYTE_TOKENS[3][255]) == ("1724", "1961")


def test_no_token_appears_twice() -> None:
    # Baileys lets a double-byte token shadow a single-byte one and whatsmeow the reverse; with no
    # string in two places the two encoders agree.
    everything = list(SINGLE_BYTE_TOKENS[1:]) + [t for d in DOUBLE_BYTE_TOKENS for t in d]
    assert len(everything) == len(set(everything))
    assert "" not in everything


@pytest.mark.parametrize("index", [1, 3, 117, 235])
def test_single_byte_token_is_its_index(index: int) -> None:
    token = SINGLE_BYTE_TOKENS[index]
    assert marshal(Node(token)) == bytes((0, 248, 1, index))
    assert unmarshal(bytes((0, 248, 1, index))) == Node(token)


@pytest.mark.parametrize(("dictionary", "index"), [(0, 0), (1, 2), (2, 128), (3, 255)])
def test_double_byte_token_is_dictionary_then_index(dictionary: int, index: int) -> None:
    token = DOUBLE_BYTE_TOKENS[dictionary][index]
    encoded = bytes((0, 248, 1, 236 + dictionary, index))
    assert marshal(Node(token)) == encoded
    assert unmarshal(encoded) == Node(token)
