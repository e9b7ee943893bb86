using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Demi;

/// <summary>Linux <c>struct sockaddr_in</c>, byte for byte (16 bytes; port and address in network order).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 16)]
public struct SockAddrIn
{
    /// <c>sizeof(struct sockaddr_in)</c>.
    public const int Size = 16;

    /// <summary>Address family (<see cref="SocketConstants.AF_INET"/>).</summary>
    public ushort Family;
    /// <summary>Port in network byte order.</summary>
    public ushort PortNetworkOrder;
    /// <summary>IPv4 address in network byte order.</summary>
    public uint AddressNetworkOrder;
    /// <c>sin_zero</c> padding.
    public ulong Zero;

    /// <summary>The address and port in host byte order.</summary>
    public readonly Ipv4Endpoint Endpoint
        => new(Ipv4Address.FromNetworkOrder(AddressNetworkOrder), BinaryPrimitives.ReverseEndianness(PortNetworkOrder));

    /// <summary>True when family, port and address are all zero (nothing was written).</summary>
    public readonly bool IsEmpty => Family == 0 && PortNetworkOrder == 0 && AddressNetworkOrder == 0;

    /// <summary>Builds an AF_INET <c>sockaddr_in</c> for <paramref name="endpoint"/>.</summary>
    public static SockAddrIn From(Ipv4Endpoint endpoint) => new()
    {
        Family = SocketConstants.AF_INET,
        PortNetworkOrder = BinaryPrimitives.ReverseEndianness(endpoint.Port),
        AddressNetworkOrder = endpoint.Address.NetworkOrder,
    };

    /// <summary>
    /// Validates a caller-supplied socket address the way the Demikernel man pages do: an empty span
    /// (a NULL pointer), a size other than <c>sizeof(struct sockaddr_in)</c>, or a family other than
    /// AF_INET is EINVAL.
    /// </summary>
    public static int TryRead(ReadOnlySpan<byte> sockaddr, out Ipv4Endpoint endpoint)
    {
        endpoint = default;
        if (sockaddr.Length != Size)
            return Errno.EINVAL;
        var addr = MemoryMarshal.Read<SockAddrIn>(sockaddr);
        if (addr.Family != SocketConstants.AF_INET)
            return Errno.EINVAL;
        endpoint = addr.Endpoint;
        return 0;
    }

    /// <summary>"a.b.c.d:port".</summary>
    public override readonly string ToString() => Endpoint.ToString();
}
