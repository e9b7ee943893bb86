using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Demi.Cli.CommandLine;
using Demi.Cli.Echo;
using Demi.Runtime;

namespace Demi.Cli.Commands;

/// <summary><c>demi echo demo</c>: Demi against .NET sockets over 127.0.0.1, side by side.</summary>
internal sealed class EchoDemoCommand : Command
{
    private readonly Option<string> _proto = CliOptions.Choice("--proto", "Protocol(s) to run", "both", "udp", "tcp", "both");
    private readonly EchoOptions _echo = new();
    private readonly Option<int?> _serverCore = CliOptions.OptionalInt("--server-core", "Core of the servers (default: the first allowed core)", 0);
    private readonly Option<int?> _clientCore = CliOptions.OptionalInt("--client-core", "Core of the clients (default: the last allowed core)", 0);
    private readonly Option<string?> _json = CliOptions.Text("--json", "Also write the results to this JSON file", "FILE");

    public EchoDemoCommand()
        : base("demo", "Runs a Demi echo server and client over 127.0.0.1 on the kernel-socket backend, then the same shape on "
                       + ".NET sockets, each busy-polling and sleeping when idle, and prints them side by side "
                       + "(msgs/s, RTT p50/p99/p99.9, managed bytes allocated per message).")
    {
        Add(_proto);
        _echo.AddTo(this);
        Add(_serverCore);
        Add(_clientCore);
        Add(_json);
        Validators.Add(result =>
        {
            var allowed = CpuSet.AllowedCores();
            foreach (var option in new[] { _serverCore, _clientCore })
            {
                if (CliOptions.TryGetValue(result, option, out var value) && value is int core && !allowed.Contains(core))
                    result.AddError($"{option.Name} '{core}': core {core} is not available to this process (available: {CpuSet.Format(allowed)})");
            }
        });
        SetAction(Run);
    }

    private int Run(ParseResult parse)
    {
        var protocols = parse.GetValue(_proto) switch
        {
            "udp" => new[] { "udp" },
            "tcp" => ["tcp"],
            _ => ["udp", "tcp"],
        };
        var settings = _echo.Create(parse, "udp");
        var allowed = CpuSet.AllowedCores().ToArray();
        int serverCore = parse.GetValue(_serverCore) ?? allowed[0];
        int clientCore = parse.GetValue(_clientCore) ?? allowed[^1];
        string? json = parse.GetValue(_json);
        var output = parse.InvocationConfiguration.Output;

        output.WriteLine($"Echo over 127.0.0.1: {settings.MessageSize}-byte messages, {settings.Concurrency} lane(s), " +
                         (settings.Count > 0 ? $"{settings.Count:N0} messages" : $"{settings.Duration.TotalSeconds:F0} s") +
                         $" after {settings.Warmup.TotalSeconds:F0} s warm-up; server on core {serverCore}, client on core {clientCore}.");
        var results = new List<EchoResult>();
        foreach (var protocol in protocols)
        {
            var s = settings with { Protocol = protocol };
            // Each side in both idle shapes: busy-polling (lowest latency, a core each) and sleeping.
            results.Add(RunDemi(s, serverCore, clientCore, IdleStrategy.BusySpin, "demi, spin"));
            results.Add(RunSockets(s, serverCore, clientCore, spin: true));
            results.Add(RunDemi(s, serverCore, clientCore, IdleStrategy.SpinThenPark, "demi, spin-then-park"));
            results.Add(RunSockets(s, serverCore, clientCore, spin: false));
        }
        output.WriteLine();
        output.WriteLine(EchoResult.Header);
        foreach (var r in results)
            output.WriteLine(r.Row);
        output.WriteLine();
        foreach (var protocol in protocols)
        {
            foreach (var (demiName, socketsName) in new[] { ("demi, spin", ".NET sockets, spin"), ("demi, spin-then-park", ".NET sockets, blocking") })
            {
                var demi = results.First(r => r.Protocol == protocol && r.Name == demiName);
                var sockets = results.First(r => r.Protocol == protocol && r.Name == socketsName);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{protocol}: {demiName} / {socketsName}: throughput {demi.MessagesPerSecond / Math.Max(1, sockets.MessagesPerSecond):F2}x, p50 {demi.P50Micros / Math.Max(0.001, sockets.P50Micros):F2}x, p99 {demi.P99Micros / Math.Max(0.001, sockets.P99Micros):F2}x"));
            }
        }
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(results, EchoJsonContext.Default.ListEchoResult));
        return results.All(r => r.Messages > 0) ? 0 : 1;
    }

    private static EchoResult RunDemi(EchoSettings settings, int serverCore, int clientCore, IdleStrategy idle, string name)
    {
        using var serverOS = new LibOS(new LibOSOptions { Cores = serverCore.ToString(CultureInfo.InvariantCulture), ShardIdle = idle });
        using var server = new DemiEchoServer(serverOS, settings.Protocol);
        server.Start(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        using var clientOS = new LibOS(new LibOSOptions { Cores = clientCore.ToString(CultureInfo.InvariantCulture), ShardIdle = idle });
        return new DemiEchoClient(clientOS, settings).Run(server.LocalEndPoint, name);
    }

    private static EchoResult RunSockets(EchoSettings settings, int serverCore, int clientCore, bool spin)
    {
        using var server = new SocketsEchoServer(settings.Protocol, new IPEndPoint(IPAddress.Loopback, 0), serverCore, spin);
        return SocketsEchoClient.Run(settings, server.LocalEndPoint, clientCore, spin ? ".NET sockets, spin" : ".NET sockets, blocking", spin);
    }
}
