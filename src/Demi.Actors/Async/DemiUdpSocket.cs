namespace Demi.Async;

/// <summary>A UDP socket with awaitable operations.</summary>
public sealed class DemiUdpSocket : DemiQueue
{
    private DemiUdpSocket(LibOS libOS, int qd)
        : base(libOS, qd)
    {
    }

    /// <summary>Creates a UDP socket on <paramref name="libOS"/>.</summary>
    public static DemiUdpSocket Create(LibOS libOS)
    {
        Check(libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        return new DemiUdpSocket(libOS, qd);
    }

    /// <summary>Binds to <paramref name="local"/> (port 0 picks one).</summary>
    public DemiUdpSocket Bind(Ipv4Endpoint local)
    {
        Check(LibOS.Bind(Qd, local));
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

    /// <summary>Sends one datagram to <paramref name="destination"/>.</summary>
    public async ValueTask SendToAsync(Sga sga, Ipv4Endpoint destination)
        => (await LibOS.PushToAsync(Qd, sga, destination).ConfigureAwait(false)).ThrowIfFailed();

    /// <summary>Receives one datagram and its source address (the sga's <see cref="Sga.Address"/>).</summary>
    public async ValueTask<(Sga Data, Ipv4Endpoint From)> ReceiveFromAsync()
    {
        var sga = await PopAsync().ConfigureAwait(false);
        return (sga, sga.Address.Endpoint);
    }
}
