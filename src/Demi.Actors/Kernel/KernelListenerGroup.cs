using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>
/// A kernel TCP listener on every shard: the listening descriptor's socket lives on one shard (the
/// owner), and every other shard has its own SO_REUSEPORT socket on the same endpoint in its epoll
/// set, so the kernel spreads incoming connections over the shards by flow hash and each connection
/// lives on the shard whose socket accepted it. A replica hands each accepted connection (already a
/// descriptor of its shard) to the owner, where pending accepts take them; handed-over connections
/// not yet accepted count against the backlog (beyond it a replica leaves connections in its kernel
/// accept queue). Closing the listener closes every replica (connections in their kernel queues are
/// reset, as when a listening socket closes).
/// </summary>
internal sealed unsafe class KernelListenerGroup
{
    private readonly KernelTcpSocket _owner;
    private readonly Replica?[] _replicas;
    private readonly SockAddrIn _local;
    private readonly int _backlog;
    private int _handedOver;
    private volatile bool _closed;

    private KernelListenerGroup(KernelTcpSocket owner, SockAddrIn local, int backlog, int shards)
    {
        _owner = owner;
        _local = local;
        _backlog = backlog;
        _replicas = new Replica?[shards];
    }

    /// <summary>A socket set up to share <paramref name="local"/> with the group (SO_REUSEADDR, SO_REUSEPORT), bound; -1 and errno on failure.</summary>
    public static int OpenReusePort(in SockAddrIn local, out int errno)
    {
        errno = 0;
        int fd = Libc.socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            errno = Libc.LastErrno;
            return -1;
        }
        int one = 1;
        var addr = local;
        if (Libc.setsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR, &one, sizeof(int)) != 0
            || Libc.setsockopt(fd, SocketConstants.SOL_SOCKET, Libc.SO_REUSEPORT, &one, sizeof(int)) != 0
            || Libc.bind(fd, &addr, SockAddrIn.Size) != 0)
        {
            errno = Libc.LastErrno;
            Libc.close(fd);
            return -1;
        }
        return fd;
    }

    /// <summary>Starts replicas on every shard but the owner's (posted: they listen a moment after this returns). Owner's shard thread.</summary>
    public static KernelListenerGroup Start(KernelTcpSocket owner, in SockAddrIn local, int backlog)
    {
        var shards = owner.LibOS.Shards;
        var group = new KernelListenerGroup(owner, local, backlog, shards.Count);
        for (int k = 0; k < shards.Count; k++)
        {
            if (k == owner.Shard.Id)
                continue;
            var shard = shards[k];
            shard.InvokeOrPost(() =>
            {
                group.StartReplica(shard);
                return 0;
            });
        }
        return group;
    }

    private void StartReplica(Shard shard)
    {
        if (_closed)
            return;
        int fd = OpenReusePort(_local, out int errno);
        if (fd < 0 || Libc.listen(fd, _backlog) != 0)
        {
            if (fd >= 0)
            {
                errno = Libc.LastErrno;
                Libc.close(fd);
            }
            shard.LibOS.ReportShardFault(shard, new DemiException(errno, $"Shard {shard.Id} cannot listen on {_local.Endpoint}: {Errno.Name(errno)}"));
            return;
        }
        var replica = new Replica(this, shard, fd);
        replica.Registration = shard.RegisterFd(fd, Libc.EPOLLIN | Libc.EPOLLET, replica);
        Volatile.Write(ref _replicas[shard.Id], replica);
        replica.Drain(); // connections may already wait
    }

    /// <summary>Owner's shard: a replica's connection, or closed again when the listener is gone.</summary>
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

    /// <summary>Owner's shard: a handed-over connection was accepted; replicas held back by the backlog resume.</summary>
    public void Taken()
    {
        if (Interlocked.Decrement(ref _handedOver) + 1 < _backlog)
            return;
        foreach (var replica in _replicas)
            replica?.Shard.InvokeOrPost(replica.Resume);
    }

    /// <summary>Closes every replica (posted to their shards).</summary>
    public void Close()
    {
        _closed = true;
        foreach (var replica in _replicas)
            replica?.Shard.InvokeOrPost(replica.Close);
    }

    private sealed class Replica(KernelListenerGroup group, Shard shard, int fd) : IEpollHandler
    {
        private int _fd = fd;

        public Shard Shard { get; } = shard;

        public int Registration { get; set; } = -1;

        public void OnReady(uint events) => Drain();

        public int Resume()
        {
            Drain();
            return 0;
        }

        public void Drain()
        {
            while (_fd >= 0 && !group._closed && Volatile.Read(ref group._handedOver) < group._backlog)
            {
                SockAddrIn peer;
                uint len = SockAddrIn.Size;
                int connection = Libc.accept4(_fd, &peer, &len, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
                if (connection < 0)
                    return; // EAGAIN (the next edge brings more), or an error the next accept reports again
                // The connection lives on the shard that accepted it.
                var actor = new KernelTcpSocket(Shard, connection, connected: true);
                int qd = Shard.LibOS.RegisterAccepted(actor);
                if (qd < 0)
                {
                    Libc.close(connection);
                    continue;
                }
                Interlocked.Increment(ref group._handedOver);
                var endpoint = peer.Endpoint;
                group._owner.Shard.InvokeOrPost(() =>
                {
                    group.OnHandedOver(qd, endpoint);
                    return 0;
                });
            }
        }

        public int Close()
        {
            if (_fd < 0)
                return 0;
            if (Registration >= 0)
                Shard.UnregisterFd(Registration, _fd);
            Libc.close(_fd);
            _fd = -1;
            return 0;
        }
    }
}
