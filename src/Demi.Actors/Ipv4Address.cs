using System.Buffers.Binary;
using System.Net;

namespace Demi;

/// <summary>An IPv4 address held in host byte order.</summary>
public readonly record struct Ipv4Address(uint Value) : ISpanFormattable
{
    /// <summary>0.0.0.0, the wildcard address.</summary>
    public static readonly Ipv4Address Any = new(0);
    /// <summary>255.255.255.255, the limited broadcast address.</summary>
    public static readonly Ipv4Address Broadcast = new(0xFFFFFFFF);
    /// <summary>127.0.0.1.</summary>
    public static readonly Ipv4Address Loopback = new(0x7F000001);

    /// <summary>True for 0.0.0.0.</summary>
    public bool IsAny => Value == 0;
    /// <summary>True for 255.255.255.255.</summary>
    public bool IsBroadcast => Value == 0xFFFFFFFF;
    /// <summary>True for 127.0.0.0/8.</summary>
    public bool IsLoopback => (Value >> 24) == 127;
    /// <summary>True for 224.0.0.0/4 (class D).</summary>
    public bool IsMulticast => (Value >> 28) == 0xE;

    /// <summary>The address in network byte order, as it sits in a <c>sockaddr_in</c> or a header.</summary>
    public uint NetworkOrder => BinaryPrimitives.ReverseEndianness(Value);

    /// <summary>Builds an address from a value in network byte order.</summary>
    public static Ipv4Address FromNetworkOrder(uint networkOrder) => new(BinaryPrimitives.ReverseEndianness(networkOrder));

    /// <summary>Reads an address from the first 4 bytes of <paramref name="source"/> (network order).</summary>
    public static Ipv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    /// <summary>Writes the address to the first 4 bytes of <paramref name="destination"/> (network order).</summary>
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    /// <summary>Parses dotted-quad "a.b.c.d"; throws <see cref="FormatException"/> otherwise.</summary>
    public static Ipv4Address Parse(string text)
    {
        if (!TryParse(text, out var address))
            throw new FormatException($"'{text}' is not an IPv4 address (a.b.c.d).");
        return address;
    }

    /// <summary>Parses dotted-quad "a.b.c.d" (each part 0-255, at most 3 digits); false when malformed.</summary>
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

    /// <summary>Converts an IPv4 <see cref="IPAddress"/>; throws <see cref="ArgumentException"/> for other families.</summary>
    public static implicit operator Ipv4Address(IPAddress address)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new ArgumentException("Only IPv4 addresses are supported.", nameof(address));
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return Read(bytes);
    }

    /// <summary>The same address as an <see cref="IPAddress"/>.</summary>
    public IPAddress ToIPAddress() => new(NetworkOrder);

    /// <summary>Dotted-quad form "a.b.c.d".</summary>
    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";

    /// <summary>Dotted-quad form; <paramref name="format"/> and <paramref name="formatProvider"/> are ignored.</summary>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>Writes the dotted-quad form into <paramref name="destination"/>; false when it does not fit.</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(provider, $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}", out charsWritten);
}
