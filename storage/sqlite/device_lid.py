"""Our own LID, learnt after pairing: the ``lid`` of ``<success>`` when pair-success had none.

Only fills a missing value. A different LID for a device that already has one is not written:
the caller logs it (whatsmeow warns the same way), since the stored one is what peers know.
"""

from __future__ import annotations

from storage.engine import SqlEngine

SET_LID_IF_MISSING = """
UPDATE device_credentials SET lid_jid = ?
WHERE session_id = ? AND retired = 0 AND lid_jid IS NULL AND paired_at IS NOT NULL
"""


class SqliteDeviceLidRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def set_lid_if_missing(self, session_id: str, lid_jid: str) -> bool:
        """Records ``lid_jid`` for the live, paired identity if it has none; True if written."""
        if not isinstance(lid_jid, str) or not lid_jid.endswith("@lid"):
            raise ValueError(f"not a LID JID: {lid_jid!r}")
        return await self._db.execute(SET_LID_IF_MISSING, (lid_jid, session_id)) > 0
