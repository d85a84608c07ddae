"""The wire layer: frames, the Noise XX handshake and transport ciphers, the certificate chain.

Everything re-exported here is a pure core (bytes in, bytes and results out). The websocket
driver lives in ``daemon.wire.transport`` and is imported explicitly, so that importing the cores
never pulls in asyncio or websockets.
"""

from daemon.wire.certs import (
    WA_ROOT_PUBLIC_KEY,
    CertDetails,
    VerifiedChain,
    build_cert_chain,
    sign_certificate,
    verify_cert_chain,
)
from daemon.wire.errors import (
    CertificateError,
    CertificateFailure,
    ConnectFailed,
    DecryptError,
    FrameError,
    HandshakeError,
    NonceExhaustedError,
    TransportClosed,
    TransportTimeout,
    WireError,
)
from daemon.wire.frames import (
    MAX_FRAME_LENGTH,
    WA_CONN_HEADER,
    ConnectionIntro,
    FrameReader,
    FrameWriter,
    encode_frame,
)
from daemon.wire.noise import (
    ClientFinished,
    HandshakeState,
    NoiseInitiator,
    NoiseResponder,
    NoiseTransport,
    TransportCipher,
)

__all__ = [
    "MAX_FRAME_LENGTH",
    "WA_CONN_HEADER",
    "WA_ROOT_PUBLIC_KEY",
    "CertDetails",
    "CertificateError",
    "CertificateFailure",
    "ClientFinished",
    "ConnectFailed",
    "ConnectionIntro",
    "DecryptError",
    "FrameError",
    "FrameReader",
    "FrameWriter",
    "HandshakeError",
    "HandshakeState",
    "NoiseInitiator",
    "NoiseResponder",
    "NoiseTransport",
    "NonceExhaustedError",
    "TransportCipher",
    "TransportClosed",
    "TransportTimeout",
    "VerifiedChain",
    "WireError",
    "build_cert_chain",
    "encode_frame",
    "sign_certificate",
    "verify_cert_chain",
]
