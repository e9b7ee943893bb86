using System.Net;

namespace Demi;

/// <summary>An IPv4 address and port (host byte order), the C# face of <c>sockaddr_in</c>.</summary>
public readonly record struct Ipv4Endpoint(Ipv4Address Address, ushort Port)
{
    /// <summary>Builds an endpoint from a dotted-quad address string and a port.</summary>
    public Ipv4Endpoint(string address, ushort port) : this(Ipv4Address.Parse(address), port) { }

    /// <summary>The endpoint as a Linux <c>sockaddr_in</c>.</summary>
    public SockAddrIn ToSockAddr() => SockAddrIn.From(this);

    /// <summary>The endpoint as an <see cref="IPEndPoint"/>.</summary>
    public IPEndPoint ToIPEndPoint() => new(Address.ToIPAddress(), Port);

    /// <summary>Converts an IPv4 <see cref="IPEndPoint"/>; throws <see cref="ArgumentException"/> for other families.</summary>
    public static Ipv4Endpoint From(IPEndPoint endPoint) => new(endPoint.Address, (ushort)endPoint.Port);

    /// <summary>Parses "a.b.c.d:port".</summary>
    public static Ipv4Endpoint Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon < 0 || !Ipv4Address.TryParse(text.AsSpan(0, colon), out var address) || !ushort.TryParse(text.AsSpan(colon + 1), out var port))
            throw new FormatException($"'{text}' is not an IPv4 endpoint (a.b.c.d:port).");
        return new Ipv4Endpoint(address, port);
    }

    /// <summary>"a.b.c.d:port".</summary>
    public override string ToString() => $"{Address}:{Port}";
}
