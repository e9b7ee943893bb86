using Demi.Buffers;
using Demi.Inet.Nic;

namespace Demi.Inet;

/// <summary>What a transport protocol (UDP, TCP) needs from the IPv4 layer beneath it.</summary>
public interface IIpLayer
{
    /// <summary>This stack's IPv4 address.</summary>
    Ipv4Address LocalAddress { get; }

    /// <summary>Largest IPv4 packet the link carries (IP header included).</summary>
    int Mtu { get; }

    /// <summary>Where frames live; segments passed to <see cref="Send"/> must be buffers of this pool.</summary>
    BufferPool Pool { get; }

    /// <summary>Bytes of link and IPv4 header the layer prepends; a segment needs at least this much headroom.</summary>
    int HeaderRoom { get; }

    /// <summary>The stack's clock.</summary>
    InetClock Clock { get; }

    /// <summary>
    /// <see cref="Clock"/>'s reading for the work in progress, in microseconds. A layer may read the
    /// clock once per round of work and hand the same reading to every segment of it, as Linux's TCP
    /// caches its clock per batch (<c>tcp_mstamp</c>); by default it is a fresh reading.
    /// </summary>
    long NowMicroseconds => Clock.NowMicroseconds;

    NicOffloads Offloads { get; }

    /// <summary>
    /// Sends one transport segment (the window holds the transport header and payload, checksum filled in).
    /// Takes over the caller's reference on the buffer. Returns 0 (sent, or queued behind address
    /// resolution) or an errno such as EHOSTUNREACH or ENOBUFS (the buffer has then been released).
    /// </summary>
    int Send(Ipv4Address destination, byte protocol, PacketBuffer segment);

    /// <summary>
    /// Takes the segment being delivered to <see cref="IIpProtocolHandler.Receive"/> from the stack. A
    /// handler calls it at the point it keeps the segment (stores it) or releases it; until then the
    /// segment is the stack's, so that if the handler throws before that point the stack releases it
    /// (exactly once) and counts the frame as <see cref="DropReason.InternalError"/>. After it, the
    /// handler answers for the segment, also if it throws later. No-op outside a delivery.
    /// </summary>
    void TakeReceived(in PacketBuffer segment)
    {
    }
}

/// <summary>A transport protocol registered with the IPv4 layer.</summary>
public interface IIpProtocolHandler
{
    /// <summary>IP protocol number (6 TCP, 17 UDP).</summary>
    byte Protocol { get; }

    /// <summary>
    /// Handles one received datagram's transport part (IP header already stripped).
    /// <paramref name="checksumVerified"/> is true when the device verified it. The reference on
    /// <paramref name="segment"/> becomes the handler's when it calls <see cref="IIpLayer.TakeReceived"/>
    /// (before it stores or releases the segment); if Receive throws before that, the stack releases it.
    /// </summary>
    void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified);

    /// <summary>Runs due timers; returns how much work was done.</summary>
    int OnTimer(long nowMicroseconds);

    /// <summary>Next timer deadline in microseconds, or <see cref="long.MaxValue"/>.</summary>
    long NextDeadline { get; }
}
