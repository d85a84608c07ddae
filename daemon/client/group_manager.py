"""Groups of one session: metadata kept in the ``groups`` table, changes we make (create, add,
remove, promote, demote, subject, description, settings, leave, invite links, join) and changes
the server announces (``w:gp2`` notifications). At every login the whole list we participate in
is fetched (``participating``), so a group made or changed while we were offline is known.

Membership drives the sender keys (protocol-inventory §7.5): when anyone leaves a group, our own
sender key for it is dropped and the sender-key memory emptied, so the next message goes out
under a new key that only the remaining members receive. A group we are no longer in stays,
read-only (``is_member`` false; sending to it raises NotGroupMember).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from daemon.binary import JID, Node, Server
from daemon.client.acks import build_ack
from daemon.client.connection import Connection
from daemon.client.errors import IqError, IqTimeout, StanzaError
from daemon.client.groups import (
    ChangeKind,
    GroupChange,
    GroupInfo,
    GroupSetting,
    ParticipantAction,
    ParticipantInfo,
    build_create,
    build_description,
    build_invite_query,
    build_join,
    build_leave,
    build_metadata_query,
    build_participants_change,
    build_participating_query,
    build_setting,
    build_subject,
    parse_group_answer,
    parse_group_notification,
    parse_invite_answer,
    parse_join_answer,
    parse_participant_results,
    parse_participating,
)
from daemon.client.ids import new_message_id
from daemon.client.message_context import MessagingContext
from daemon.client.message_events import GroupUpdated, MessagingEvent
from daemon.client.messaging_errors import GroupChangeFailed, NotGroupMember
from storage.message_values import ChatKind, GroupParticipant, GroupRecord, ParticipantRole


class GroupManager:
    def __init__(self, m: MessagingContext) -> None:
        self._m = m
        self._known: set[JID] = set()
        self._fetching: set[JID] = set()

    # ------------------------------------------------------------------------------ records

    async def _names(self, participant: ParticipantInfo) -> GroupParticipant:
        """The stored form of a participant (PN when known), learning its PN ↔ LID mapping."""
        m = self._m
        addressing = m.addressing
        jid, alt = participant.jid, participant.alt
        pn = jid if jid.is_pn else (alt if alt is not None and alt.is_pn else None)
        lid = jid if jid.is_lid else (alt if alt is not None and alt.is_lid else None)
        if pn is not None and lid is not None and addressing.learn(pn, lid):
            await m.move_to_lid(pn, lid)
        account = addressing.account(jid)
        return GroupParticipant(
            jid=str(account), lid=str(lid) if lid is not None else None, role=participant.role
        )

    async def _record(self, info: GroupInfo) -> GroupRecord:
        m = self._m
        members = tuple([await self._names(p) for p in info.participants])
        own = self._own_entry(members)
        return GroupRecord(
            jid=str(info.jid),
            subject=info.subject,
            owner=str(m.addressing.account(info.owner)) if info.owner else None,
            addressing_mode="lid" if info.addressing_mode == "lid" else "pn",
            is_member=own is not None,
            participants=members,
            created_at=datetime.fromtimestamp(info.created_at, UTC) if info.created_at else None,
            description=info.description,
            announce=info.announce,
            locked=info.locked,
            own_admin=own is not None and own.role is not ParticipantRole.MEMBER,
            last_synced_at=m.now_dt(),
        )

    def _own_entry(self, members: Sequence[GroupParticipant]) -> GroupParticipant | None:
        own = {str(self._m.addressing.own_pn)}
        if self._m.addressing.own_lid is not None:
            own.add(str(self._m.addressing.own_lid))
        return next((p for p in members if p.jid in own or p.lid in own), None)

    async def _refresh_self(self, jid: str) -> None:
        """Recomputes whether we are a member (and an admin) from the stored participants."""
        m = self._m
        stored = await m.messages.groups.get(m.session_id, jid)
        if stored is None:
            return
        own = self._own_entry(stored.participants)
        admin = own is not None and own.role is not ParticipantRole.MEMBER
        await m.messages.groups.set_self(m.session_id, jid, is_member=own is not None, admin=admin)

    async def _save(
        self, info: GroupInfo, change: str, events: list[MessagingEvent]
    ) -> GroupRecord:
        m = self._m
        record = await self._record(info)
        await m.messages.groups.save(m.session_id, record)
        await m.messages.chats.ensure(m.session_id, record.jid, ChatKind.GROUP, record.subject)
        self._known.add(info.jid)
        events.append(GroupUpdated(m.session_id, record, change))
        return record

    # ------------------------------------------------------------------------------ metadata

    async def metadata(
        self, connection: Connection, group: JID, *, refresh: bool = False
    ) -> GroupRecord:
        """The group's stored record, asked from the server when unknown (or ``refresh``)."""
        m = self._m
        if not refresh:
            stored = await m.messages.groups.get(m.session_id, str(group))
            if stored is not None:
                self._known.add(group)
                return stored
        try:
            answer = await connection.query(build_metadata_query(group))
        except IqError as exc:
            if exc.code in (401, 403, 404):
                await self._mark_left(group)
                raise NotGroupMember(f"not a member of {group} ({exc.code})") from None
            raise
        info = parse_group_answer(answer)
        async with m.crypto_lock, m.unit() as events:
            return await self._save(info, "metadata", events)

    async def for_send(self, connection: Connection, group: JID) -> GroupRecord:
        record = await self.metadata(connection, group)
        if not record.is_member:
            raise NotGroupMember(f"we are not a member of {group}: it is read-only")
        if record.read_only:
            raise NotGroupMember(f"only admins may send to {group}, and we are not one")
        return record

    def seen(self, connection: Connection, group: JID) -> None:
        """A message arrived in ``group``: fetch its metadata in the background if unknown."""
        if group in self._known or group in self._fetching:
            return
        self._fetching.add(group)

        async def fetch() -> None:
            try:
                await self.metadata(connection, group)
            except (IqError, IqTimeout, StanzaError, NotGroupMember) as exc:
                self._m.log.info("client.group_metadata_failed", group=str(group), error=str(exc))
            finally:
                self._fetching.discard(group)

        connection.spawn(fetch())

    async def _mark_left(self, group: JID) -> None:
        m = self._m
        stored = await m.messages.groups.get(m.session_id, str(group))
        if stored is not None and stored.is_member:
            async with m.crypto_lock, m.unit() as events:
                await m.messages.groups.set_self(
                    m.session_id, str(group), is_member=False, admin=False
                )
                await self._rotate_sender_key(group)
                updated = await m.messages.groups.get(m.session_id, str(group))
                if updated is not None:
                    events.append(GroupUpdated(m.session_id, updated, "left"))

    async def _rotate_sender_key(self, group: JID) -> None:
        """Drops our sender key for ``group``: the next message starts a new one."""
        m = self._m
        name = m.addressing.own_sender_key_name(group)
        await m.session.store.sender_keys.delete(m.session_id, name.group_id, str(name.sender))
        await m.messages.sender_key_memory.clear(m.session_id, str(group))

    # ------------------------------------------------------------------------------ changes

    async def create(
        self, connection: Connection, subject: str, participants: Sequence[JID]
    ) -> GroupRecord:
        m = self._m
        key = new_message_id(m.addressing.own_pn.user, m.now())
        answer = await connection.query(build_create(subject, participants, key))
        info = parse_group_answer(answer)
        async with m.crypto_lock, m.unit() as events:
            return await self._save(info, "create", events)

    async def change(
        self,
        connection: Connection,
        group: JID,
        action: ParticipantAction,
        participants: Sequence[JID],
    ) -> GroupRecord:
        """Adds, removes, promotes or demotes; raises GroupChangeFailed when the server refused
        one of them (the others are applied)."""
        m = self._m
        answer = await connection.query(build_participants_change(group, action, participants))
        results = parse_participant_results(answer, action)
        record = await self.metadata(connection, group, refresh=True)
        if action is ParticipantAction.REMOVE and any(code is None for code in results.values()):
            async with m.crypto_lock, m.messages.transaction():
                await self._rotate_sender_key(group)
        failures = {str(jid): code for jid, code in results.items() if code is not None}
        if failures:
            raise GroupChangeFailed(str(group), failures)
        return record

    async def leave(self, connection: Connection, group: JID) -> None:
        await connection.query(build_leave(group))
        await self._mark_left(group)

    async def set_subject(self, connection: Connection, group: JID, subject: str) -> None:
        await connection.query(build_subject(group, subject))
        m = self._m
        async with m.crypto_lock, m.unit() as events:
            await m.messages.groups.set_subject(m.session_id, str(group), subject)
            await m.messages.chats.ensure(m.session_id, str(group), ChatKind.GROUP, subject)
            await self._emit(group, "subject", events)

    async def set_description(self, connection: Connection, group: JID, description: str) -> None:
        m = self._m
        new_id = new_message_id(m.addressing.own_pn.user, m.now())
        await connection.query(build_description(group, description, new_id, None))
        async with m.crypto_lock, m.unit() as events:
            await m.messages.groups.set_description(m.session_id, str(group), description)
            await self._emit(group, "description", events)

    async def set_settings(
        self,
        connection: Connection,
        group: JID,
        *,
        announce: bool | None = None,
        locked: bool | None = None,
    ) -> None:
        m = self._m
        if announce is not None:
            on, off = GroupSetting.ANNOUNCE_ON, GroupSetting.ANNOUNCE_OFF
            await connection.query(build_setting(group, on if announce else off))
        if locked is not None:
            on, off = GroupSetting.LOCKED_ON, GroupSetting.LOCKED_OFF
            await connection.query(build_setting(group, on if locked else off))
        async with m.crypto_lock, m.unit() as events:
            await m.messages.groups.set_setting(
                m.session_id, str(group), announce=announce, locked=locked
            )
            await self._emit(group, "settings", events)

    async def _emit(self, group: JID, change: str, events: list[MessagingEvent]) -> None:
        m = self._m
        updated = await m.messages.groups.get(m.session_id, str(group))
        if updated is not None:
            events.append(GroupUpdated(m.session_id, updated, change))

    async def invite_code(self, connection: Connection, group: JID, *, reset: bool) -> str:
        return parse_invite_answer(await connection.query(build_invite_query(group, reset=reset)))

    async def join(self, connection: Connection, code: str) -> tuple[JID, bool]:
        """Joins by invite code: the group, and whether admins must approve first (then we
        are not a member yet). Raises IqError 410 (revoked) or 406 (invalid code)."""
        group, pending = parse_join_answer(await connection.query(build_join(code)))
        if group.server != Server.GROUP:
            group = JID(group.user, Server.GROUP)
        if not pending:
            await self.metadata(connection, group, refresh=True)
        return group, pending

    async def sync_all(self, connection: Connection) -> int:
        """Fetches every group we participate in; a stored group missing from the list is
        one we left (or were removed from) while offline. Returns how many were stored."""
        m = self._m
        infos = parse_participating(await connection.query(build_participating_query()))
        listed = {str(info.jid) for info in infos}
        async with m.crypto_lock, m.unit() as events:
            for info in infos:
                await self._save(info, "sync", events)
            after = ""
            while True:
                page = await m.messages.groups.page(m.session_id, after=after, member=True)
                if not page:
                    break
                for stale in (g for g in page if g.jid not in listed):
                    await m.messages.groups.set_self(
                        m.session_id, stale.jid, is_member=False, admin=False
                    )
                    await self._emit(JID.parse(stale.jid), "left", events)
                after = page[-1].jid
        m.log.info("client.groups_synced", groups=len(infos))
        return len(infos)

    def sync_in_background(self, connection: Connection) -> None:
        async def run() -> None:
            try:
                await self.sync_all(connection)
            except (IqError, IqTimeout, StanzaError) as exc:
                self._m.log.warning("client.groups_sync_failed", error=str(exc))

        connection.spawn(run())

    # ------------------------------------------------------------------------------ server

    async def on_notification(self, connection: Connection, node: Node) -> None:
        """``notification type=w:gp2``: applied and committed, then acked."""
        m = self._m
        try:
            changes = parse_group_notification(node)
        except StanzaError as exc:
            m.log.warning("client.group_notification_unreadable", error=str(exc))
            await connection.send(build_ack(node))
            return
        unknown: set[JID] = set()
        async with m.crypto_lock, m.unit() as events:
            for change in changes:
                if not await self._apply(change, events):
                    unknown.add(change.group)
        await connection.send(build_ack(node))
        for group in unknown:
            # Added to a group we had never heard of: its metadata comes in the background.
            self.seen(connection, group)

    async def _apply(self, change: GroupChange, events: list[MessagingEvent]) -> bool:
        """Applies one change; False when the group is unknown here (nothing applied)."""
        m = self._m
        sid, jid = m.session_id, str(change.group)
        actor = str(m.addressing.account(change.actor)) if change.actor else None
        if change.kind is ChangeKind.CREATE and change.created is not None:
            await self._save(change.created, "create", events)
            return True
        stored = await m.messages.groups.get(sid, jid)
        if stored is None:
            return False
        members = [await self._names(p) for p in change.participants]
        touches_us = any(
            m.addressing.is_own(JID.parse(p.jid))
            or (p.lid and m.addressing.is_own(JID.parse(p.lid)))
            for p in members
        )
        if change.kind is ChangeKind.ADD:
            await m.messages.groups.put_participants(sid, jid, members)
            await self._refresh_self(jid)
        elif change.kind is ChangeKind.REMOVE:
            await m.messages.groups.remove_participants(sid, jid, [p.jid for p in members])
            await self._rotate_sender_key(change.group)
            if touches_us:
                await m.messages.groups.set_self(sid, jid, is_member=False, admin=False)
        elif change.kind in (ChangeKind.PROMOTE, ChangeKind.DEMOTE):
            promoted = change.kind is ChangeKind.PROMOTE
            role = ParticipantRole.ADMIN if promoted else ParticipantRole.MEMBER
            await m.messages.groups.put_participants(
                sid, jid, [GroupParticipant(p.jid, p.lid, role) for p in members]
            )
            await self._refresh_self(jid)
        elif change.kind is ChangeKind.SUBJECT and change.subject is not None:
            await m.messages.groups.set_subject(sid, jid, change.subject)
            await m.messages.chats.ensure(sid, jid, ChatKind.GROUP, change.subject)
        elif change.kind is ChangeKind.DESCRIPTION and change.description is not None:
            await m.messages.groups.set_description(sid, jid, change.description)
        elif change.kind in (ChangeKind.ANNOUNCE_ON, ChangeKind.ANNOUNCE_OFF):
            on = change.kind is ChangeKind.ANNOUNCE_ON
            await m.messages.groups.set_setting(sid, jid, announce=on)
        elif change.kind in (ChangeKind.LOCKED_ON, ChangeKind.LOCKED_OFF):
            on = change.kind is ChangeKind.LOCKED_ON
            await m.messages.groups.set_setting(sid, jid, locked=on)
        elif change.kind is ChangeKind.DELETE:
            await m.messages.groups.set_self(sid, jid, is_member=False, admin=False)
        else:
            return True
        updated = await m.messages.groups.get(sid, jid)
        if updated is not None:
            events.append(
                GroupUpdated(sid, updated, change.kind.value, actor, tuple(p.jid for p in members))
            )
        return True
