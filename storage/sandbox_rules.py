"""The sandbox's 2026 service rules in its database: per-account enforcement and NCT salt, and
the privacy tokens accounts issued to each other (migration 0004 of the sandbox)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database

__all__ = ["AccountRulesRow", "PrivacyTokenRow", "SandboxRulesStore"]


@dataclass(frozen=True, slots=True)
class AccountRulesRow:
    phone_user: str
    enforcing: bool
    nct_salt: bytes


@dataclass(frozen=True, slots=True)
class PrivacyTokenRow:
    issuer: str
    subject: str
    token: bytes
    issued_at: int


class SandboxRulesStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all_rules(self) -> list[AccountRulesRow]:
        rows = await self.db.fetch_all(
            "SELECT phone_user, enforcing, nct_salt FROM account_rules ORDER BY phone_user"
        )
        return [AccountRulesRow(str(r[0]), bool(r[1]), bytes(r[2])) for r in rows]

    async def put_rules(self, row: AccountRulesRow) -> None:
        await self.db.execute(
            "INSERT INTO account_rules (phone_user, enforcing, nct_salt) VALUES (?, ?, ?) "
            "ON CONFLICT (phone_user) DO UPDATE SET enforcing = excluded.enforcing, "
            "nct_salt = excluded.nct_salt",
            (row.phone_user, int(row.enforcing), row.nct_salt),
        )

    async def all_tokens(self) -> list[PrivacyTokenRow]:
        rows = await self.db.fetch_all(
            "SELECT issuer, subject, token, issued_at FROM privacy_tokens ORDER BY issuer"
        )
        return [PrivacyTokenRow(str(r[0]), str(r[1]), bytes(r[2]), int(r[3])) for r in rows]

    async def put_token(self, row: PrivacyTokenRow) -> None:
        await self.db.execute(
            "INSERT INTO privacy_tokens (issuer, subject, token, issued_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (issuer, subject) DO UPDATE SET token = excluded.token, "
            "issued_at = excluded.issued_at",
            (row.issuer, row.subject, row.token, row.issued_at),
        )
