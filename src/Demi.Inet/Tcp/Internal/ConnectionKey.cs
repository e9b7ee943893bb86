namespace Demi.Inet.Tcp.Internal;

/// <summary>A connection's 4-tuple, the key of the connection table (a struct, so lookups allocate nothing).</summary>
internal readonly struct ConnectionKey : IEquatable<ConnectionKey>
{
    public readonly uint LocalAddress;
    public readonly uint RemoteAddress;
    public readonly ushort LocalPort;
    public readonly ushort RemotePort;

    public ConnectionKey(uint localAddress, ushort localPort, uint remoteAddress, ushort remotePort)
    {
        LocalAddress = localAddress;
        LocalPort = localPort;
        RemoteAddress = remoteAddress;
        RemotePort = remotePort;
    }

    public bool Equals(ConnectionKey other)
        => LocalAddress == other.LocalAddress && RemoteAddress == other.RemoteAddress
           && LocalPort == other.LocalPort && RemotePort == other.RemotePort;

    public override bool Equals(object? obj) => obj is ConnectionKey other && Equals(other);

    public override int GetHashCode()
        => (int)(RemoteAddress * 0x9E3779B1u ^ LocalAddress ^ ((uint)RemotePort << 16 | LocalPort) * 0x85EBCA77u);
}
