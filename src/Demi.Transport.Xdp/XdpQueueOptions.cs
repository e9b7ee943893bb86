namespace Demi.Transport.Xdp;

/// <summary>What <see cref="XdpNicQueue.Open"/> binds to and how.</summary>
public sealed class XdpQueueOptions
{
    /// <summary>Interface name, e.g. <c>demi-a</c>.</summary>
    public required string Interface { get; init; }

    /// <summary>The interface's RX/TX queue pair the socket binds to.</summary>
    public int QueueId { get; init; }

    /// <summary>
    /// Network namespace (name under /run/netns) the interface lives in; the socket is created from
    /// inside it. Null: the calling thread's current namespace.
    /// </summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Attach mode: native by default, falling back to generic.</summary>
    public XdpMode Mode { get; init; } = XdpMode.Auto;

    /// <summary>RX ring entries (power of two).</summary>
    public int RxSize { get; init; } = 2048;

    /// <summary>TX ring entries (power of two).</summary>
    public int TxSize { get; init; } = 2048;

    /// <summary>Ask the kernel to flag when it needs a syscall kick (XDP_USE_NEED_WAKEUP) instead of kicking blindly.</summary>
    public bool NeedWakeup { get; init; } = true;

    /// <summary>
    /// On open, if the interface carries an AF_XDP program (libxdp's <c>xsk_def_prog</c> or dispatcher)
    /// and this process has no socket on it, treat it as left by a crashed run and detach it.
    /// </summary>
    public bool RemoveStaleProgram { get; init; } = true;

    /// <summary>
    /// Complete CHECKSUM_PARTIAL TCP/UDP checksums of received frames (a Linux veth peer with TX
    /// checksum offload on sends them; AF_XDP shows them raw): a checksum field equal to the
    /// pseudo-header sum is replaced by the full checksum before the stack verifies it. On by default.
    /// </summary>
    public bool CompletePartialChecksums { get; init; } = true;

    /// <summary>How many received frames the fill ring is kept stocked with (0: half the UMEM frames, at most the fill ring size).</summary>
    public int FillTarget { get; init; }

    /// <summary>UMEM frames, when the queue creates its own UMEM.</summary>
    public int FrameCount { get; init; } = 4096;

    /// <summary>UMEM frame size (2048 or 4096), when the queue creates its own UMEM.</summary>
    public int FrameSize { get; init; } = 2048;

    /// <summary>Headroom of buffers rented from the pool (for headers prepended in place).</summary>
    public int Headroom { get; init; } = 256;

    /// <summary>Fill and completion ring entries of an own UMEM (power of two).</summary>
    public int FillSize { get; init; } = 2048;
}
