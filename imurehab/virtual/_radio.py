"""The radio under the virtual air: Bumble's LocalLink and virtual controller, with two adjustments.

* :class:`AirLink` lets the air inspect every L2CAP PDU a peripheral sends, so it can lose ATT
  notifications (and only those) on purpose.
* :class:`AirController` answers *LE Create Connection Cancel* the way a real controller does (clear the
  pending connection and report it failed with "Unknown Connection Identifier"); Bumble's virtual
  controller acknowledges the command but keeps the connection pending, so a connect that timed out would
  never finish and every later connect would be refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bumble import att, hci
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.link import LocalLink

#: Decides the fate of one notification (ATT handle, value) from a peripheral: whether it reaches the
#: central, and what to do once it has been sent on (e.g. drop the link right after it).
NotificationFilter = Callable[[int, bytes], tuple[bool, Callable[[], None] | None]]

_L2CAP_HEADER = 4


class AirController(Controller):
    """A Bumble virtual controller whose connection cancel completes the pending connection."""

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel the pending LE connection, then report it failed (Core Vol 4, Part E, 7.8.13).

        Parameters
        ----------
        command : bumble.hci.HCI_LE_Create_Connection_Cancel_Command
            The command from the host.

        Returns
        -------
        bumble.hci.HCI_StatusReturnParameters
            Success, or "command disallowed" when no connection is pending.
        """
        del command
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failed = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # Scheduled, so the host sees the command complete before the connection failure.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failed)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def drop_le_connections(self, reason: int) -> int:
        """Drop every LE connection of this controller on both ends, as a lost radio link would.

        Neither side sends a terminate PDU: each controller reports the disconnection to its own host
        with ``reason`` (0x08, connection timeout, for a lost link).

        Parameters
        ----------
        reason : int
            HCI error code both hosts receive.

        Returns
        -------
        int
            Number of connections dropped.
        """
        dropped = 0
        for connection in list(self.le_connections.values()):
            peer = self.link.find_le_controller(connection.peer_address) if self.link else None
            self.on_le_disconnected(connection, reason)
            if peer is not None and (peer_connection := peer.le_connections.get(connection.self_address)):
                peer.on_le_disconnected(peer_connection, reason)
            dropped += 1
        return dropped

    def silence(self) -> None:
        """Stop all advertising at once (used when the air shuts down)."""
        self.le_legacy_advertiser.stop()
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()


class AirLink(LocalLink):
    """A LocalLink that passes each peripheral's notifications through its :data:`NotificationFilter`."""

    def __init__(self) -> None:
        super().__init__()
        self._filters: dict[Controller, NotificationFilter] = {}

    def set_notification_filter(
        self, controller: Controller, notification_filter: NotificationFilter
    ) -> None:
        """Route the notifications ``controller`` sends through ``notification_filter``.

        Parameters
        ----------
        controller : bumble.controller.Controller
            A peripheral's controller on this link.
        notification_filter : callable
            Called with (ATT handle, value) for each notification; returns whether it is delivered and
            an optional action to run right after it is on its way.
        """
        self._filters[controller] = notification_filter

    def remove_controller(self, controller: Controller) -> None:
        """Take a controller off the link (and forget its filter).

        Parameters
        ----------
        controller : bumble.controller.Controller
            The controller to remove.
        """
        self._filters.pop(controller, None)
        super().remove_controller(controller)

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: PhysicalTransport,
        data: bytes,
    ) -> None:
        """Carry one L2CAP PDU, unless it is a notification its sender's filter loses.

        The filter's follow-up action is scheduled after the delivery, so the central receives the
        notification before whatever the action causes (a link drop).

        Parameters
        ----------
        sender_controller : bumble.controller.Controller
            The sending controller.
        destination_address : bumble.hci.Address
            The receiving device's address.
        transport : bumble.core.PhysicalTransport
            LE or BR/EDR.
        data : bytes
            The whole L2CAP PDU (length, channel id, payload).
        """
        notification_filter = self._filters.get(sender_controller)
        if (
            notification_filter is not None
            and len(data) >= _L2CAP_HEADER + 3
            and int.from_bytes(data[2:4], "little") == att.ATT_CID
            and data[_L2CAP_HEADER] == att.Opcode.ATT_HANDLE_VALUE_NOTIFICATION
        ):
            handle = int.from_bytes(data[_L2CAP_HEADER + 1 : _L2CAP_HEADER + 3], "little")
            deliver, then = notification_filter(handle, data[_L2CAP_HEADER + 3 :])
            if deliver:
                super().send_acl_data(sender_controller, destination_address, transport, data)
            if then is not None:
                asyncio.get_running_loop().call_soon(then)
            return
        super().send_acl_data(sender_controller, destination_address, transport, data)
