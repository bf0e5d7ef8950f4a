"""The radio under the virtual air: Bumble's LocalLink and virtual controller, with some adjustments.

* :class:`AirLink` lets the air inspect every L2CAP PDU a peripheral sends, so it can lose ATT
  notifications (and only those) on purpose.
* :class:`AirController` answers *LE Create Connection Cancel* the way a real controller does (clear the
  pending connection and report it failed with "Unknown Connection Identifier"); Bumble's virtual
  controller acknowledges the command but keeps the connection pending, so a connect that timed out would
  never finish and every later connect would be refused.
* :class:`AirController` formats HCI packets for its debug log only when that log is on (Bumble formats
  every packet eagerly, about a quarter of the virtual air's CPU time on bulk transfers).
* :class:`Airtime` (optional, off by default) gives the air a radio that takes time: each LE data packet
  occupies the central's radio for its time on air (Bluetooth Core 5.x, Vol 6, Part B, §2.1 packet format,
  §4.1.1 T_IFS = 150 µs) and its controller reports it sent only then, so senders are paced by the radio
  the way a real controller's buffers pace them. Without it, the air runs as fast as this process's CPU.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from bumble import att, hci
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.link import LocalLink

#: Decides the fate of one notification (ATT handle, value) from a peripheral: whether it reaches the
#: central, and what to do once it has been sent on (e.g. drop the link right after it).
NotificationFilter = Callable[[int, bytes], tuple[bool, Callable[[], None] | None]]

_L2CAP_HEADER = 4
_LOG: Final = logging.getLogger("bumble.controller")
# Bytes of an LE uncoded-PHY data packet around its payload: access address 4, header 2, CRC 3, and the
# preamble (1 byte on the 1M PHY, 2 on the 2M PHY). Core Vol 6, Part B, §2.1.
_PACKET_OVERHEAD: Final = {"1M": 10, "2M": 11}
_PHY_BITS_PER_S: Final = {"1M": 1e6, "2M": 2e6}
_T_IFS_S: Final = 150e-6


@dataclass(frozen=True)
class Airtime:
    """How long LE data packets occupy the radio: an ideal link that never idles between them.

    Every data packet of ``n`` payload bytes (one HCI ACL fragment, at most the controllers' LE ACL
    data packet length) is followed by T_IFS, the peer's empty acknowledgement and T_IFS again, as in a
    connection event that never ends. Connection-event gaps, retransmissions and other devices are not
    modelled, so this is an upper bound of a real link: at the 2M PHY a 251-byte packet takes 1.39 ms,
    176 kB/s of 244-byte notification payloads. All connections share the central's one radio.

    Parameters
    ----------
    phy : {"2M", "1M"}
        LE uncoded PHY.

    Examples
    --------
    >>> round(Airtime("2M").exchange_s(251) * 1e6)
    1392
    >>> round(Airtime("1M").exchange_s(27) * 1e6)
    676
    """

    phy: Literal["1M", "2M"] = "2M"

    def exchange_s(self, payload_bytes: int) -> float:
        """Radio time of one data packet with ``payload_bytes`` and its acknowledgement [s].

        Parameters
        ----------
        payload_bytes : int
            LL payload (the HCI ACL fragment) [bytes].
        """
        overhead, rate = _PACKET_OVERHEAD[self.phy], _PHY_BITS_PER_S[self.phy]
        return ((overhead + payload_bytes) * 8 + overhead * 8) / rate + 2 * _T_IFS_S


class Radio:
    """The central's radio time line: packets take turns, in the order their controllers got them.

    Parameters
    ----------
    airtime : Airtime
        Time on air of a packet.
    """

    def __init__(self, airtime: Airtime) -> None:
        self.airtime = airtime
        self._free_at = 0.0

    def reserve(self, payload_bytes: int) -> float:
        """Book the radio for one packet; returns the event-loop time it has been sent and acknowledged.

        Parameters
        ----------
        payload_bytes : int
            LL payload [bytes].
        """
        now = asyncio.get_running_loop().time()
        self._free_at = max(now, self._free_at) + self.airtime.exchange_s(payload_bytes)
        return self._free_at


class AirController(Controller):
    """A Bumble virtual controller whose connection cancel completes the pending connection.

    ``radio``, when set (see :class:`Radio`), makes each outgoing LE data packet wait for its time on air.
    """

    radio: Radio | None = None

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """Hand a packet to the host, as Bumble does, formatting it for the debug log only when it is on.

        Parameters
        ----------
        packet : bumble.hci.HCI_Packet
            The packet.
        """
        if _LOG.isEnabledFor(logging.DEBUG):
            _LOG.debug("[%s] CONTROLLER -> HOST: %s", self.name, packet)
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def on_hci_acl_data_packet(self, packet: hci.HCI_AclDataPacket) -> None:
        """Send one ACL fragment from the host, after its time on air when the air has a :class:`Radio`.

        The fragment reaches the peer and the host hears it completed at the same moment, so a host
        that fills the controller's buffers waits for the radio. A fragment whose connection ends while
        it waits is lost with the link.

        Parameters
        ----------
        packet : bumble.hci.HCI_AclDataPacket
            The fragment.
        """
        radio = self.radio
        connection = self.find_connection_by_handle(packet.connection_handle)
        if radio is None or connection is None:
            super().on_hci_acl_data_packet(packet)
            return

        def sent() -> None:
            if self.find_connection_by_handle(packet.connection_handle) is connection:
                connection.on_hci_acl_data_packet(packet)

        asyncio.get_running_loop().call_at(radio.reserve(len(packet.data)), sent)

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
