"""Device lists as the service keeps clients' caches honest (whatsmeow send.go,
notification.go):

* the ack of a message carries ``phash`` — the participant-list hash of the devices the server
  delivers to — when it differs from the sender's (its ``phash`` attribute, or the devices it
  encrypted for plus itself): the sender's cached device lists are stale;
* hosted (Cloud API) devices count in 1:1 hashes and device hashes, never in group hashes;
* when an account links or removes a device, the service tells others in a ``notification
  type=devices from=<pn> lid=<lid> > add|remove(device_hash, device_lid_hash) > device(jid,
  lid)``, the hashes naming the list after the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from daemon.binary import JID, Node
from daemon.client.devices import participant_list_hash
from sandbox.directory import Account, Device
from sandbox.stanzas import new_server_id

if TYPE_CHECKING:
    from sandbox.network import Network

log = structlog.get_logger("sandbox.device_lists")


def _devices(network: Network, account: Account, lid: bool, *, hosted: bool = True) -> list[JID]:
    """The account's devices as a sender lists them; with ``hosted`` its hosted (Cloud API)
    device too, which 1:1 chats reach and groups never do (whatsmeow send.go drops hosted
    devices from group sends and their ``phash``, keeps them in DMs and device hashes)."""
    directory = network.directory
    devices = directory.devices(account.phone_user)
    if hosted and (hosted_device := directory.hosted_device(account.phone_user)) is not None:
        devices.append(hosted_device)
    return [
        account.lid_device(d.device_id) if lid else account.pn_device(d.device_id) for d in devices
    ]


def expected_phash(
    network: Network, sender: Account, sender_device: int, message: Node, to: JID
) -> str | None:
    """The hash the ack carries when the sender's view of the devices differs (else None)."""
    if to.is_group:
        group = network.groups.get(to)
        claimed = message.attr_str("phash")
        if group is None or claimed is None:
            return None
        lid = message.attr_str("addressing_mode") == "lid"
        everyone: list[JID] = []
        for member in group.participants:
            account = network.directory.find_account(member)
            if account is not None:
                everyone += _devices(network, account, lid, hosted=False)
    else:
        target = network.directory.account_of(to.to_non_ad())
        if target is None:
            return None
        lid = to.unhosted().is_lid
        everyone = _devices(network, target, lid)
        if target.phone_user != sender.phone_user:
            everyone += _devices(network, sender, lid)
        claimed = message.attr_str("phash") or _claimed(message, sender, sender_device, lid)
        if claimed is None:
            return None
    expected = participant_list_hash(everyone)
    return expected if expected != claimed else None


def _claimed(message: Node, sender: Account, sender_device: int, lid: bool) -> str | None:
    participants = message.child("participants")
    if participants is None:
        return None  # a single addressed device (a retry, a peer message): nothing to compare
    jids = [jid for to in participants.children_by_tag("to") if (jid := to.attr_jid("jid"))]
    own = sender.lid_device(sender_device) if lid else sender.pn_device(sender_device)
    return participant_list_hash([*jids, own])


def devices_notification(network: Network, account: Account, device: Device, added: bool) -> Node:
    change = Node(
        "add" if added else "remove",
        {
            "device_hash": participant_list_hash(_devices(network, account, False)),
            "device_lid_hash": participant_list_hash(_devices(network, account, True)),
        },
        [
            Node(
                "device",
                {
                    "jid": account.pn_device(device.device_id),
                    "lid": account.lid_device(device.device_id),
                },
            )
        ],
    )
    return Node(
        "notification",
        {
            "from": account.pn,
            "lid": account.lid,
            "type": "devices",
            "id": new_server_id(),
            "t": str(network.now()),
        },
        [change],
    )


async def announce(network: Network, device: Device, added: bool) -> int:
    """Tells every other online device (other accounts' and the account's own) that
    ``device`` was linked or removed; returns how many were told."""
    account = network.directory.account(device.phone_user)
    node = devices_notification(network, account, device, added)
    told = 0
    for other in network.directory.all_devices():
        if other.logged_out or other.jid() == device.jid() or other.is_phone or other.is_hosted:
            continue
        if network.is_online(other.jid()):
            await network.deliver(other.jid(), node, queue=False)
            told += 1
    log.info("sandbox.devices_announced", device=str(device.jid()), added=added, told=told)
    return told
