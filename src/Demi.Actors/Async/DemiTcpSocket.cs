namespace Demi.Async;

/// <summary>A TCP socket (connection or listener) with awaitable operations.</summary>
public sealed class DemiTcpSocket : DemiQueue
{
    private DemiTcpSocket(LibOS libOS, int qd)
        : base(libOS, qd)
    {
    }

    /// <summary>Creates a TCP socket on <paramref name="libOS"/>.</summary>
    public static DemiTcpSocket Create(LibOS libOS)
    {
        Check(libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        return new DemiTcpSocket(libOS, qd);
    }

    /// <summary>Wraps an existing TCP descriptor (for example one returned by an accept).</summary>
    public static DemiTcpSocket FromDescriptor(LibOS libOS, int qd) => new(libOS, qd);

    /// <summary>Binds to <paramref name="local"/>.</summary>
    public DemiTcpSocket Bind(Ipv4Endpoint local)
    {
        Check(LibOS.Bind(Qd, local));
        return this;
    }

    /// <summary>Starts listening.</summary>
    public DemiTcpSocket Listen(int backlog = 128)
    {
        Check(LibOS.Listen(Qd, backlog));
        return this;
    }

    /// <summary>The bound local address.</summary>
    public Ipv4Endpoint LocalEndPoint
    {
        get
        {
            Check(LibOS.GetSockName(Qd, out var local));
            return local;
        }
    }

    /// <summary>The connected peer.</summary>
    public Ipv4Endpoint RemoteEndPoint
    {
        get
        {
            Check(LibOS.GetPeerName(Qd, out var peer));
            return peer;
        }
    }

    /// <summary>Connects to <paramref name="remote"/>.</summary>
    public async ValueTask ConnectAsync(Ipv4Endpoint remote)
        => (await LibOS.ConnectAsync(Qd, remote).ConfigureAwait(false)).ThrowIfFailed();

    /// <summary>Accepts the next connection.</summary>
    public async ValueTask<DemiTcpSocket> AcceptAsync()
    {
        var result = (await LibOS.AcceptAsync(Qd).ConfigureAwait(false)).ThrowIfFailed();
        return new DemiTcpSocket(LibOS, result.AcceptedQd);
    }

    /// <summary>Sets TCP_NODELAY.</summary>
    public bool NoDelay
    {
        set => Check(LibOS.SetSockOpt(Qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, BitConverter.GetBytes(value ? 1 : 0)));
    }
}
