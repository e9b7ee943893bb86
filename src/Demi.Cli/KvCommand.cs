using System.Runtime.InteropServices;
using Demi.Kv;
using Demi.Runtime;

namespace Demi.Cli;

/// <summary><c>demi kv</c>: the Redis-protocol key-value server.</summary>
internal static class KvCommand
{
    public const string Help = """
          demi kv [--bind 127.0.0.1:6379] [--cores LIST] [--idle spin|park|spin-then-park]
                  [--maxmemory BYTES] [--maxclients N] [--timeout SECONDS] [--max-bulk BYTES] [--max-array N]
              Redis-protocol (RESP2) key-value server, keys sharded over the cores; talk to it with
              redis-cli or redis-benchmark. Backend options as below (default kernel sockets).
        """;

    public static int Run(Args args)
    {
        var options = new KvServerOptions
        {
            Bind = Ipv4Endpoint.Parse(args.String("bind", "127.0.0.1:6379")),
            MaxMemory = Long(args, "maxmemory", 1L << 30),
            MaxClients = args.Int("maxclients", 10_000, 1),
            IdleTimeout = TimeSpan.FromSeconds(args.Int("timeout", 0, 0)),
            MaxBulkLength = Long(args, "max-bulk", 512L * 1024 * 1024),
            MaxArrayLength = args.Int("max-array", 1024 * 1024, 1),
        };
        var cores = args.OptionalString("cores");
        int shards = cores is null ? 1 : CpuSet.Parse(cores).Length;
        var libOSOptions = new LibOSOptions
        {
            Cores = cores,
            ShardIdle = IdleStrategy.Parse(args.String("idle", "spin-then-park")),
            Backend = BackendFactory.Create(args, shards),
        };
        args.RejectUnknown();
        using var libOS = new LibOS(libOSOptions);
        using var server = new KvServer(libOS, options);
        server.Start();
        Console.WriteLine($"demi kv ({libOS.Backend.Name} backend, {libOS.Shards.Count} shard(s)) on {server.LocalEndPoint}; Ctrl+C or SIGTERM to stop.");
        using var stop = new ManualResetEventSlim(false);
        // SIGINT and SIGTERM end the server cleanly (the libOS detaches XDP programs and frees the UMEM).
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        stop.Wait();
        return 0;
    }

    private static long Long(Args args, string name, long fallback)
    {
        var text = args.OptionalString(name);
        if (text is null)
            return fallback;
        if (!long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out long value) || value < 0)
            throw new UsageException($"--{name} must be a non-negative integer, got '{text}'");
        return value;
    }
}
