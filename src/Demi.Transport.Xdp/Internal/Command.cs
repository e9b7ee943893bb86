using System.Diagnostics;
using System.Text;

namespace Demi.Transport.Xdp.Internal;

/// <summary>Runs a helper program (ip, ethtool, python3, ...) with a time limit; set-up only, never per packet.</summary>
internal static class Command
{
    public static CommandResult Run(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null)
    {
        using var process = Start(file, args, redirectInput: stdin is not null);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        bool exited = process.WaitForExit(timeout);
        if (!exited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        else
        {
            process.WaitForExit(); // flushes the asynchronous output readers
        }
        string o, e2;
        lock (stdout) o = stdout.ToString();
        lock (stderr) e2 = stderr.ToString();
        return new CommandResult(exited ? process.ExitCode : -1, o, e2, !exited);
    }

    public static Process Start(string file, IEnumerable<string> args, bool redirectInput = false)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new XdpException($"could not start {file}");
    }
}
