using System.Diagnostics;
using System.Runtime.InteropServices;
using Demi.Internal.Native;

namespace Demi.Runtime;

/// <summary>
/// A shard's epoll set: the fds its actors and driver registered, plus an eventfd that wakes the
/// shard when it is parked in <c>epoll_wait</c>. Registration is shard-thread only.
/// </summary>
/// <remarks>
/// Wake-only fds (queues the shard's driver polls every round anyway, such as an AF_XDP socket) are
/// in the set only from a park until the shard has been busy for a while (<see cref="ArmWakeOnly"/>,
/// <see cref="DisarmWakeOnly"/>; the shard decides when). An fd in an epoll set hangs
/// a wait-queue entry on its socket, and every readiness change walks it: for an AF_XDP socket each
/// received frame (on the core that delivers it) and each transmit completion took the epoll and
/// wait-queue locks with interrupts off.
/// <para>
/// A few kernel sockets (<see cref="IBusyPolledHandler"/>, at most <see cref="MaxBusyPolled"/>) are
/// treated the same way: while the shard is busy it polls them itself each round (one receive call,
/// as the <c>epoll_wait</c> it replaces) instead of letting every received datagram and every freed send
/// run the epoll wake callback; parked, they are in the set like any fd.
/// </para>
/// </remarks>
internal sealed unsafe class ShardEpoll : IDisposable
{
    private static bool s_noPwait2;

    /// <summary>Events taken per <c>epoll_wait</c>.</summary>
    public const int MaxEvents = 64;

    /// <summary>
    /// Sockets a busy shard polls itself: one call each per round, so only a few, where it replaces the
    /// round's one <c>epoll_wait</c>; beyond them, sockets are ordinary pollable fds.
    /// </summary>
    public const int MaxBusyPolled = 2;

    private const ulong WakeToken = ulong.MaxValue;

    private readonly List<IEpollHandler?> _handlers = [];
    private readonly Stack<int> _freeSlots = new();
    // Registrations that are wake-only, by slot: what ArmWakeOnly adds to the set.
    private readonly Dictionary<int, (int Fd, uint Events)> _wakeOnlyFds = [];
    private readonly List<(int Slot, IBusyPolledHandler Handler)> _busyPolled = [];
    private bool _armed;
    private readonly Action<Exception> _reportFault;
    private readonly int _epollFd;
    private readonly int _eventFd;
    private int _pollableFds;

    public ShardEpoll(Action<Exception> reportFault)
    {
        _reportFault = reportFault;
        _epollFd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        _eventFd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_epollFd < 0 || _eventFd < 0)
            throw new DemiException(Libc.LastErrno, "Cannot create the shard's epoll set.");
        var ev = new Libc.EpollEvent { Events = Libc.EPOLLIN, Data = WakeToken };
        Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_ADD, _eventFd, &ev);
    }

    /// <summary>The epoll fd (for tests that read its set from <c>/proc/self/fdinfo</c>).</summary>
    internal int EpollFd => _epollFd;

    /// <summary>True while the wake-only fds are in the set (from <see cref="ArmWakeOnly"/> to <see cref="DisarmWakeOnly"/>).</summary>
    public bool WakeOnlyArmed => _armed;

    /// <summary>True when some registered fd must be polled while the shard is busy (not wake-only).</summary>
    public bool HasPollableFds => _pollableFds > 0;

    /// <summary>True when some registered socket is polled by the shard itself while busy (<see cref="PollBusyPolled"/>).</summary>
    public bool HasBusyPolled => _busyPolled.Count > 0;

    /// <summary>Adds <paramref name="fd"/>; returns the registration id. A wake-only fd is only watched while parked.</summary>
    public int Register(int fd, uint events, IEpollHandler handler, bool wakeOnly)
    {
        int slot;
        if (_freeSlots.Count > 0)
        {
            slot = _freeSlots.Pop();
            _handlers[slot] = handler;
        }
        else
        {
            slot = _handlers.Count;
            _handlers.Add(handler);
        }
        if (!wakeOnly && handler is IBusyPolledHandler { BusyPollable: true } busyPolled)
            wakeOnly = TryAddBusyPolled(slot, busyPolled);
        var ev = new Libc.EpollEvent { Events = events, Data = (ulong)slot };
        if (Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            int errno = Libc.LastErrno;
            _handlers[slot] = null;
            _freeSlots.Push(slot);
            RemoveBusyPolled(slot);
            throw new DemiException(errno, $"epoll_ctl ADD failed: {Errno.Name(errno)}");
        }
        if (wakeOnly)
        {
            // Added once so that an fd epoll refuses fails here, then out of the set until a park.
            _wakeOnlyFds[slot] = (fd, events);
            if (!_armed)
                Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_DEL, fd, null);
        }
        else
        {
            _pollableFds++;
        }
        return slot;
    }

    /// <summary>Changes the events <paramref name="fd"/> is watched for; returns 0 or the errno of <c>epoll_ctl</c>.</summary>
    public int Modify(int registration, int fd, uint events)
    {
        Debug.Assert(_handlers[registration] is not null, "modifying a removed registration");
        if (_wakeOnlyFds.ContainsKey(registration))
        {
            _wakeOnlyFds[registration] = (fd, events);
            if (!_armed)
                return 0;
        }
        var ev = new Libc.EpollEvent { Events = events, Data = (ulong)registration };
        return Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : Libc.LastErrno;
    }

    public void Unregister(int registration, int fd)
    {
        bool wakeOnly = _wakeOnlyFds.Remove(registration);
        RemoveBusyPolled(registration);
        if (!wakeOnly || _armed)
            Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_DEL, fd, null);
        Debug.Assert(_handlers[registration] is not null, "registration removed twice");
        _handlers[registration] = null;
        _freeSlots.Push(registration);
        if (!wakeOnly)
            _pollableFds--;
    }

    /// <summary>
    /// Puts the wake-only fds in the set, before the shard parks. An fd that is ready when added is
    /// reported by the next wait, so nothing that arrived before this call is slept through.
    /// </summary>
    public void ArmWakeOnly()
    {
        Debug.Assert(!_armed);
        _armed = true;
        foreach (var (slot, (fd, events)) in _wakeOnlyFds)
        {
            var ev = new Libc.EpollEvent { Events = events, Data = (ulong)slot };
            Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_ADD, fd, &ev);
        }
    }

    /// <summary>Takes the wake-only fds out of the set again, once the shard is busy.</summary>
    public void DisarmWakeOnly()
    {
        Debug.Assert(_armed);
        _armed = false;
        foreach (var (_, (fd, _)) in _wakeOnlyFds)
            Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_DEL, fd, null);
    }

    /// <summary>
    /// Polls the sockets the shard polls itself while busy (<see cref="IBusyPolledHandler"/>); returns
    /// how many did work. Called every busy round, armed or not: a socket's edge may have been taken by
    /// the park that armed it.
    /// </summary>
    public int PollBusyPolled()
    {
        int work = 0;
        var busyPolled = _busyPolled;
        for (int i = 0; i < busyPolled.Count; i++)
        {
            try
            {
                if (busyPolled[i].Handler.PollWhileBusy())
                    work++;
            }
            catch (Exception ex)
            {
                _reportFault(ex);
            }
        }
        return work;
    }

    /// <summary>
    /// Makes a registered fd one the busy shard polls itself (when fewer than <see cref="MaxBusyPolled"/>
    /// are), once its handler became <see cref="IBusyPolledHandler.BusyPollable"/>; true if it now is.
    /// </summary>
    public bool BusyPoll(int registration, int fd, uint events)
    {
        if (_handlers[registration] is not IBusyPolledHandler handler || _wakeOnlyFds.ContainsKey(registration)
            || !TryAddBusyPolled(registration, handler))
            return false;
        _wakeOnlyFds[registration] = (fd, events);
        _pollableFds--;
        if (!_armed)
            Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_DEL, fd, null);
        return true;
    }

    // The one place the cap is applied: true when the slot is now polled by the busy shard.
    private bool TryAddBusyPolled(int slot, IBusyPolledHandler handler)
    {
        if (_busyPolled.Count >= MaxBusyPolled)
            return false;
        _busyPolled.Add((slot, handler));
        return true;
    }

    private void RemoveBusyPolled(int slot)
    {
        for (int i = 0; i < _busyPolled.Count; i++)
        {
            if (_busyPolled[i].Slot == slot)
            {
                _busyPolled.RemoveAt(i);
                return;
            }
        }
    }

    /// <summary>Makes a parked (or the next) <see cref="Poll"/> return.</summary>
    public void Signal()
    {
        ulong one = 1;
        Libc.write(_eventFd, &one, sizeof(ulong));
    }

    /// <summary>One <c>epoll_wait</c>; runs the ready handlers and returns how many ran (wake-ups are not work).</summary>
    public int Poll(Libc.EpollEvent* events, int timeoutMs)
    {
        int n = timeoutMs == 0
            ? Libc.epoll_poll(_epollFd, events, MaxEvents, 0)
            : Libc.epoll_wait(_epollFd, events, MaxEvents, timeoutMs);
        return Dispatch(events, n);
    }

    /// <summary>
    /// As <see cref="Poll(Libc.EpollEvent*, int)"/> with a timeout in microseconds (more than 0):
    /// <c>epoll_pwait2</c> where the kernel has it, else rounded up to whole milliseconds.
    /// </summary>
    public int PollMicroseconds(Libc.EpollEvent* events, long timeoutMicros)
    {
        Debug.Assert(timeoutMicros > 0);
        if (!s_noPwait2)
        {
            var timeout = new Libc.Timespec { Seconds = timeoutMicros / 1_000_000, Nanoseconds = timeoutMicros % 1_000_000 * 1000 };
            int n = Libc.epoll_pwait2(_epollFd, events, MaxEvents, &timeout, null);
            if (n >= 0 || Marshal.GetLastSystemError() != Errno.ENOSYS)
                return Dispatch(events, Math.Max(n, 0));
            s_noPwait2 = true; // an older kernel (or a seccomp filter): millisecond waits from now on
        }
        return Poll(events, (int)Math.Min(int.MaxValue, (timeoutMicros + 999) / 1000));
    }

    private int Dispatch(Libc.EpollEvent* events, int n)
    {
        int work = 0;
        for (int i = 0; i < n; i++)
        {
            ulong data = events[i].Data;
            if (data == WakeToken)
            {
                ulong value;
                Libc.read(_eventFd, &value, sizeof(ulong));
                continue;
            }
            var handler = _handlers[(int)data];
            if (handler is null)
                continue;
            work++;
            try
            {
                handler.OnReady(events[i].Events);
            }
            catch (Exception ex)
            {
                _reportFault(ex);
            }
        }
        return work;
    }

    public void Dispose()
    {
        Libc.close(_eventFd);
        Libc.close(_epollFd);
    }
}
