namespace Demi.Kv;

/// <summary>Settings of a <see cref="KvServer"/>. Defaults follow redis-server where it has one.</summary>
public sealed class KvServerOptions
{
    /// <summary>Address to listen on. Default 127.0.0.1:6379.</summary>
    public Ipv4Endpoint Bind { get; set; } = new(Ipv4Address.Loopback, 6379);

    /// <summary>Largest bulk string a request may carry (Redis's proto-max-bulk-len). Default 512 MiB.</summary>
    public long MaxBulkLength { get; set; } = 512L * 1024 * 1024;

    /// <summary>Most elements a request array may have. Default 1,048,576.</summary>
    public int MaxArrayLength { get; set; } = 1024 * 1024;

    /// <summary>Longest inline (non-RESP) command line. Default 64 KiB, as Redis.</summary>
    public int MaxInlineLength { get; set; } = 64 * 1024;

    /// <summary>
    /// Memory the stored keys and values may use, split evenly over the shards; writes beyond it get
    /// <c>-OOM</c>. Default 1 GiB. 0 means no limit.
    /// </summary>
    public long MaxMemory { get; set; } = 1L << 30;

    /// <summary>Connections served at once; one more is told <c>-ERR max number of clients reached</c>. Default 10,000.</summary>
    public int MaxClients { get; set; } = 10_000;

    /// <summary>A client that sends nothing for this long is disconnected (Redis's timeout). Default: never.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Reply bytes a client may have unsent before the server stops reading its requests (a slow reader
    /// cannot make the server buffer without bound). Default 4 MiB.
    /// </summary>
    public int MaxPendingReplyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Pending (not yet complete) request bytes one client may hold: the largest frame plus slack. Derived.</summary>
    internal long MaxQueryBuffer => MaxBulkLength + 64 * 1024;

    internal void Validate()
    {
        if (MaxBulkLength < 1 || MaxBulkLength > int.MaxValue - 64 * 1024)
            throw new ArgumentOutOfRangeException(nameof(MaxBulkLength), MaxBulkLength, "must be between 1 and 2 GiB - 64 KiB");
        if (MaxArrayLength < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxArrayLength), MaxArrayLength, "must be positive");
        if (MaxInlineLength < 16)
            throw new ArgumentOutOfRangeException(nameof(MaxInlineLength), MaxInlineLength, "must be at least 16");
        if (MaxMemory < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxMemory), MaxMemory, "must not be negative");
        if (MaxClients < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxClients), MaxClients, "must be positive");
        if (MaxPendingReplyBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxPendingReplyBytes), MaxPendingReplyBytes, "must be positive");
    }
}
