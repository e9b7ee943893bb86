using Demi.Runtime;

namespace Demi;

/// <summary>How a <see cref="LibOS"/> is set up. Defaults suit a small service on the kernel-socket backend.</summary>
public sealed class LibOSOptions
{
    /// <summary>
    /// Cores to run shards on, one shard per core, as a CPU list ("1", "0-1", "0,2"). Each shard thread
    /// is pinned with sched_setaffinity. Null (the default) runs <see cref="ShardCount"/> unpinned shards.
    /// A core that does not exist is an <see cref="ArgumentException"/> when the libOS is created.
    /// </summary>
    public string? Cores { get; set; }

    /// <summary>Number of unpinned shards when <see cref="Cores"/> is null. Default 1.</summary>
    public int ShardCount { get; set; } = 1;

    /// <summary>The network backend; null selects Linux kernel sockets (needs no privileges).</summary>
    public INetworkBackend? Backend { get; set; }

    /// <summary>What an idle shard does. Default: spin briefly, then park.</summary>
    public IdleStrategy ShardIdle { get; set; } = IdleStrategy.SpinThenPark;

    /// <summary>What a thread in Wait/WaitAny/WaitNextN does while nothing is ready. Default: spin briefly, then park.</summary>
    public IdleStrategy WaitIdle { get; set; } = IdleStrategy.SpinThenPark;

    /// <summary>Messages a shard's mailbox holds before posting fails with EAGAIN.</summary>
    public int MailboxCapacity { get; set; } = 16_384;

    /// <summary>
    /// Operations in flight at once before new ones fail with EAGAIN: waitable tokens across the
    /// libOS, and fire-and-forget (Post*) operations on each shard.
    /// </summary>
    public int MaxTokens { get; set; } = 65_536;

    /// <summary>Maximum open queue descriptors.</summary>
    public int MaxDescriptors { get; set; } = 65_536;

    /// <summary>Size of each pooled buffer, headroom included (used when the backend brings no pool).</summary>
    public int BufferSize { get; set; } = 2048;

    /// <summary>Number of pooled buffers (used when the backend brings no pool).</summary>
    public int BufferCount { get; set; } = 16_384;

    /// <summary>Bytes reserved in front of each allocation for protocol headers (Ethernet + IPv4 + TCP with options).</summary>
    public int Headroom { get; set; } = 192;

    /// <summary>Largest <c>SgaAlloc</c> size. Default 16 MiB (Demikernel caps at 64 KiB).</summary>
    public int MaxSgaSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// How long <see cref="LibOS.Dispose"/> lets connections finish: pushes still queued are sent, the
    /// stack retransmits until acknowledged and exchanges FINs. What is left then is reset and counted in
    /// <see cref="LibOS.LastShutdown"/>. Zero closes at once.
    /// </summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether the process exiting (<c>Main</c> returning, <see cref="Environment.Exit"/>) disposes
    /// the libOS if the app did not, with the same drain (<see cref="ShutdownDrainTimeout"/>): a push
    /// reported done is then delivered and the connection ends with a FIN, as a kernel socket's would
    /// be. Default true.
    /// </summary>
    public bool DisposeOnProcessExit { get; set; } = true;
}
