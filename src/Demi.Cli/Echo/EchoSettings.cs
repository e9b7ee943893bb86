namespace Demi.Cli.Echo;

/// <summary>What an echo run does: protocol, message size, how long, how many in flight.</summary>
internal sealed record EchoSettings
{
    public string Protocol { get; init; } = "udp";

    public int MessageSize { get; init; } = 64;

    /// <summary>Messages to measure per run; 0 means run for <see cref="Duration"/>.</summary>
    public long Count { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Concurrent closed-loop lanes (UDP sockets or TCP connections).</summary>
    public int Concurrency { get; init; } = 1;

    public bool Quiet { get; init; }

    public bool IsTcp => Protocol == "tcp";
}
