using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// Issue 16 item 3 from C#: a C# program (tests/Demi.ExitProbe) pushes 64 KB on a TCP connection and
/// exits as soon as its push completed, without disposing its libOS, by returning from Main or by
/// <see cref="Environment.Exit"/>; a Linux kernel peer reading slowly (a small receive buffer) must
/// get every byte, then end of stream. On the kernel backend over 127.0.0.1 and on AF_XDP (the
/// user-space stack) between two network namespaces. (The C variant is tests/c/exit_drain.c.)
/// </summary>
public sealed class ProcessExitDrainTests(ITestOutputHelper output)
{
    private const int Bytes = 64 * 1024;
    private const int SmallReceiveBuffer = 4096;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    // Runs per exit style (each a process start); DEMI_EXIT_RUNS raises it (the issue's bar is 50 of 50).
    private static int Runs(int standard)
        => int.TryParse(Environment.GetEnvironmentVariable("DEMI_EXIT_RUNS"), out int n) && n > 0 ? n : standard;

    private static string Probe()
    {
        string probe = Path.Combine(AppContext.BaseDirectory, "demi-exit-probe.dll");
        Assert.True(File.Exists(probe), $"{probe} is missing");
        return probe;
    }

    private static bool IsProbeByte(int i, byte b) => b == (byte)(i * 7 + 1);

    [Theory]
    [InlineData("return")]
    [InlineData("exit")]
    public async Task KernelBackendExitRightAfterThePushDeliversEveryByteThenEndOfStream(string exitStyle)
    {
        string probe = Probe();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = SmallReceiveBuffer; // inherited by the accepted socket: the sender is held back
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        int runs = Runs(10);
        for (int run = 0; run < runs; run++)
        {
            using var app = StartProcess("dotnet", probe, "kernel", $"127.0.0.1:{endpoint.Port}", Bytes.ToString(CultureInfo.InvariantCulture), exitStyle);
            using var peer = await Within(listener.AcceptAsync());
            if (peer is null)
                Assert.Fail($"run {run}: no connection; probe: {Describe(app)}"); // Describe reads the probe's output: only on failure
            peer.ReceiveTimeout = (int)Limit.TotalMilliseconds;
            var (read, intact, error) = ReadSlowlyToEnd(peer);
            Assert.True(app.WaitForExit(Limit), $"run {run}: the probe did not exit");
            string stdout = app.StandardOutput.ReadToEnd();
            Assert.True(app.ExitCode == 0 && stdout.Contains($"pushed {Bytes}"), $"run {run}: probe exit {app.ExitCode}: {stdout} {app.StandardError.ReadToEnd()}");
            Assert.True(error == SocketError.Success, $"run {run} ({exitStyle}): the peer's read failed with {error} after {read} bytes");
            Assert.Equal(Bytes, read);
            Assert.True(intact, $"run {run}: the bytes differ from what was pushed");
        }
        output.WriteLine($"kernel backend, {exitStyle}: {runs} of {runs} runs delivered {Bytes} B then end of stream");
    }

    private const string KernelSink = """
        import socket, sys, time
        host, port, rcvbuf, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        l.bind((host, port))
        l.listen(8)
        l.settimeout(60)
        print("listening", flush=True)
        for run in range(runs):
            c, _ = l.accept()
            c.settimeout(20)
            got = bytearray()
            err = "none"
            try:
                while True:
                    b = c.recv(2048)
                    if not b:
                        break
                    got += b
                    time.sleep(0.002)  # a slow reader: the sender's bytes are still in flight when it exits
            except Exception as e:
                err = type(e).__name__
            ok = all(got[i] == (i * 7 + 1) & 0xFF for i in range(len(got)))
            print(len(got), "intact" if ok else "corrupt", err, flush=True)
            c.close()
        """;

    [Theory]
    [InlineData("return")]
    [InlineData("exit")]
    public async Task XdpBackendExitRightAfterThePushDeliversEveryByteThenEndOfStream(string exitStyle)
    {
        Privileges.RequireRoot();
        string probe = Probe();
        int runs = Runs(5);
        using var veth = VethNamespaces.Create();
        var sink = veth.Start(VethSide.B, "python3", "-c", KernelSink, veth.AddressB, "7300",
            SmallReceiveBuffer.ToString(CultureInfo.InvariantCulture), runs.ToString(CultureInfo.InvariantCulture));
        string? ready = await Within(sink.StandardOutput.ReadLineAsync());
        Assert.True(ready == "listening", $"sink: {ready} {(sink.HasExited ? sink.StandardError.ReadToEnd() : "")}");
        for (int run = 0; run < runs; run++)
        {
            var app = veth.Start(VethSide.A, "dotnet", probe, "xdp", $"{veth.AddressB}:7300", Bytes.ToString(CultureInfo.InvariantCulture),
                exitStyle, veth.InterfaceA, veth.AddressA);
            string? line = await Within(sink.StandardOutput.ReadLineAsync());
            bool reported = line is not null;
            bool exited = app.WaitForExit(Limit);
            string probeOutput = exited ? app.StandardOutput.ReadToEnd() + app.StandardError.ReadToEnd() : "(still running)";
            Assert.True(reported, $"run {run} ({exitStyle}): the peer saw no end of stream; probe: {probeOutput}");
            Assert.True(exited && app.ExitCode == 0 && probeOutput.Contains($"pushed {Bytes}"), $"run {run}: probe: {probeOutput}");
            Assert.True(line == $"{Bytes} intact none", $"run {run} ({exitStyle}): the peer read \"{line}\" (bytes, content, error); probe: {probeOutput}");
        }
        Assert.True(sink.WaitForExit(Limit));
        output.WriteLine($"AF_XDP (user-space stack), {exitStyle}: {runs} of {runs} runs delivered {Bytes} B then end of stream");
    }

    // The task's result, or null when it takes longer than the limit.
    private static async Task<T?> Within<T>(ValueTask<T> task) where T : class?
    {
        try
        {
            return await task.AsTask().WaitAsync(Limit);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task NamespacesOfAProcessEndedByASignalAreDeleted(string signal)
    {
        Privileges.RequireRoot();
        // Through python, which resets both signals to their default: a test runner started in the
        // background passes SIGINT on as ignored, and a signal the probe was started ignoring stays
        // ignored (the next test).
        using var probe = StartProcess("python3", "-c", ResetSignalsAndExec, "dotnet", Probe(), "veth");
        var line = await probe.StandardOutput.ReadLineAsync().WaitAsync(Limit);
        var names = line?.Split(' ') ?? [];
        Assert.True(names is ["veth", _, _], $"the probe printed no namespaces: {line} / {Describe(probe)}");
        Assert.Contains(names[1], NamespaceList());
        using (var kill = StartProcess("kill", $"-{signal}", probe.Id.ToString(CultureInfo.InvariantCulture)))
            Assert.True(kill.WaitForExit(10_000) && kill.ExitCode == 0, "kill failed");
        Assert.True(probe.WaitForExit(30_000), "the probe did not end on the signal");
        Assert.NotEqual(3, probe.ExitCode); // it ended by the signal, not by its own timeout
        var left = NamespaceList();
        Assert.DoesNotContain(names[1], left);
        Assert.DoesNotContain(names[2], left);
        output.WriteLine($"SIG{signal}: exit code {probe.ExitCode}, {names[1]} and {names[2]} deleted");
    }

    [Fact]
    public async Task ASignalTheProcessWasStartedIgnoringLeavesItsNamespacesAlone()
    {
        Privileges.RequireRoot();
        using var probe = StartProcess("python3", "-c", IgnoreIntAndExec, "dotnet", Probe(), "veth");
        var line = await probe.StandardOutput.ReadLineAsync().WaitAsync(Limit);
        var names = line?.Split(' ') ?? [];
        Assert.True(names is ["veth", _, _], $"the probe printed no namespaces: {line} / {Describe(probe)}");
        try
        {
            using (var kill = StartProcess("kill", "-INT", probe.Id.ToString(CultureInfo.InvariantCulture)))
                Assert.True(kill.WaitForExit(10_000) && kill.ExitCode == 0, "kill failed");
            Thread.Sleep(1000);
            Assert.False(probe.HasExited, "an ignored SIGINT ended the probe");
            Assert.Contains(names[1], NamespaceList()); // still running, still with its namespaces
        }
        finally
        {
            using var term = StartProcess("kill", "-TERM", probe.Id.ToString(CultureInfo.InvariantCulture));
            term.WaitForExit(10_000);
            probe.WaitForExit(30_000);
        }
        Assert.DoesNotContain(names[1], NamespaceList());
    }

    private const string ResetSignalsAndExec = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])";
    private const string IgnoreIntAndExec = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])";

    private static string NamespaceList()
    {
        using var list = StartProcess("ip", "netns", "list");
        string text = list.StandardOutput.ReadToEnd();
        Assert.True(list.WaitForExit(10_000), "ip netns list did not end");
        return text;
    }

    private static async Task<T?> Within<T>(Task<T> task) where T : class?
    {
        try
        {
            return await task.WaitAsync(Limit);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private static Process StartProcess(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
    }

    private static string Describe(Process p)
        => p.HasExited ? $"exited {p.ExitCode}: {p.StandardOutput.ReadToEnd()} {p.StandardError.ReadToEnd()}" : "still running";

    private static (int Read, bool Intact, SocketError Error) ReadSlowlyToEnd(Socket peer)
    {
        var buffer = new byte[2048];
        int total = 0;
        bool intact = true;
        try
        {
            while (true)
            {
                int n = peer.Receive(buffer);
                if (n == 0)
                    return (total, intact, SocketError.Success);
                for (int i = 0; i < n; i++)
                    intact &= IsProbeByte(total + i, buffer[i]);
                total += n;
                Thread.Sleep(2);
            }
        }
        catch (SocketException e)
        {
            return (total, intact, e.SocketErrorCode);
        }
    }
}
