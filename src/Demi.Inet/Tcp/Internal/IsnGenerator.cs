using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
/// where M is a 4-microsecond timer and F is a keyed hash (HMAC-SHA-256 here) with a per-layer random key.
/// Called once per connection, never per segment.
/// </summary>
internal sealed class IsnGenerator
{
    private readonly byte[] _key = new byte[32];

    public IsnGenerator() => RandomNumberGenerator.Fill(_key);

    public uint Next(long nowMicroseconds, ConnectionKey key)
    {
        Span<byte> tuple = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(tuple, key.LocalAddress);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[4..], key.LocalPort);
        BinaryPrimitives.WriteUInt32BigEndian(tuple[6..], key.RemoteAddress);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[10..], key.RemotePort);
        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(_key, tuple, hash);
        return (uint)(nowMicroseconds / 4) + BinaryPrimitives.ReadUInt32LittleEndian(hash);
    }
}
