using Demi.Buffers;
using Demi.Internal.Native;

namespace Demi.Inet.Nic;

/// <summary>
/// Several NIC queues served by one shard, as one <see cref="INicQueue"/>: when a device has more
/// queues than the libOS has cores, each shard drains several (receiving from each in turn, so none
/// starves) and transmits on the first. The queues must share one pool. <see cref="WaitFd"/> is an
/// epoll set of the queues' wait fds, so a parked shard wakes for any of them. Driven by one thread.
/// </summary>
public sealed unsafe class CombinedNicQueue : INicQueue
{
    private readonly INicQueue[] _queues;
    private readonly int _epollFd = -1;
    private int _next;
    private int _disposed;

    /// <summary>Combines <paramref name="queues"/> (one pool, the first's MAC address); the combination owns and disposes them.</summary>
    public CombinedNicQueue(IReadOnlyList<INicQueue> queues)
    {
        ArgumentNullException.ThrowIfNull(queues);
        if (queues.Count == 0)
            throw new ArgumentException("At least one NIC queue is needed.", nameof(queues));
        _queues = queues.ToArray();
        foreach (var q in _queues)
        {
            if (!ReferenceEquals(q.Pool, _queues[0].Pool))
                throw new ArgumentException("Combined queues must share one buffer pool.", nameof(queues));
        }
        Mtu = _queues.Min(q => q.Mtu);
        Offloads = _queues.Aggregate(NicOffloads.RxChecksum | NicOffloads.TxChecksum, (o, q) => o & q.Offloads);
        if (_queues.All(q => q.WaitFd >= 0))
        {
            _epollFd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
            if (_epollFd < 0)
                throw new DemiException(Libc.LastErrno, "Cannot create the combined queue's epoll set.");
            foreach (var q in _queues)
            {
                var ev = new Libc.EpollEvent { Events = Libc.EPOLLIN, Data = (ulong)q.WaitFd };
                if (Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_ADD, q.WaitFd, &ev) != 0)
                {
                    int errno = Libc.LastErrno;
                    Libc.close(_epollFd);
                    throw new DemiException(errno, "Cannot add a queue's fd to the combined epoll set.");
                }
            }
        }
    }

    /// <summary>The combined queues.</summary>
    public IReadOnlyList<INicQueue> Queues => _queues;

    /// <inheritdoc/>
    public MacAddress MacAddress => _queues[0].MacAddress;

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public NicOffloads Offloads { get; }

    /// <inheritdoc/>
    public BufferPool Pool => _queues[0].Pool;

    /// <inheritdoc/>
    public int WaitFd => _epollFd;

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> frames)
    {
        int count = 0;
        int n = _queues.Length;
        // Start with a different queue each burst: a busy queue cannot starve the others.
        int first = _next;
        _next = first + 1 == n ? 0 : first + 1;
        for (int i = 0; i < n && count < frames.Length; i++)
        {
            int q = first + i;
            if (q >= n)
                q -= n;
            count += _queues[q].Receive(frames[count..]);
        }
        return count;
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> frames) => _queues[0].Transmit(frames);

    /// <inheritdoc/>
    public void Flush()
    {
        foreach (var q in _queues)
            q.Flush();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_epollFd >= 0)
            Libc.close(_epollFd);
        foreach (var q in _queues)
            q.Dispose();
    }
}
