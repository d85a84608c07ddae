"""The simulated primary phone (device 0) of each sandbox account.

``SimulatedPhone`` is a real Signal party attached to the sandbox network like a connected
device: it scans QR codes, sends and answers messages (1:1 and groups), sends receipts, and
pushes the app-state key share and history sync to its new companions.
"""

from sandbox.phone.history import ChatMessage, HistoryConfig, SeededChat
from sandbox.phone.phone import (
    PhoneError,
    PhoneSettings,
    ReceiptEvent,
    SimulatedPhone,
    phone_factory,
)
from sandbox.phone.signal_store import PhoneSignalStore

__all__ = [
    "ChatMessage",
    "HistoryConfig",
    "PhoneError",
    "PhoneSettings",
    "PhoneSignalStore",
    "ReceiptEvent",
    "SeededChat",
    "SimulatedPhone",
    "phone_factory",
]
