namespace Demi.Inet;

/// <summary>
/// Receives a <see cref="UdpSocket"/>'s events on the shard thread (for example the runtime's socket
/// actor, to complete pending pops and pushes). Called on the per-packet path: do not block or allocate.
/// </summary>
public interface IUdpSocketObserver
{
    /// <summary>A datagram was queued on the socket; <see cref="UdpSocket.TryPop"/> will return it.</summary>
    void OnDatagram(UdpSocket socket);

    /// <summary>An asynchronous error arrived (ICMP unreachable from the connected peer); see <see cref="UdpSocket.PendingError"/>.</summary>
    void OnError(UdpSocket socket, int errno);

    /// <summary>
    /// A push that returned <see cref="UdpSocket.Pending"/> finished: 0 (handed to the NIC) or an errno
    /// (ETIMEDOUT, ENOBUFS, ECANCELED when the socket closed first). Also called with ENOBUFS for a push
    /// that returned 0 when the NIC then refused its frame at the transmit flush.
    /// </summary>
    void OnPushCompleted(UdpSocket socket, ulong tag, int errno);
}
