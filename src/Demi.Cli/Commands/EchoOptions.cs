using System.CommandLine;
using Demi.Cli.CommandLine;
using Demi.Cli.Echo;

namespace Demi.Cli.Commands;

/// <summary>The options of an echo run (shared by <c>echo demo</c> and <c>echo client</c>).</summary>
internal sealed class EchoOptions
{
    /// <summary>Largest message: one UDP datagram.</summary>
    public const int MaxMessageSize = 65_000;

    /// <summary>Most concurrent lanes one client opens.</summary>
    public const int MaxConcurrency = 1024;

    public readonly Option<int> Size = CliOptions.Int("--size", "Message size in bytes", 64, 1, MaxMessageSize);
    public readonly Option<int> Count = CliOptions.Int("--count", "Messages to measure (0: run for --duration)", 0, 0);
    public readonly Option<TimeSpan> Duration = CliOptions.Duration("--duration", "How long to measure", TimeSpan.FromSeconds(5));
    public readonly Option<TimeSpan> Warmup = CliOptions.Duration("--warmup", "Warm-up before measuring", TimeSpan.FromSeconds(1));
    public readonly Option<int> Concurrency = CliOptions.Int("--concurrency", "Concurrent closed-loop lanes (UDP sockets or TCP connections)", 1, 1, MaxConcurrency);
    public readonly Option<bool> Quiet = CliOptions.Flag("--quiet", "No progress line");

    public void AddTo(Command command)
    {
        command.Add(Size);
        command.Add(Count);
        command.Add(Duration);
        command.Add(Warmup);
        command.Add(Concurrency);
        command.Add(Quiet);
    }

    public EchoSettings Create(ParseResult parse, string protocol) => new()
    {
        Protocol = protocol,
        MessageSize = parse.GetValue(Size),
        Count = parse.GetValue(Count),
        Duration = parse.GetValue(Duration),
        Warmup = parse.GetValue(Warmup),
        Concurrency = parse.GetValue(Concurrency),
        Quiet = parse.GetValue(Quiet),
    };
}
