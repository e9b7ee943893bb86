using System.Net;

namespace Demi;

/// <summary>An IPv4 address and port (host byte order), the C# face of <c>sockaddr_in</c>.</summary>
public readonly record struct Ipv4Endpoint(Ipv4Address Address, ushort Port)
{
    public Ipv4Endpoint(string address, ushort port) : this(Ipv4Address.Parse(address), port) { }

    public SockAddrIn ToSockAddr() => SockAddrIn.From(this);

    public IPEndPoint ToIPEndPoint() => new(Address.ToIPAddress(), Port);

    public static Ipv4Endpoint From(IPEndPoint endPoint) => new(endPoint.Address, (ushort)endPoint.Port);

    /// <summary>Parses "a.b.c.d:port".</summary>
    public static Ipv4Endpoint Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon < 0 || !Ipv4Address.TryParse(text.AsSpan(0, colon), out var address) || !ushort.TryParse(text.AsSpan(colon + 1), out var port))
            throw new FormatException($"'{text}' is not an IPv4 endpoint (a.b.c.d:port).");
        return new Ipv4Endpoint(address, port);
    }

    public override string ToString() => $"{Address}:{Port}";
}
