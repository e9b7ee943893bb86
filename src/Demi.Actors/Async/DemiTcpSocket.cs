using System.Runtime.CompilerServices;

namespace Demi.Async;

/// <summary>A TCP socket (connection or listener) with awaitable, cancellable operations.</summary>
public sealed class DemiTcpSocket : DemiQueue
{
    private readonly OrphanedOperations _orphanedAccepts = new();
    private Ipv4Endpoint? _local;
    private Ipv4Endpoint? _remote;

    private DemiTcpSocket(LibOS libOS, int qd, Ipv4Endpoint? remote = null)
        : base(libOS, qd)
    {
        _remote = remote;
    }

    /// <summary>Creates a TCP socket on <paramref name="libOS"/>.</summary>
    public static DemiTcpSocket Create(LibOS libOS)
    {
        Check(libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0), nameof(Create), "tcp");
        return new DemiTcpSocket(libOS, qd);
    }

    /// <summary>Wraps an existing TCP descriptor (for example one returned by an accept).</summary>
    public static DemiTcpSocket FromDescriptor(LibOS libOS, int qd) => new(libOS, qd);

    /// <summary>Binds to <paramref name="local"/> (port 0 picks one).</summary>
    public DemiTcpSocket Bind(Ipv4Endpoint local)
    {
        _local = local;
        Check(LibOS.Bind(Qd, local), nameof(Bind));
        if (LibOS.GetSockName(Qd, out var bound) == 0)
            _local = bound;
        return this;
    }

    /// <summary>Starts listening.</summary>
    public DemiTcpSocket Listen(int backlog = 128)
    {
        Check(LibOS.Listen(Qd, backlog), nameof(Listen));
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

    /// <summary>The connected peer.</summary>
    public Ipv4Endpoint RemoteEndPoint
    {
        get
        {
            Check(LibOS.GetPeerName(Qd, out var peer), nameof(RemoteEndPoint));
            return peer;
        }
    }

    /// <summary>Connects to <paramref name="remote"/>. Cancelling closes the socket (as .NET's <c>Socket.ConnectAsync</c> does).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _remote = remote;
        QResult result;
        try
        {
            result = await AwaitAsync(LibOS.ConnectAsync(Qd, remote), null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Dispose(); // completes the pending connect with ECANCELED and frees its token
            throw;
        }
        Check(result, nameof(ConnectAsync));
        if (LibOS.GetSockName(Qd, out var local) == 0)
            _local = local;
    }

    /// <summary>
    /// Accepts the next connection. A connection accepted for a cancelled call is returned by the next
    /// call (or closed on dispose), so none is lost.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<DemiTcpSocket> AcceptAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var orphan = _orphanedAccepts.TryTake();
        var result = orphan is not null
            ? await AwaitOrphanAsync(orphan, _orphanedAccepts, cancellationToken).ConfigureAwait(false)
            : await AwaitAsync(LibOS.AcceptAsync(Qd), _orphanedAccepts, cancellationToken).ConfigureAwait(false);
        Check(result, nameof(AcceptAsync));
        return new DemiTcpSocket(LibOS, result.AcceptedQd, result.AcceptedAddress.Endpoint) { _local = _local };
    }

    /// <summary>Sets TCP_NODELAY.</summary>
    public bool NoDelay
    {
        set => Check(LibOS.SetSockOpt(Qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, BitConverter.GetBytes(value ? 1 : 0)), nameof(NoDelay));
    }

    private protected override void Release(in QResult result)
    {
        if (result.Opcode == Opcode.Accept)
            LibOS.Close(result.AcceptedQd);
        else
            base.Release(result);
    }

    private protected override void OnDisposed()
    {
        foreach (var orphan in _orphanedAccepts.Close())
            ReleaseWhenDone(orphan);
    }

    /// <inheritdoc />
    protected override string DescribeEndpoint()
        => _remote is { } remote ? $"tcp {Format(_local)} -> {remote}" : $"tcp {Format(_local)}";

    private static string Format(Ipv4Endpoint? endpoint) => endpoint?.ToString() ?? "unbound";
}
