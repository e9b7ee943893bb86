using System.Diagnostics;
using System.Text;

namespace Demi.Perf.Internal;

/// <summary>
/// A process run inside a network namespace with <c>nsenter --net</c> (which keeps bpffs visible,
/// unlike <c>ip netns exec</c>) and pinned with <c>taskset</c>. Output is collected; Dispose kills it.
/// </summary>
internal sealed class NsProcess : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new(), _err = new();
    private readonly object _gate = new();
    private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NsProcess(string ns, int core, string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
        : this(ns, core.ToString(System.Globalization.CultureInfo.InvariantCulture), file, args, env)
    {
    }

    /// <summary>Runs pinned to the CPU list <paramref name="cores"/> (taskset syntax, e.g. "0-1").</summary>
    public NsProcess(string ns, string cores, string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("nsenter")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--net=/run/netns/" + ns, "--", "taskset", "-c", cores, file })
            psi.ArgumentList.Add(a);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (env is not null)
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        _p = new Process { StartInfo = psi };
        _p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _firstLine.TrySetResult("");
                return;
            }
            lock (_gate)
                _out.AppendLine(e.Data);
            _firstLine.TrySetResult(e.Data);
        };
        _p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (_gate)
                    _err.AppendLine(e.Data);
        };
        CommandLine = $"nsenter {string.Join(' ', psi.ArgumentList)}";
        if (!_p.Start())
            throw new PerfException("cannot start " + CommandLine);
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    public string CommandLine { get; }

    /// <summary>The process id (nsenter and taskset exec the target, so it is the program itself).</summary>
    public int Pid => _p.Id;

    public string StandardOutput { get { lock (_gate) return _out.ToString(); } }

    public string StandardError { get { lock (_gate) return _err.ToString(); } }

    public bool HasExited => _p.HasExited;

    /// <summary>Waits for the first stdout line (a server's ready line); throws with stderr if it does not come.</summary>
    public string WaitFirstLine(TimeSpan timeout)
    {
        if (!_firstLine.Task.Wait(timeout) || _firstLine.Task.Result.Length == 0)
            throw new PerfException($"{CommandLine} did not start:\n{StandardError}");
        return _firstLine.Task.Result;
    }

    /// <summary>Waits for exit; kills and throws after <paramref name="timeout"/>.</summary>
    public void WaitExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout))
        {
            Kill();
            throw new PerfException($"{CommandLine} did not finish in {timeout.TotalSeconds:F0} s");
        }
        _p.WaitForExit(); // flushes the asynchronous readers
    }

    public int ExitCode => _p.ExitCode;

    /// <summary>Asks a server to stop (closes its stdin), then kills it if it lingers.</summary>
    public void Stop(TimeSpan grace)
    {
        try
        {
            _p.StandardInput.Close();
        }
        catch (IOException) { }
        // nsenter and taskset exec the target, so our child's pid is the server itself: SIGTERM lets
        // an AF_XDP server detach its program and print its counters.
        if (!_p.HasExited)
            _ = kill(_p.Id, 15);
        if (!_p.WaitForExit(grace))
            Kill();
        _p.WaitForExit();
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private void Kill()
    {
        try
        {
            if (!_p.HasExited)
                _p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Kill();
        _p.Dispose();
    }
}
