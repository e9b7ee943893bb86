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

    InetClock Clock { get; }

    NicOffloads Offloads { get; }

    /// <summary>
    /// Sends one transport segment (the window holds the transport header and payload, checksum filled in).
    /// Takes over the caller's reference on the buffer. Returns 0 (sent, or queued behind address
    /// resolution) or an errno such as EHOSTUNREACH or ENOBUFS (the buffer has then been released).
    /// </summary>
    int Send(Ipv4Address destination, byte protocol, PacketBuffer segment);
}

/// <summary>A transport protocol registered with the IPv4 layer.</summary>
public interface IIpProtocolHandler
{
    /// <summary>IP protocol number (6 TCP, 17 UDP).</summary>
    byte Protocol { get; }

    /// <summary>
    /// Takes one received datagram's transport part (IP header already stripped) and the caller's
    /// reference on it. <paramref name="checksumVerified"/> is true when the device verified it.
    /// </summary>
    void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified);

    /// <summary>Runs due timers; returns how much work was done.</summary>
    int OnTimer(long nowMicroseconds);

    /// <summary>Next timer deadline in microseconds, or <see cref="long.MaxValue"/>.</summary>
    long NextDeadline { get; }
}
