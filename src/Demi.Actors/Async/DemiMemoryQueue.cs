namespace Demi.Async;

/// <summary>An in-process memory queue with awaitable push and pop.</summary>
public sealed class DemiMemoryQueue : DemiQueue
{
    private DemiMemoryQueue(LibOS libOS, int qd)
        : base(libOS, qd)
    {
    }

    /// <summary>Creates a memory queue on <paramref name="libOS"/>.</summary>
    public static DemiMemoryQueue Create(LibOS libOS)
    {
        Check(libOS.Queue(out int qd), nameof(Create), "memory queue");
        return new DemiMemoryQueue(libOS, qd);
    }

    /// <inheritdoc />
    protected override string DescribeEndpoint() => "memory queue";
}
