namespace Demi;

/// <summary>Linux socket constants accepted by <c>LibOS.Socket</c>, SetSockOpt and GetSockOpt.</summary>
public static class SocketConstants
{
    /// <summary>IPv4 address family.</summary>
    public const int AF_INET = 2;
    /// <summary>IPv6 address family (not supported by Demi sockets).</summary>
    public const int AF_INET6 = 10;
    /// <summary>Stream (TCP) socket type.</summary>
    public const int SOCK_STREAM = 1;
    /// <summary>Datagram (UDP) socket type.</summary>
    public const int SOCK_DGRAM = 2;
    /// <summary>Raw socket type.</summary>
    public const int SOCK_RAW = 3;
    /// <summary>Default protocol for the socket type.</summary>
    public const int IPPROTO_IP = 0;
    /// <summary>TCP protocol number; also the option level of TCP options.</summary>
    public const int IPPROTO_TCP = 6;
    /// <summary>UDP protocol number.</summary>
    public const int IPPROTO_UDP = 17;
    /// <summary>Option level of generic socket options.</summary>
    public const int SOL_SOCKET = 1;
    /// <summary>Allow reusing a local address (for example one still in TIME_WAIT).</summary>
    public const int SO_REUSEADDR = 2;
    /// <summary>
    /// Let several UDP sockets bind one address and port, each receiving a share of the datagrams (one
    /// per shard serves a port on every core; Linux's SO_REUSEPORT).
    /// </summary>
    public const int SO_REUSEPORT = 15;
    /// <summary>Read and clear the socket's pending error.</summary>
    public const int SO_ERROR = 4;
    /// <summary>Enable TCP keep-alive probes.</summary>
    public const int SO_KEEPALIVE = 9;
    /// <summary>Linger on close while unsent data remains.</summary>
    public const int SO_LINGER = 13;
    /// <summary>Disable Nagle's algorithm.</summary>
    public const int TCP_NODELAY = 1;
    /// <summary>Largest listen backlog (Linux's default <c>somaxconn</c>).</summary>
    public const int SOMAXCONN = 4096;

    /// <summary>The option levels Demi knows: an unknown level is ENOTSUP, an unknown option at a known level ENOPROTOOPT (the man pages' split).</summary>
    internal static bool IsSupportedOptionLevel(int level) => level is SOL_SOCKET or IPPROTO_TCP;
}
