using System.Diagnostics;

namespace Demi.Perf.Internal;

/// <summary>Builds the C programs (xdpperf, tcpperf) with gcc next to the harness's binary, when missing or stale.</summary>
internal static class NativeTools
{
    public static (string XdpPerf, string TcpPerf) Build()
    {
        string src = Path.Combine(AppContext.BaseDirectory, "xdp-echo");
        string outDir = Path.Combine(AppContext.BaseDirectory, "native");
        Directory.CreateDirectory(outDir);
        string xdp = Path.Combine(outDir, "xdpperf"), tcp = Path.Combine(outDir, "tcpperf");
        Compile(Path.Combine(src, "xdpperf.c"), xdp, "-lxdp", "-lbpf");
        Compile(Path.Combine(src, "tcpperf.c"), tcp);
        return (xdp, tcp);
    }

    private static void Compile(string source, string output, params string[] libs)
    {
        if (!File.Exists(source))
            throw new PerfException($"{source} is missing (the build copies perf/xdp-echo next to the binary)");
        if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(source))
            return;
        var psi = new ProcessStartInfo("gcc") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-o", output, source })
            psi.ArgumentList.Add(a);
        foreach (var l in libs)
            psi.ArgumentList.Add(l);
        using var p = Process.Start(psi) ?? throw new PerfException("cannot start gcc");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new PerfException($"gcc {Path.GetFileName(source)} failed (libxdp-dev installed? scripts/install-deps.sh):\n{err}");
    }
}
