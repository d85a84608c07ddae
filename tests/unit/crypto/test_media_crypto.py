"""Media encryption: Baileys' numbers, streaming against one-shot, and every integrity check."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.crypto.media import (
    MAC_LENGTH,
    MEDIA_TYPE_BY_KIND,
    MediaCheck,
    MediaDecryptor,
    MediaEncryptor,
    MediaIntegrityError,
    MediaKeyError,
    MediaStateError,
    MediaType,
    decrypt_media,
    encrypt_media,
    expand_media_key,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "baileys_crypto_vectors.json").read_text()
)
KEY = bytes(range(32))


@pytest.mark.parametrize("kind", sorted(VECTORS["media_keys"]))
def test_key_expansion_matches_baileys(kind: str) -> None:
    expected = VECTORS["media_keys"][kind]
    media_type = MEDIA_TYPE_BY_KIND[kind]
    assert media_type.hkdf_info == expected["info"].encode()
    keys = expand_media_key(bytes.fromhex(VECTORS["media_key"]), media_type)
    assert keys.iv.hex() == expected["iv"]
    assert keys.cipher_key.hex() == expected["cipher_key"]
    assert keys.mac_key.hex() == expected["mac_key"]
    assert len(keys.ref_key) == 32


def test_info_strings_of_whatsmeow_media_types() -> None:
    assert MediaType.IMAGE.hkdf_info == b"WhatsApp Image Keys"
    assert MediaType.STICKER_PACK.hkdf_info == b"WhatsApp Sticker Pack Keys"
    assert MediaType.APP_STATE.hkdf_info == b"WhatsApp App State Keys"
    assert MediaType.HISTORY.mms_type == "md-msg-hist"
    assert MediaType.LINK_THUMBNAIL.mms_type == "thumbnail-link"
    assert MediaType.PROFILE_PICTURE.mms_type is None
    assert MEDIA_TYPE_BY_KIND["sticker"] is MediaType.IMAGE
    assert MEDIA_TYPE_BY_KIND["ptt"] is MediaType.AUDIO


def test_baileys_encrypted_file_decrypts_and_verifies() -> None:
    vector = VECTORS["media_encrypted"]
    body = bytes.fromhex(vector["body"])
    plaintext = decrypt_media(
        body,
        bytes.fromhex(vector["media_key"]),
        MediaType.DOCUMENT,
        file_enc_sha256=bytes.fromhex(vector["file_enc_sha256"]),
        file_sha256=bytes.fromhex(vector["file_sha256"]),
    )
    assert plaintext.hex() == vector["plaintext"]
    assert body[-MAC_LENGTH:].hex() == vector["mac"]


def test_our_encryption_reproduces_baileys_body() -> None:
    vector = VECTORS["media_encrypted"]
    encrypted = encrypt_media(
        bytes.fromhex(vector["plaintext"]), MediaType.DOCUMENT, bytes.fromhex(vector["media_key"])
    )
    assert encrypted.body.hex() == vector["body"]
    assert encrypted.info.file_sha256.hex() == vector["file_sha256"]
    assert encrypted.info.file_enc_sha256.hex() == vector["file_enc_sha256"]
    assert encrypted.info.file_length == vector["file_length"]
    assert encrypted.info.enc_length == len(encrypted.body)


def test_body_layout_is_cbc_then_truncated_hmac() -> None:
    plaintext = b"x" * 33
    encrypted = encrypt_media(plaintext, MediaType.IMAGE, KEY)
    keys = expand_media_key(KEY, MediaType.IMAGE)
    encryptor = Cipher(algorithms.AES(keys.cipher_key), modes.CBC(keys.iv)).encryptor()
    ciphertext = encryptor.update(plaintext + bytes([15]) * 15) + encryptor.finalize()
    mac = hmac.digest(keys.mac_key, keys.iv + ciphertext, "sha256")[:10]
    assert encrypted.body == ciphertext + mac
    assert encrypted.info.file_sha256 == hashlib.sha256(plaintext).digest()
    assert encrypted.info.file_enc_sha256 == hashlib.sha256(ciphertext + mac).digest()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


@settings(max_examples=60, deadline=None)
@given(
    plaintext=st.binary(max_size=3000),
    enc_cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=12),
    dec_cuts=st.lists(st.integers(min_value=0, max_value=3100), max_size=12),
)
def test_streaming_in_random_chunks_equals_one_shot(
    plaintext: bytes, enc_cuts: list[int], dec_cuts: list[int]
) -> None:
    one_shot = encrypt_media(plaintext, MediaType.VIDEO, KEY)
    encryptor = MediaEncryptor(MediaType.VIDEO, KEY)
    body = b"".join(encryptor.feed(piece) for piece in _split(plaintext, enc_cuts))
    body += encryptor.finalize()
    assert body == one_shot.body
    assert encryptor.info == one_shot.info

    decryptor = MediaDecryptor(
        KEY,
        MediaType.VIDEO,
        file_enc_sha256=one_shot.info.file_enc_sha256,
        file_sha256=one_shot.info.file_sha256,
    )
    out = b"".join(decryptor.feed(piece) for piece in _split(body, dec_cuts))
    assert out + decryptor.finalize() == plaintext
    assert decryptor.info == one_shot.info


def test_decryptor_never_releases_the_mac_tail_as_plaintext() -> None:
    plaintext = bytes(range(250)) * 4
    body = encrypt_media(plaintext, MediaType.AUDIO, KEY).body
    decryptor = MediaDecryptor(KEY, MediaType.AUDIO)
    released = b"".join(decryptor.feed(body[i : i + 1]) for i in range(len(body)))
    # 1000 bytes pad to 63 blocks; the last one (8 bytes of data + padding) and the MAC stay
    # back until finalize, so nothing but plaintext is ever released.
    assert released == plaintext[:992]
    assert released + decryptor.finalize() == plaintext


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=500), data=st.data())
def test_any_flipped_byte_fails_a_named_check(plaintext: bytes, data: st.DataObject) -> None:
    encrypted = encrypt_media(plaintext, MediaType.DOCUMENT, KEY)
    position = data.draw(st.integers(min_value=0, max_value=len(encrypted.body) - 1))
    tampered = bytearray(encrypted.body)
    tampered[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    with pytest.raises(MediaIntegrityError) as info:
        decrypt_media(bytes(tampered), KEY, MediaType.DOCUMENT)
    assert info.value.check is MediaCheck.MAC
    with pytest.raises(MediaIntegrityError) as info:
        decrypt_media(
            bytes(tampered),
            KEY,
            MediaType.DOCUMENT,
            file_enc_sha256=encrypted.info.file_enc_sha256,
        )
    assert info.value.check is MediaCheck.ENC_SHA256


def test_wrong_media_type_is_a_mac_failure() -> None:
    body = encrypt_media(b"picture", MediaType.IMAGE, KEY).body
    with pytest.raises(MediaIntegrityError) as info:
        decrypt_media(body, KEY, MediaType.VIDEO)
    assert info.value.check is MediaCheck.MAC


@pytest.mark.parametrize("length", [0, 5, 10, 25, 26 + 1, 26 + 17])
def test_bodies_that_are_not_blocks_plus_mac_fail_the_length_check(length: int) -> None:
    with pytest.raises(MediaIntegrityError) as info:
        decrypt_media(b"\x00" * length, KEY, MediaType.IMAGE)
    assert info.value.check is MediaCheck.LENGTH


def test_bad_padding_under_a_valid_mac_fails_the_padding_check() -> None:
    keys = expand_media_key(KEY, MediaType.IMAGE)
    encryptor = Cipher(algorithms.AES(keys.cipher_key), modes.CBC(keys.iv)).encryptor()
    ciphertext = encryptor.update(b"A" * 15 + b"\x00") + encryptor.finalize()
    mac = hmac.digest(keys.mac_key, keys.iv + ciphertext, "sha256")[:10]
    with pytest.raises(MediaIntegrityError) as info:
        decrypt_media(ciphertext + mac, KEY, MediaType.IMAGE)
    assert info.value.check is MediaCheck.PADDING


def test_wrong_plaintext_hash_fails_last() -> None:
    encrypted = encrypt_media(b"document body", MediaType.DOCUMENT, KEY)
    with pytest.raises(MediaIntegrityError) as info:
        decrypt_media(
            encrypted.body,
            KEY,
            MediaType.DOCUMENT,
            file_enc_sha256=encrypted.info.file_enc_sha256,
            file_sha256=bytes(32),
        )
    assert info.value.check is MediaCheck.FILE_SHA256


def test_stream_objects_refuse_use_out_of_order() -> None:
    encryptor = MediaEncryptor(MediaType.IMAGE, KEY)
    with pytest.raises(MediaStateError):
        _ = encryptor.info
    encryptor.feed(b"abc")
    body = encryptor.finalize()
    with pytest.raises(MediaStateError):
        encryptor.feed(b"more")
    with pytest.raises(MediaStateError):
        encryptor.finalize()

    decryptor = MediaDecryptor(KEY, MediaType.IMAGE)
    decryptor.feed(body)
    with pytest.raises(MediaStateError):
        _ = decryptor.info
    assert decryptor.finalize() == b"abc"  # all in the last block, held back until the checks
    with pytest.raises(MediaStateError):
        decryptor.feed(b"x")

    failed = MediaDecryptor(KEY, MediaType.IMAGE)
    failed.feed(body[:-1] + bytes([body[-1] ^ 1]))
    with pytest.raises(MediaIntegrityError):
        failed.finalize()
    with pytest.raises(MediaStateError):
        _ = failed.info


def test_generated_keys_are_fresh_and_keys_must_be_32_bytes() -> None:
    first, second = encrypt_media(b"a", MediaType.IMAGE), encrypt_media(b"a", MediaType.IMAGE)
    assert len(first.media_key) == 32
    assert first.media_key != second.media_key
    assert decrypt_media(first.body, first.media_key, MediaType.IMAGE) == b"a"
    with pytest.raises(MediaKeyError):
        expand_media_key(b"short", MediaType.IMAGE)
    with pytest.raises(MediaKeyError):
        MediaDecryptor(bytes(31), MediaType.IMAGE)
