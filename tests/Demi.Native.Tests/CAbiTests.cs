using System.Diagnostics;
using Xunit.Abstractions;

namespace Demi.Native.Tests;

/// <summary>
/// Runs tests/c/run.sh: publishes libdemi.so with NativeAOT (skipped when up to date), compiles the C
/// tests with gcc -Wall -Werror against include/demi and -ldemi, and runs them (layout, every documented
/// error, init/config, UDP pushto, TCP ping-pong between two processes).
/// </summary>
public sealed class CAbiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task C_programs_pass_against_libdemi()
    {
        Assert.True(File.Exists("/usr/bin/gcc") || File.Exists("/usr/local/bin/gcc"),
            "gcc is required to compile the C ABI tests (apt-get install gcc)");
        var start = new ProcessStartInfo("bash", [Paths.RunScript])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Paths.Root,
        };
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(9));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("tests/c/run.sh did not finish in 9 minutes");
        }
        string stdout = await stdoutTask, stderr = await stderrTask;
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(process.ExitCode == 0, $"tests/c/run.sh exited {process.ExitCode}:\n{stdout}\n{stderr}");
        Assert.Contains(" 0 failed", stdout.TrimEnd().Split('\n')[^1]);
    }
}
