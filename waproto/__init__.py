"""wamd's own proto2 subset of WhatsApp's protobuf schemas, and the code generated from it.

One ``.proto`` per concern (``package wamd.<concern>``), each with its generated ``*_pb2.py`` and
``*_pb2.pyi`` beside it: handshake/cert (Noise login), signal (Signal wire messages), adv (device
identity signatures), companion_reg (device registration), e2e (message content), web (stored
messages), history (history sync), appstate (syncd), mms (media retry).

Field names and numbers follow the wire exactly; messages and fields the daemon does not use are
left out, and the protobuf runtime keeps such data as unknown fields across a round trip.
Regenerate with ``./scripts/gen-proto`` after editing a ``.proto``; a unit test fails while the
committed generated files are stale.
"""
