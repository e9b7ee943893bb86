namespace Demi.Transport.Xdp;

/// <summary>Counters of one <see cref="XdpNicQueue"/>: the queue's own and the kernel's (XDP_STATISTICS).</summary>
public readonly record struct XdpQueueStatistics
{
    /// <summary>Frames handed to the stack.</summary>
    public long RxFrames { get; init; }
    /// <summary>Frames put on the TX ring.</summary>
    public long TxFrames { get; init; }
    /// <summary>TX completions reclaimed (frames released back to the pool).</summary>
    public long TxCompleted { get; init; }
    /// <summary>Frames refused by <see cref="XdpNicQueue.Transmit"/> as malformed (wrong pool, bad length) and released.</summary>
    public long TxDroppedInvalid { get; init; }
    /// <summary>Received descriptors with an address outside the UMEM (dropped).</summary>
    public long RxDroppedInvalid { get; init; }
    /// <summary>Times the fill ring could not be topped up because the pool was empty (the kernel then drops).</summary>
    public long FillPoolEmpty { get; init; }
    /// <summary>sendto/recvfrom kicks made because the kernel asked for a wakeup.</summary>
    public long Kicks { get; init; }
    /// <summary>Received TCP/UDP segments whose CHECKSUM_PARTIAL checksum was completed (see <see cref="XdpQueueOptions.CompletePartialChecksums"/>).</summary>
    public long RxPartialChecksumsCompleted { get; init; }
    /// <summary>Kernel: frames dropped for reasons other than a full RX ring or empty fill ring.</summary>
    public long KernelRxDropped { get; init; }
    /// <summary>Kernel: frames dropped because the RX ring was full.</summary>
    public long KernelRxRingFull { get; init; }
    /// <summary>Kernel: frames dropped because the fill ring was empty.</summary>
    public long KernelRxFillEmpty { get; init; }
    /// <summary>Kernel: invalid RX descriptors.</summary>
    public long KernelRxInvalidDescs { get; init; }
    /// <summary>Kernel: invalid TX descriptors.</summary>
    public long KernelTxInvalidDescs { get; init; }
}
