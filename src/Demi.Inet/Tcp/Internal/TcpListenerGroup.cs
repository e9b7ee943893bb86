using System.Diagnostics;
using Demi.Inet.Internal;
using Demi.Runtime;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// A TCP listener that accepts on every shard of the libOS. The listening descriptor's actor lives on
/// one shard (the owner); every other shard runs a replica listener on the same endpoint in its own
/// <see cref="TcpLayer"/>. Steering spreads the port's frames over the shards by flow hash, so a
/// connection is made, and lives, on the shard its SYN went to; a replica hands each established
/// connection (already a descriptor of its shard) to the owner through the owner's inbox, where
/// pending accepts take them. Handed-over connections not yet accepted count against the backlog;
/// a replica that reaches it stops taking connections from its accept queue (which then fills and
/// overflows as on one shard) until the owner takes one. Closing the listener closes every replica.
/// </summary>
internal sealed class TcpListenerGroup
{
    // A control call: starting the replicas takes microseconds, unless a shard is stuck.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpSocketActor _owner;
    private readonly InetShardDriver _ownerDriver;
    private readonly InetShardDriver[] _drivers;
    private readonly Replica?[] _replicas;
    private readonly TcpSocket _primary;
    private readonly Ipv4Endpoint _local;
    private readonly int _backlog;
    private int _started;
    private int _failed;
    private int _handedOver;
    private volatile bool _closed;

    private TcpListenerGroup(TcpSocketActor owner, InetShardDriver[] drivers, TcpSocket primary, int backlog)
    {
        _owner = owner;
        _drivers = drivers;
        _ownerDriver = drivers[owner.Shard.Id];
        _replicas = new Replica?[drivers.Length];
        _primary = primary;
        _local = primary.LocalEndpoint;
        _backlog = backlog;
    }

    /// <summary>The shards' drivers when every shard runs the stack with TCP (else null: listen on one shard).</summary>
    public static InetShardDriver[]? DriversOf(LibOS libOS)
    {
        var shards = libOS.Shards;
        if (shards.Count < 2)
            return null;
        var drivers = new InetShardDriver[shards.Count];
        for (int i = 0; i < drivers.Length; i++)
        {
            if (shards[i].Driver is not InetShardDriver { TransportHandler: TcpLayer } driver)
                return null;
            drivers[i] = driver;
        }
        return drivers;
    }

    /// <summary>
    /// Starts replicas of <paramref name="primary"/> (listening on the owner's shard) on every other
    /// shard and waits for them, running the owner's own inbox meanwhile (two shards starting
    /// listeners at once must not wait for each other). Owner's shard thread. 0, or ETIMEDOUT / the
    /// errno a replica failed with (then the replicas started are closed again).
    /// </summary>
    public static int Start(TcpSocketActor owner, InetShardDriver[] drivers, TcpSocket primary, int backlog, out TcpListenerGroup? group)
    {
        Debug.Assert(owner.Shard.IsCurrentThread);
        var g = new TcpListenerGroup(owner, drivers, primary, backlog);
        group = null;
        for (int k = 0; k < drivers.Length; k++)
        {
            if (k == owner.Shard.Id)
                continue;
            int shard = k;
            drivers[k].Post(() => g.StartReplica(shard));
        }
        int others = drivers.Length - 1;
        long deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        var spinner = new SpinWait();
        while (Volatile.Read(ref g._started) + Volatile.Read(ref g._failed) < others)
        {
            if (g._ownerDriver.RunInbox() == 0)
                spinner.SpinOnce(sleep1Threshold: -1);
            if (Stopwatch.GetTimestamp() > deadline)
            {
                g.Close();
                return Errno.ETIMEDOUT;
            }
        }
        if (Volatile.Read(ref g._failed) != 0)
        {
            g.Close();
            return Errno.EADDRINUSE;
        }
        group = g;
        return 0;
    }

    /// <summary>On shard <paramref name="shard"/>: a replica listener there.</summary>
    private void StartReplica(int shard)
    {
        var driver = _drivers[shard];
        var layer = (TcpLayer)driver.TransportHandler!;
        var socket = layer.CreateSocket();
        var replica = new Replica(this, driver, socket);
        socket.Observer = replica;
        if (socket.ListenReplica(_primary, _local, _backlog) != 0)
        {
            socket.Close();
            Interlocked.Increment(ref _failed);
            return;
        }
        Volatile.Write(ref _replicas[shard], replica);
        Interlocked.Increment(ref _started);
        if (_closed)
            replica.Close(); // the listener closed while this replica was starting
    }

    /// <summary>Owner's shard: a connection handed over by a replica, or closed if the listener is gone.</summary>
    private void OnHandedOver(int qd, Ipv4Endpoint peer)
    {
        if (_closed || _owner.IsClosed)
        {
            Interlocked.Decrement(ref _handedOver);
            _owner.LibOS.Close(qd);
            return;
        }
        _owner.OnConnectionHandedOver(qd, peer);
    }

    /// <summary>Owner's shard: a handed-over connection was accepted; replicas blocked on the backlog resume.</summary>
    public void Taken()
    {
        if (Interlocked.Decrement(ref _handedOver) + 1 < _backlog)
            return;
        for (int k = 0; k < _replicas.Length; k++)
        {
            if (Volatile.Read(ref _replicas[k]) is { } replica)
                _drivers[k].Post(replica.Resume);
        }
    }

    /// <summary>Closes every replica (posted to their shards; owner's shard or any thread).</summary>
    public void Close()
    {
        _closed = true;
        for (int k = 0; k < _replicas.Length; k++)
        {
            if (Volatile.Read(ref _replicas[k]) is { } replica)
                _drivers[k].Post(replica.Close);
        }
    }

    /// <summary>Connections handed over and not yet accepted.</summary>
    public int HandedOver => Volatile.Read(ref _handedOver);

    /// <summary>A listener on a shard other than the owner's, on the owner's behalf. Its shard's thread only.</summary>
    private sealed class Replica(TcpListenerGroup group, InetShardDriver driver, TcpSocket listener) : ITcpSocketObserver
    {
        private bool _closed;

        public void OnTcpEvents(TcpSocket socket, TcpEvents events)
        {
            // Children not yet accepted inherit this observer: only the listener's own events matter.
            if (ReferenceEquals(socket, listener) && (events & TcpEvents.Accept) != 0)
                Drain();
        }

        public void Resume() => Drain();

        private void Drain()
        {
            var shard = driver.Shard;
            while (!_closed && !group._closed && Volatile.Read(ref group._handedOver) < group._backlog)
            {
                if (listener.Accept(out var connection) != 0)
                    return;
                // The connection stays on this shard: its TCB lives in this shard's layer.
                var actor = new TcpSocketActor(shard, connection);
                int qd = shard.LibOS.RegisterAccepted(actor);
                if (qd < 0)
                {
                    connection!.Abort();
                    connection.Close();
                    continue;
                }
                Interlocked.Increment(ref group._handedOver);
                var peer = connection!.RemoteEndpoint;
                group._ownerDriver.Post(() => group.OnHandedOver(qd, peer));
            }
        }

        public void Close()
        {
            if (_closed)
                return;
            _closed = true;
            listener.Observer = null;
            listener.Close(); // resets the connections it had not handed over, as a closing listener does
        }
    }
}
