using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Demi;

/// <summary>Linux <c>struct sockaddr_in</c>, byte for byte (16 bytes; port and address in network order).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 16)]
public struct SockAddrIn
{
    public const int Size = 16;

    public ushort Family;
    public ushort PortNetworkOrder;
    public uint AddressNetworkOrder;
    public ulong Zero;

    public readonly Ipv4Endpoint Endpoint
        => new(Ipv4Address.FromNetworkOrder(AddressNetworkOrder), BinaryPrimitives.ReverseEndianness(PortNetworkOrder));

    public readonly bool IsEmpty => Family == 0 && PortNetworkOrder == 0 && AddressNetworkOrder == 0;

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

    public override readonly string ToString() => Endpoint.ToString();
}
