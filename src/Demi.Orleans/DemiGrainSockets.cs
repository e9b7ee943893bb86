using System.Runtime.CompilerServices;
using Demi.Async;
using Demi.Hosting;
using Orleans.Runtime;

namespace Demi.Orleans;

/// <summary>
/// Opens Demi sockets for the calling grain activation (inject it into a grain). Each socket belongs to
/// that activation and is closed when the activation deactivates.
/// </summary>
public sealed class DemiGrainSockets
{
    /// <summary>Default number of datagrams or chunks buffered per socket before drops (UDP) or backpressure (TCP).</summary>
    public const int DefaultCapacity = 4096;

    private readonly DemiRuntime _runtime;
    private readonly ConditionalWeakTable<IGrainContext, List<DemiGrainSocket>> _owned = new();

    /// <summary>Created by the silo's container.</summary>
    public DemiGrainSockets(DemiRuntime runtime, IGrainContextAccessor contexts)
    {
        _runtime = runtime;
        Contexts = contexts;
    }

    internal IGrainContextAccessor Contexts { get; }

    /// <summary>The silo's libOS.</summary>
    public LibOS LibOS => _runtime.LibOS;

    /// <summary>Opens a UDP socket bound to <paramref name="local"/> for the calling activation.</summary>
    public DemiGrainUdpSocket OpenUdp(Ipv4Endpoint local, int capacity = DefaultCapacity, int prefetch = 16)
    {
        var owner = CurrentActivation();
        var udp = DemiUdpSocket.Create(_runtime.LibOS);
        try
        {
            udp.Bind(local);
            return Adopt(owner, new DemiGrainUdpSocket(udp, owner, Contexts, capacity, prefetch));
        }
        catch
        {
            udp.Dispose();
            throw;
        }
    }

    /// <summary>Opens a TCP listener on <paramref name="local"/> for the calling activation.</summary>
    public DemiGrainTcpListener Listen(Ipv4Endpoint local, int backlog = 128, int capacity = DefaultCapacity)
    {
        var owner = CurrentActivation();
        var tcp = DemiTcpSocket.Create(_runtime.LibOS);
        try
        {
            tcp.Bind(local).Listen(backlog);
            return Adopt(owner, new DemiGrainTcpListener(tcp, owner, Contexts, this, capacity));
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Connects a TCP socket to <paramref name="remote"/> for the calling activation.</summary>
    public async Task<DemiGrainTcpConnection> ConnectAsync(Ipv4Endpoint remote, int capacity = DefaultCapacity, CancellationToken cancellationToken = default)
    {
        var owner = CurrentActivation();
        var tcp = DemiTcpSocket.Create(_runtime.LibOS);
        try
        {
            await tcp.ConnectAsync(remote, cancellationToken);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        return Adopt(owner, new DemiGrainTcpConnection(tcp, owner, Contexts, capacity));
    }

    /// <summary>Descriptors the activation holds open.</summary>
    public int OpenBy(IGrainContext activation)
    {
        if (!_owned.TryGetValue(activation, out var list))
            return 0;
        lock (list)
            return list.Count(s => !s.IsClosed);
    }

    internal T Adopt<T>(IGrainContext owner, T socket) where T : DemiGrainSocket
    {
        bool first = false;
        var list = _owned.GetValue(owner, _ => { first = true; return new List<DemiGrainSocket>(); });
        lock (list)
            list.Add(socket);
        if (first)
        {
            // Close the activation's descriptors when it deactivates (the last grain lifecycle stage to stop).
            // Orleans stops only lifecycle observers that were there when the activation started, so a
            // socket opened later is closed when the activation reports it has deactivated: after its
            // pushed data has left (bounded by DrainTimeout; a stopping silo's drain waits for it too).
            owner.Deactivated.ContinueWith(static (_, state) =>
            {
                var (sockets, activation) = ((DemiGrainSockets, IGrainContext))state!;
                return sockets.CloseAllAsync(activation);
            }, (this, owner), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return socket;
    }

    /// <summary>
    /// Lets the activation's pushed data leave (bounded by <see cref="DemiOptions.DrainTimeout"/> and
    /// <paramref name="cancellationToken"/>), then closes its descriptors. Done for you on deactivation.
    /// </summary>
    public async Task CloseAllAsync(IGrainContext activation, CancellationToken cancellationToken = default)
    {
        if (!_owned.TryGetValue(activation, out var list))
            return;
        DemiGrainSocket[] sockets;
        lock (list)
            sockets = list.ToArray();
        if (_runtime.LibOSIfRunning is { } libOS)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_runtime.Options.DrainTimeout);
            try
            {
                while (sockets.Any(s => !s.IsClosed && libOS.HasUnsentData(s.Qd)))
                    await Task.Delay(5, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Out of time: close anyway (what is left is cancelled and the pushers see ECANCELED).
            }
        }
        CloseAll(activation);
    }

    /// <summary>Closes every descriptor of <paramref name="activation"/> at once, without waiting for unsent data.</summary>
    public void CloseAll(IGrainContext activation)
    {
        if (!_owned.TryGetValue(activation, out var list))
            return;
        DemiGrainSocket[] sockets;
        lock (list)
        {
            sockets = list.ToArray();
            list.Clear();
        }
        foreach (var socket in sockets)
            socket.Dispose();
    }

    private IGrainContext CurrentActivation()
        => Contexts.GrainContext is { } context && context.GrainInstance is not null
            ? context
            : throw new InvalidOperationException("Demi grain sockets are opened from inside a grain activation (its methods or OnActivateAsync).");
}
