"""Tag bytes of the binary node format (identical in WhatsApp Web, whatsmeow and Baileys).

Bytes 1..235 index the single-byte token table; the named values below are the rest.
"""

from __future__ import annotations

from typing import Final

LIST_EMPTY: Final = 0
DICTIONARY_0: Final = 236
DICTIONARY_1: Final = 237
DICTIONARY_2: Final = 238
DICTIONARY_3: Final = 239
INTEROP_JID: Final = 245
FB_JID: Final = 246
AD_JID: Final = 247
LIST_8: Final = 248
LIST_16: Final = 249
JID_PAIR: Final = 250
HEX_8: Final = 251
BINARY_8: Final = 252
BINARY_20: Final = 253
BINARY_32: Final = 254
NIBBLE_8: Final = 255

# Longest string the nibble/hex packers accept: the length byte keeps bit 7 for "odd length".
PACKED_MAX: Final = 127

# First byte of every marshalled frame; bit 1 set on an incoming frame means zlib-compressed.
FLAG_NONE: Final = 0x00
FLAG_COMPRESSED: Final = 0x02
