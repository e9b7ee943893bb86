using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Demi.Kv.Tests;

/// <summary>Debian's redis-server on 127.0.0.1 (a free port), no persistence: the reference the replies are checked against.</summary>
public sealed class RedisServerProcess : IDisposable
{
    public const string Binary = "/usr/bin/redis-server";
    private readonly Process _process;

    public RedisServerProcess()
    {
        if (!File.Exists(Binary))
            throw new InvalidOperationException($"{Binary} is missing: run scripts/install-deps.sh (Debian redis-server)");
        Port = FreePort();
        _process = Process.Start(new ProcessStartInfo(Binary, $"--port {Port} --bind 127.0.0.1 --save \"\" --appendonly no --protected-mode no")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new RawClient(Port);
                if (probe.Call("PING") == "+PONG\r\n")
                    break;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }
        }
    }

    public int Port { get; }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
