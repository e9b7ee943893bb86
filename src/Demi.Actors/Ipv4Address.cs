using System.Buffers.Binary;
using System.Net;

namespace Demi;

/// <summary>An IPv4 address held in host byte order.</summary>
public readonly record struct Ipv4Address(uint Value) : ISpanFormattable
{
    public static readonly Ipv4Address Any = new(0);
    public static readonly Ipv4Address Broadcast = new(0xFFFFFFFF);
    public static readonly Ipv4Address Loopback = new(0x7F000001);

    public bool IsAny => Value == 0;
    public bool IsBroadcast => Value == 0xFFFFFFFF;
    public bool IsLoopback => (Value >> 24) == 127;
    public bool IsMulticast => (Value >> 28) == 0xE;

    /// <summary>The address in network byte order, as it sits in a <c>sockaddr_in</c> or a header.</summary>
    public uint NetworkOrder => BinaryPrimitives.ReverseEndianness(Value);

    public static Ipv4Address FromNetworkOrder(uint networkOrder) => new(BinaryPrimitives.ReverseEndianness(networkOrder));

    public static Ipv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public static Ipv4Address Parse(string text)
    {
        if (!TryParse(text, out var address))
            throw new FormatException($"'{text}' is not an IPv4 address (a.b.c.d).");
        return address;
    }

    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Address address)
    {
        address = default;
        uint value = 0;
        int parts = 0;
        foreach (var range in text.Split('.'))
        {
            var part = text[range];
            if (parts == 4 || part.Length is 0 or > 3 || !uint.TryParse(part, System.Globalization.NumberStyles.None, null, out var octet) || octet > 255)
                return false;
            value = (value << 8) | octet;
            parts++;
        }
        if (parts != 4)
            return false;
        address = new Ipv4Address(value);
        return true;
    }

    public static implicit operator Ipv4Address(IPAddress address)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new ArgumentException("Only IPv4 addresses are supported.", nameof(address));
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return Read(bytes);
    }

    public IPAddress ToIPAddress() => new(NetworkOrder);

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(provider, $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}", out charsWritten);
}
