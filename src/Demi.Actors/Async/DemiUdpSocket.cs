using System.Runtime.CompilerServices;

namespace Demi.Async;

/// <summary>A UDP socket with awaitable, cancellable operations.</summary>
public sealed class DemiUdpSocket : DemiQueue
{
    private Ipv4Endpoint? _local;

    private DemiUdpSocket(LibOS libOS, int qd)
        : base(libOS, qd)
    {
    }

    /// <summary>Creates a UDP socket on <paramref name="libOS"/>.</summary>
    public static DemiUdpSocket Create(LibOS libOS)
    {
        Check(libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0), nameof(Create), "udp");
        return new DemiUdpSocket(libOS, qd);
    }

    /// <summary>Binds to <paramref name="local"/> (port 0 picks one).</summary>
    public DemiUdpSocket Bind(Ipv4Endpoint local)
    {
        _local = local;
        Check(LibOS.Bind(Qd, local), nameof(Bind));
        if (LibOS.GetSockName(Qd, out var bound) == 0)
            _local = bound;
        return this;
    }

    /// <summary>The bound local address.</summary>
    public Ipv4Endpoint LocalEndPoint
    {
        get
        {
            Check(LibOS.GetSockName(Qd, out var local), nameof(LocalEndPoint));
            return local;
        }
    }

    /// <summary>Sends one datagram to <paramref name="destination"/> (the caller still frees <paramref name="sga"/>).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendToAsync(Sga sga, Ipv4Endpoint destination, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = await AwaitAsync(LibOS.PushToAsync(Qd, sga, destination), null, cancellationToken).ConfigureAwait(false);
        if (result.Failed)
            throw new DemiException(result.Error, nameof(SendToAsync), Qd, $"{DescribeEndpoint()} -> {destination}");
    }

    /// <summary>Receives one datagram and its source address (the sga's <see cref="Sga.Address"/>); the sga is the caller's to free.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(Sga Data, Ipv4Endpoint From)> ReceiveFromAsync(CancellationToken cancellationToken = default)
    {
        var sga = Check(await PopResultAsync(cancellationToken).ConfigureAwait(false), nameof(ReceiveFromAsync)).Sga;
        return (sga, sga.Address.Endpoint);
    }

    /// <inheritdoc />
    protected override string DescribeEndpoint() => $"udp {_local?.ToString() ?? "unbound"}";
}
