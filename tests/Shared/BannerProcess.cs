using System.Collections.Concurrent;
using System.Diagnostics;

namespace Demi.Tests.Shared;

/// <summary>
/// A server started as its own process (the CLI as a user runs it) that prints a banner line when it
/// serves. Output is read asynchronously (a synchronous ReadLine on a server that never prints would
/// hang the test) and kept for failure messages; disposing kills it if it is still running.
/// </summary>
internal sealed class BannerProcess : IDisposable
{
    private readonly TaskCompletionSource<string> _banner = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _output = new();

    private BannerProcess(ProcessStartInfo start, string bannerPrefix)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        Process = new Process { StartInfo = start, EnableRaisingEvents = true };
        Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            _output.Enqueue(e.Data);
            if (e.Data.StartsWith(bannerPrefix, StringComparison.Ordinal))
                _banner.TrySetResult(e.Data);
        };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        Process.Exited += (_, _) => _banner.TrySetException(new InvalidOperationException("the server exited"));
    }

    public Process Process { get; }

    /// <summary>Everything the process printed so far, one line each.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts the process and returns its banner line; fails the test if it exits or stays silent for <paramref name="timeout"/>.</summary>
    public static async Task<(BannerProcess Server, string Banner)> StartAsync(ProcessStartInfo start, string bannerPrefix, TimeSpan timeout)
    {
        var server = new BannerProcess(start, bannerPrefix);
        try
        {
            Assert.True(server.Process.Start());
            server.Process.BeginOutputReadLine();
            server.Process.BeginErrorReadLine();
            var settled = await Task.WhenAny(server._banner.Task, Task.Delay(timeout));
            Assert.True(settled == server._banner.Task, $"no banner within {timeout}: {server.Output}");
            Assert.False(server._banner.Task.IsFaulted,
                $"the server exited ({(server.Process.HasExited ? server.Process.ExitCode : -1)}): {server.Output}");
            return (server, await server._banner.Task);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (!Process.HasExited)
            Process.Kill(entireProcessTree: true);
        Assert.True(Process.WaitForExit(10_000), "the server survived a kill");
        Process.Dispose();
    }
}
