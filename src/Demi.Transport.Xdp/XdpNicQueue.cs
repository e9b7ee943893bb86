using System.Collections.Concurrent;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Headers;
using Demi.Inet.Nic;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp;

/// <summary>
/// An AF_XDP socket on one (interface, queue) as an <see cref="INicQueue"/>. Frames live in an
/// <see cref="XdpUmem"/> whose pool the stack and the app rent from; received frames are handed out
/// in place (the reference moves to the caller; when released the frame returns to the pool and the
/// queue puts pool frames back on the fill ring), and transmitted frames are released when the
/// completion ring returns them. The four rings are driven from C# with acquire/release index
/// updates, in bursts, with no P/Invoke per packet; the only syscalls are the wake-up kicks the
/// kernel asks for (need_wakeup). Driven by one shard thread; the pool may be used from any thread.
/// Disposing deletes the socket (which detaches the XDP program when it was the last one) and frees
/// the UMEM if the queue created it.
/// </summary>
public sealed unsafe class XdpNicQueue : INicQueue
{
    private static readonly ConcurrentDictionary<(string NetNs, int IfIndex), int> s_liveSockets = new();

    private readonly XdpUmem _umem;
    private readonly bool _ownsUmem;
    private readonly BufferPool _pool;
    private readonly (string, int) _liveKey;
    private readonly int _frameSize;
    // Aligned-mode frames are 2048 or 4096 bytes (XdpUmem): a UMEM address to its frame is a shift, not a division per frame.
    private readonly int _frameShift;
    private readonly int _frameCount;
    private readonly uint _fillTarget;
    private readonly bool _needWakeup;
    // How many references the kernel holds per frame (on the fill ring or the TX ring), so that
    // Dispose can return them to the pool: the rings themselves cannot be read back reliably.
    private readonly int[] _kernelRefs;
    // The namespace the socket was bound in: libxdp detaches the XDP program by ifindex over netlink
    // on delete, which must happen in that namespace (in another one the index names another device).
    private int _netnsFd = -1;
    private nint _xsk;
    private XskRing* _rx;
    private XskRing* _tx;
    private XskRing* _fill;
    private XskRing* _comp;
    // The fill and completion rings are the UMEM's own (see XdpUmem.TryLendInitialRings): the UMEM frees them.
    private bool _ringsLent;
    private uint _inFill;
    private int _disposed;

    private readonly bool _completePartial;
    private long _rxFrames, _txFrames, _txCompleted, _txInvalid, _rxInvalid, _fillPoolEmpty, _kicks, _partialCompleted;

    private XdpNicQueue(XdpQueueOptions options, XdpUmem umem, bool ownsUmem, string netnsId, int ifIndex)
    {
        Options = options;
        _umem = umem;
        _ownsUmem = ownsUmem;
        _pool = umem.Pool;
        _frameSize = umem.FrameSize;
        Debug.Assert(BitOperations.IsPow2(_frameSize));
        _frameShift = BitOperations.Log2((uint)_frameSize);
        _frameCount = umem.FrameCount;
        _kernelRefs = new int[umem.FrameCount];
        _needWakeup = options.NeedWakeup;
        _completePartial = options.CompletePartialChecksums;
        int target = options.FillTarget > 0 ? options.FillTarget : umem.FrameCount / 2;
        _fillTarget = (uint)Math.Clamp(target, 1, umem.FillSize);
        _liveKey = (netnsId, ifIndex);
        InterfaceIndex = ifIndex;
    }

    /// <summary>The options the queue was opened with.</summary>
    public XdpQueueOptions Options { get; }

    /// <summary>The interface index inside its namespace.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The mode the XDP program was actually attached in (never <see cref="XdpMode.Auto"/>).</summary>
    public XdpMode AttachedMode { get; private set; }

    /// <summary>Why native mode was not used, when <see cref="XdpMode.Auto"/> fell back to generic; else null.</summary>
    public string? FallbackReason { get; internal set; }

    /// <summary>Whether the kernel bound the socket in zero-copy mode (never on veth: copy mode only).</summary>
    public bool ZeroCopy { get; private set; }

    /// <summary>Whether a stale XDP program left by an earlier run was found and removed on open.</summary>
    public bool RemovedStaleProgram { get; private set; }

    /// <summary>The UMEM the frames live in.</summary>
    public XdpUmem Umem => _umem;

    /// <inheritdoc/>
    public MacAddress MacAddress { get; private set; }

    /// <inheritdoc/>
    public int Mtu { get; private set; }

    /// <summary>None: copy-mode AF_XDP neither verifies nor fills checksums.</summary>
    public NicOffloads Offloads => NicOffloads.None;

    /// <inheritdoc/>
    public BufferPool Pool => _pool;

    /// <summary>The AF_XDP socket; readable (POLLIN) when frames are on the RX ring.</summary>
    public int WaitFd { get; private set; } = -1;

    /// <summary>Frames currently on the fill ring, owned by the kernel until they come back through RX.</summary>
    public int FramesInFillRing => (int)_inFill;

    /// <summary>
    /// Opens an AF_XDP socket. Creates its own UMEM from <paramref name="options"/> unless
    /// <paramref name="umem"/> is given (then the socket shares it; the UMEM must outlive the queue).
    /// </summary>
    public static XdpNicQueue Open(XdpQueueOptions options, XdpUmem? umem = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        XdpMode mode = options.Mode;
        string? fallbackReason = null;
        // The kernel releases a closed socket's hold on a queue in deferred work, so binding a queue
        // right after a close can see EBUSY for a moment. Retry from scratch (fresh rings and, when
        // owned, a fresh UMEM: libxdp's state after a failed create is not reusable). Set-up path only.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var queue = OpenOnce(options, umem, mode);
                queue.FallbackReason = fallbackReason;
                return queue;
            }
            catch (XdpException e) when (e.NativeModeFailure is not null && umem is null)
            {
                mode = XdpMode.Generic;
                fallbackReason = e.NativeModeFailure;
                ReportFallback(options, fallbackReason);
            }
            catch (XdpException e) when (e.Errno == Errno.EBUSY && attempt < 40 && umem is null)
            {
                Thread.Sleep(25);
            }
        }
    }

    /// <summary>Says on stderr that <see cref="XdpMode.Auto"/> is using generic mode, and why.</summary>
    internal static void ReportFallback(XdpQueueOptions options, string reason)
        => Console.Error.WriteLine($"Demi: AF_XDP on {options.Interface} queue {options.QueueId}: {reason}; using generic mode");

    private static XdpNicQueue OpenOnce(XdpQueueOptions options, XdpUmem? umem, XdpMode mode)
    {
        NativeLog.BeginStep();
        using var scope = options.NetworkNamespace is null ? null : NetworkNamespaceScope.Enter(options.NetworkNamespace);
        int ifIndex = (int)LibC.if_nametoindex(options.Interface);
        if (ifIndex == 0)
            ThrowHelper.ThrowXdp($"if_nametoindex({options.Interface})", Marshal.GetLastSystemError());
        string netns = new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? "net:[?]";
        bool ownsUmem = umem is null;
        umem ??= new XdpUmem(options.FrameCount, options.FrameSize, options.Headroom, options.FillSize, options.FillSize);
        var queue = new XdpNicQueue(options, umem, ownsUmem, netns, ifIndex);
        try
        {
            queue._netnsFd = NetworkNamespaceScope.OpenCurrent();
            queue.ReadLinkInfo();
            queue.RemovedStaleProgram = options.RemoveStaleProgram && !s_liveSockets.ContainsKey(queue._liveKey)
                && RemoveStaleProgram(ifIndex);
            queue.CreateSocket(mode);
        }
        catch
        {
            queue.Dispose();
            throw;
        }
        return queue;
    }

    private void ReadLinkInfo()
    {
        int fd = LibC.socket(SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
            ThrowHelper.ThrowXdp("socket(AF_INET)", Marshal.GetLastSystemError());
        try
        {
            LibC.IfReq ifr = default;
            // The name stays NUL-terminated: at most IFNAMSIZ - 1 bytes (a longer one is truncated, as the kernel would refuse it).
            System.Text.Encoding.ASCII.GetBytes(Options.Interface, new Span<byte>(ifr.Name, LibC.IfReq.NameSize - 1));
            if (LibC.ioctl(fd, LibC.SIOCGIFMTU, &ifr) != 0)
                ThrowHelper.ThrowXdp("ioctl(SIOCGIFMTU)", Marshal.GetLastSystemError());
            Mtu = ifr.Mtu;
            if (LibC.ioctl(fd, LibC.SIOCGIFHWADDR, &ifr) != 0)
                ThrowHelper.ThrowXdp("ioctl(SIOCGIFHWADDR)", Marshal.GetLastSystemError());
            MacAddress = MacAddress.Read(new ReadOnlySpan<byte>(ifr.HwAddr, LibC.IfReq.EthernetAddressLength));
        }
        finally
        {
            LibC.close(fd);
        }
    }

    /// <summary>
    /// Detaches an AF_XDP program (libxdp's xsk_def_prog or dispatcher) found on the interface: with
    /// no socket of ours on it, it can only be a leftover of a killed run, and it would make the new
    /// attach fail (other mode) or steer into a dead socket map.
    /// </summary>
    private static bool RemoveStaleProgram(int ifIndex)
    {
        var opts = new LibBpf.XdpQueryOpts { Sz = (nuint)sizeof(LibBpf.XdpQueryOpts) };
        if (LibBpf.bpf_xdp_query(ifIndex, 0, &opts) != 0)
            return false;
        bool removed = false;
        foreach (var (id, flags) in new[] { (opts.DrvProgId, LibXdp.XDP_FLAGS_DRV_MODE), (opts.SkbProgId, LibXdp.XDP_FLAGS_SKB_MODE) })
        {
            if (id == 0)
                continue;
            string? name = LibBpf.ProgramName(id);
            if (name is null || !(name.StartsWith("xsk_def_prog", StringComparison.Ordinal) || name.StartsWith("xdp_dispatcher", StringComparison.Ordinal)))
                continue;
            if (LibBpf.bpf_xdp_detach(ifIndex, flags, null) == 0)
                removed = true;
        }
        return removed;
    }

    private void CreateSocket(XdpMode mode)
    {
        _rx = (XskRing*)NativeMemory.AllocZeroed((nuint)sizeof(XskRing));
        _tx = (XskRing*)NativeMemory.AllocZeroed((nuint)sizeof(XskRing));
        if (_umem.TryLendInitialRings(out var fill, out var comp))
        {
            _fill = fill;
            _comp = comp;
            _ringsLent = true;
        }
        else
        {
            _fill = (XskRing*)NativeMemory.AllocZeroed((nuint)sizeof(XskRing));
            _comp = (XskRing*)NativeMemory.AllocZeroed((nuint)sizeof(XskRing));
        }
        int rc;
        switch (mode)
        {
            case XdpMode.Native:
                rc = TryCreate(LibXdp.XDP_FLAGS_DRV_MODE);
                if (rc != 0)
                    ThrowHelper.ThrowXdp($"xsk_socket__create({Options.Interface}, queue {Options.QueueId}, native mode)", -rc);
                AttachedMode = XdpMode.Native;
                break;
            case XdpMode.Generic:
                rc = TryCreate(LibXdp.XDP_FLAGS_SKB_MODE);
                if (rc != 0)
                    ThrowHelper.ThrowXdp($"xsk_socket__create({Options.Interface}, queue {Options.QueueId}, generic mode)", -rc);
                AttachedMode = XdpMode.Generic;
                break;
            default:
                rc = TryCreate(LibXdp.XDP_FLAGS_DRV_MODE);
                if (rc == 0)
                {
                    AttachedMode = XdpMode.Native;
                    break;
                }
                // EBUSY says the queue is still held (the kernel tears an exited process's socket down
                // after the process is gone), not that native mode is unsupported: falling back then
                // attached a generic-mode socket that never received (tests/c exit_drain's stuck
                // handshakes). Report it, so that the caller retries native mode once the queue is free.
                if (-rc == Errno.EBUSY)
                    ThrowHelper.ThrowXdp($"xsk_socket__create({Options.Interface}, queue {Options.QueueId}, native mode): the queue is busy", -rc);
                // The socket was bound before the attach failed, and a bound socket cannot bind again (EBUSY):
                // the opener starts over in generic mode with a fresh socket and UMEM.
                string reason = $"native mode failed: errno {-rc} ({LibC.StrError(-rc)})";
                throw new XdpException($"xsk_socket__create({Options.Interface}, queue {Options.QueueId}, native mode)", -rc) { NativeModeFailure = reason };
        }
        if (_ringsLent)
            _umem.InitialRingsTaken();
        _umem.AddSocket();
        s_liveSockets.AddOrUpdate(_liveKey, 1, (_, n) => n + 1);
        WaitFd = LibXdp.xsk_socket__fd(_xsk);
        uint len = 4;
        uint optFlags = 0;
        if (LibC.getsockopt(WaitFd, LibXdp.SOL_XDP, LibXdp.XDP_OPTIONS, &optFlags, &len) == 0)
            ZeroCopy = (optFlags & LibXdp.XDP_OPTIONS_ZEROCOPY) != 0;
        RefillFill();
    }

    private int TryCreate(uint modeFlags)
    {
        var config = new XskSocketConfig
        {
            RxSize = (uint)Options.RxSize,
            TxSize = (uint)Options.TxSize,
            LibxdpFlags = 0,
            XdpFlags = modeFlags,
            BindFlags = Options.NeedWakeup ? LibXdp.XDP_USE_NEED_WAKEUP : (ushort)0,
        };
        nint xsk;
        int rc = LibXdp.xsk_socket__create_shared(&xsk, Options.Interface, (uint)Options.QueueId, _umem.Handle, _rx, _tx, _fill, _comp, &config);
        if (rc == 0)
            _xsk = xsk;
        return rc;
    }

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> frames)
    {
        if (_xsk == 0)
            ThrowHelper.ThrowObjectDisposed(nameof(XdpNicQueue));
        RefillFill();
        uint n = Rings.Peek(_rx, (uint)frames.Length, out uint idx);
        int taken = 0;
        for (uint i = 0; i < n; i++)
        {
            XdpDesc* d = Rings.Desc(_rx, idx + i);
            ulong addr = d->Addr;
            ulong index = addr >> _frameShift;
            if (index >= (ulong)_frameCount)
            {
                // Cannot happen with a sane kernel; never trust it blindly though.
                _rxInvalid++;
                continue;
            }
            _kernelRefs[index]--;
            _inFill--;
            var frame = new PacketBuffer(_pool, (int)index, (int)(addr & (ulong)(_frameSize - 1)), (int)d->Len);
            if (_completePartial && PartialChecksum.TryComplete(frame.Span))
                _partialCompleted++;
            frames[taken++] = frame;
        }
        Rings.Release(_rx, n);
        _rxFrames += taken;
        if (n == 0 && _needWakeup && Rings.NeedsWakeup(_fill))
            KickRx();
        return taken;
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        if (_xsk == 0)
            ThrowHelper.ThrowObjectDisposed(nameof(XdpNicQueue));
        if (frames.IsEmpty)
            return 0;
        uint reserved = Rings.Reserve(_tx, (uint)frames.Length, out uint idx);
        uint written = 0;
        int consumed = 0;
        int maxFrame = Mtu + EthernetHeader.MaxOverhead;
        while (consumed < frames.Length && written < reserved)
        {
            ref readonly PacketBuffer f = ref frames[consumed++];
            if (!ReferenceEquals(f.Pool, _pool) || f.Length < EthernetHeader.Length || f.Length > maxFrame
                || (uint)f.Offset + (uint)f.Length > (uint)_frameSize)
            {
                // The kernel would skip a bad descriptor without completing it and the frame would
                // leak; refuse it here, release the caller's reference, and count it.
                _txInvalid++;
                if (f.Pool is not null)
                    f.Release();
                continue;
            }
            XdpDesc* d = Rings.Desc(_tx, idx + written);
            d->Addr = (ulong)_pool.OffsetOf(f.Index) + (ulong)f.Offset;
            d->Len = (uint)f.Length;
            d->Options = 0;
            _kernelRefs[f.Index]++;
            written++;
        }
        Rings.Unreserve(_tx, reserved - written);
        Rings.Submit(_tx, written);
        _txFrames += written;
        return consumed;
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_xsk == 0)
            return;
        KickTx();
        ReclaimCompletions();
        RefillFill();
    }

    /// <summary>Kernel and queue counters (one getsockopt; not for the per-packet path).</summary>
    public XdpQueueStatistics GetStatistics()
    {
        XdpStatisticsNative s = default;
        uint len = (uint)sizeof(XdpStatisticsNative);
        if (WaitFd >= 0)
            LibC.getsockopt(WaitFd, LibXdp.SOL_XDP, LibXdp.XDP_STATISTICS, &s, &len);
        return new XdpQueueStatistics
        {
            RxFrames = _rxFrames,
            TxFrames = _txFrames,
            TxCompleted = _txCompleted,
            TxDroppedInvalid = _txInvalid,
            RxDroppedInvalid = _rxInvalid,
            FillPoolEmpty = _fillPoolEmpty,
            Kicks = _kicks,
            RxPartialChecksumsCompleted = _partialCompleted,
            KernelRxDropped = (long)s.RxDropped,
            KernelRxRingFull = (long)s.RxRingFull,
            KernelRxFillEmpty = (long)s.RxFillRingEmptyDescs,
            KernelRxInvalidDescs = (long)s.RxInvalidDescs,
            KernelTxInvalidDescs = (long)s.TxInvalidDescs,
        };
    }

    private void KickTx()
    {
        // In copy mode each sendto transmits a bounded batch (32 frames), so keep kicking while the
        // ring has work and the kernel makes progress; bounded so a stuck device cannot spin us.
        for (int round = 0; round < 64; round++)
        {
            uint outstanding = Rings.Outstanding(_tx);
            if (outstanding == 0 || (_needWakeup && !Rings.NeedsWakeup(_tx)))
                return;
            _kicks++;
            nint rc = LibC.sendto(WaitFd, null, 0, LibC.MSG_DONTWAIT, null, 0);
            if (rc < 0)
            {
                int e = Marshal.GetLastSystemError();
                if (e is Errno.EAGAIN or Errno.EBUSY or Errno.ENOBUFS or Errno.EINTR)
                {
                    // Completion ring full or device busy: reclaim and retry on the next flush.
                    ReclaimCompletions();
                    return;
                }
                return; // ENETDOWN and the like: frames stay queued and complete or drain on close.
            }
            if (Rings.Outstanding(_tx) == outstanding)
                return;
        }
    }

    private void KickRx()
    {
        _kicks++;
        LibC.recvfrom(WaitFd, null, 0, LibC.MSG_DONTWAIT, null, null);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReclaimCompletions()
    {
        while (true)
        {
            uint n = Rings.Peek(_comp, 256, out uint idx);
            if (n == 0)
                return;
            for (uint i = 0; i < n; i++)
            {
                ulong index = *Rings.FillAddr(_comp, idx + i) >> _frameShift;
                if (index >= (ulong)_frameCount)
                    continue;
                _kernelRefs[index]--;
                _pool.Release((int)index);
            }
            Rings.Release(_comp, n);
            _txCompleted += n;
        }
    }

    private void RefillFill()
    {
        if (_inFill >= _fillTarget)
            return;
        uint want = _fillTarget - _inFill;
        uint reserved = Rings.Reserve(_fill, want, out uint idx);
        uint put = 0;
        while (put < reserved)
        {
            if (!_pool.TryRent(out int index))
            {
                // Pool exhausted (the app holds the frames): fewer RX buffers, the kernel drops and
                // counts; we retry on every poll, so receiving resumes when frames come back.
                _fillPoolEmpty++;
                break;
            }
            *Rings.FillAddr(_fill, idx + put) = (ulong)_pool.OffsetOf(index);
            _kernelRefs[index]++;
            put++;
        }
        Rings.Unreserve(_fill, reserved - put);
        Rings.Submit(_fill, put);
        _inFill += put;
    }

    /// <summary>
    /// Deletes the socket (the XDP program goes with the last socket on the interface), returns every
    /// frame the kernel held to the pool, and frees the UMEM if this queue created it. Frames the
    /// app still holds must not be touched after the UMEM is freed.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_xsk != 0)
        {
            // Take back what the kernel sent before we close (best effort).
            ReclaimCompletions();
            using (NetworkNamespaceScope.EnterFd(_netnsFd))
                LibXdp.xsk_socket__delete(_xsk);
            _xsk = 0;
            WaitFd = -1;
            _umem.RemoveSocket();
            s_liveSockets.AddOrUpdate(_liveKey, 0, (_, n) => n - 1);
            if (s_liveSockets.TryGetValue(_liveKey, out int left) && left <= 0)
                s_liveSockets.TryRemove(_liveKey, out _);
            // The socket is gone, so the kernel holds nothing any more: release its references.
            for (int i = 0; i < _kernelRefs.Length; i++)
            {
                while (_kernelRefs[i] > 0)
                {
                    _kernelRefs[i]--;
                    _pool.Release(i);
                }
            }
            _inFill = 0;
        }
        if (_netnsFd >= 0)
        {
            LibC.close(_netnsFd);
            _netnsFd = -1;
        }
        FreeRing(ref _rx);
        FreeRing(ref _tx);
        if (_ringsLent)
        {
            _fill = null;
            _comp = null;
        }
        FreeRing(ref _fill);
        FreeRing(ref _comp);
        if (_ownsUmem)
            _umem.Dispose();
    }

    private static void FreeRing(ref XskRing* ring)
    {
        if (ring != null)
            NativeMemory.Free(ring);
        ring = null;
    }
}
