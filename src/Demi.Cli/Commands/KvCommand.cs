using System.CommandLine;
using System.Runtime.InteropServices;
using Demi.Cli.CommandLine;
using Demi.Kv;

namespace Demi.Cli.Commands;

/// <summary><c>demi kv</c>: the Redis-protocol key-value server.</summary>
internal sealed class KvCommand : Command
{
    private readonly Option<Ipv4Endpoint> _bind = CliOptions.Endpoint("--bind", "Address and port to serve on", new Ipv4Endpoint(Ipv4Address.Loopback, 6379));
    private readonly Option<long> _maxMemory = CliOptions.Long("--maxmemory", "Memory limit for keys and values, bytes", 1L << 30);
    private readonly Option<int> _maxClients = CliOptions.Int("--maxclients", "Most connected clients", 10_000, 1);
    private readonly Option<int> _timeout = CliOptions.Int("--timeout", "Close clients idle this many seconds (0: never)", 0, 0);
    private readonly Option<long> _maxBulk = CliOptions.Long("--max-bulk", "Longest bulk string, bytes", 512L * 1024 * 1024, 1);
    private readonly Option<int> _maxArray = CliOptions.Int("--max-array", "Most elements of a request array", 1024 * 1024, 1);
    private readonly LibOSCommandOptions _libOS = new();

    public KvCommand()
        : base("kv", "Redis-protocol (RESP2) key-value server, keys sharded over the cores; talk to it with redis-cli or redis-benchmark.")
    {
        Add(_bind);
        Add(_maxMemory);
        Add(_maxClients);
        Add(_timeout);
        Add(_maxBulk);
        Add(_maxArray);
        _libOS.AddTo(this);
        SetAction(Run);
    }

    private int Run(ParseResult parse)
    {
        var options = new KvServerOptions
        {
            Bind = parse.GetValue(_bind),
            MaxMemory = parse.GetValue(_maxMemory),
            MaxClients = parse.GetValue(_maxClients),
            IdleTimeout = TimeSpan.FromSeconds(parse.GetValue(_timeout)),
            MaxBulkLength = parse.GetValue(_maxBulk),
            MaxArrayLength = parse.GetValue(_maxArray),
        };
        using var libOS = new LibOS(_libOS.Create(parse));
        using var server = new KvServer(libOS, options);
        try
        {
            server.Start();
        }
        catch (DemiException ex) when (ex.ErrorCode is Errno.EADDRINUSE or Errno.EADDRNOTAVAIL)
        {
            throw new UsageException($"--bind {options.Bind}: cannot serve there: {Errno.Name(ex.ErrorCode)}");
        }
        parse.InvocationConfiguration.Output.WriteLine(
            $"demi kv ({libOS.Backend.Name} backend, {libOS.Shards.Count} shard(s)) on {server.LocalEndPoint}; Ctrl+C or SIGTERM to stop.");
        using var stop = new ManualResetEventSlim(false);
        // SIGINT and SIGTERM end the server cleanly (the libOS detaches XDP programs and frees the UMEM).
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        stop.Wait();
        return 0;
    }
}
