using System.Buffers.Binary;

namespace Demi.Inet.Headers;

/// <summary>An ICMPv4 echo-style header (type, code, checksum, identifier, sequence), 8 bytes.</summary>
public readonly record struct IcmpHeader(byte Type, byte Code, ushort Checksum, ushort Identifier, ushort Sequence)
{
    /// <summary>Header size in bytes.</summary>
    public const int Length = 8;

    /// <summary>Echo reply type.</summary>
    public const byte TypeEchoReply = 0;

    /// <summary>Destination unreachable type (code 3: port unreachable).</summary>
    public const byte TypeDestinationUnreachable = 3;

    /// <summary>Port unreachable code of <see cref="TypeDestinationUnreachable"/>.</summary>
    public const byte CodePortUnreachable = 3;

    /// <summary>Echo request type.</summary>
    public const byte TypeEchoRequest = 8;

    /// <summary>Time exceeded (RFC 792): quotes the datagram that expired.</summary>
    public const byte TypeTimeExceeded = 11;

    /// <summary>Parameter problem (RFC 792): quotes the datagram it concerns.</summary>
    public const byte TypeParameterProblem = 12;

    /// <summary>Reads the header of an ICMP message and verifies the checksum over the whole message.</summary>
    public static DropReason TryRead(ReadOnlySpan<byte> message, out IcmpHeader header)
    {
        header = default;
        if (message.Length < Length)
            return DropReason.IcmpTruncated;
        header = new IcmpHeader(message[0], message[1], BinaryPrimitives.ReadUInt16BigEndian(message[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[4..]), BinaryPrimitives.ReadUInt16BigEndian(message[6..]));
        // A correct message sums to 0xFFFF including its checksum field.
        return InternetChecksum.Fold(InternetChecksum.Add(0, message)) == 0xFFFF ? DropReason.None : DropReason.IcmpBadChecksum;
    }

    /// <summary>
    /// Writes the header at the start of <paramref name="message"/> (header followed by its data) and
    /// fills in the checksum over the whole message; <see cref="Checksum"/> is ignored.
    /// </summary>
    public void WriteWithChecksum(Span<byte> message)
    {
        _ = message[Length - 1];
        message[0] = Type;
        message[1] = Code;
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], Sequence);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], InternetChecksum.Compute(message));
    }
}
