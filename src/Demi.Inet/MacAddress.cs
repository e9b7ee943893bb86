using System.Buffers.Binary;
using System.Globalization;

namespace Demi.Inet;

/// <summary>A 48-bit Ethernet MAC address.</summary>
public readonly record struct MacAddress(ulong Value)
{
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);
    public static readonly MacAddress Zero = new(0);

    public bool IsBroadcast => Value == Broadcast.Value;

    /// <summary>Group bit (multicast or broadcast).</summary>
    public bool IsMulticast => ((Value >> 40) & 1) != 0;

    public static MacAddress Read(ReadOnlySpan<byte> source)
        => new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Value);
    }

    public static MacAddress Parse(string text)
    {
        var parts = text.Split(':', '-');
        if (parts.Length != 6)
            throw new FormatException($"'{text}' is not a MAC address (aa:bb:cc:dd:ee:ff).");
        ulong value = 0;
        foreach (var part in parts)
        {
            if (part.Length != 2 || !byte.TryParse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
                throw new FormatException($"'{text}' is not a MAC address (aa:bb:cc:dd:ee:ff).");
            value = (value << 8) | b;
        }
        return new MacAddress(value);
    }

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{(Value >> 40) & 0xFF:x2}:{(Value >> 32) & 0xFF:x2}:{(Value >> 24) & 0xFF:x2}:{(Value >> 16) & 0xFF:x2}:{(Value >> 8) & 0xFF:x2}:{Value & 0xFF:x2}");
}
