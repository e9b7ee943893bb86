using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Demi.Transport.Xdp.Internal;

/// <summary>
/// Takes over libxdp's and libbpf's log output. Left alone, both print to stderr: a dozen lines for every
/// socket opened even when all goes well (no bpffs, so no dispatcher; ELF sections libbpf does not know),
/// in the application's own output. Instead the warnings of the calling thread's current set-up step are
/// kept and become part of the <see cref="XdpException"/> of a step that fails (the kernel's own reason
/// is often among them); <c>DEMI_XDP_LOG=warn|info|debug</c> prints the lines up to that level as they come.
/// </summary>
internal static unsafe partial class NativeLog
{
    // libxdp_print_level and libbpf_print_level share their numbers.
    private const int Warn = 0;
    private const int Info = 1;
    private const int Debug = 2;
    private const int MaxStepLines = 16;
    private const int LineBufferSize = 512;

    private static readonly int s_echoLevel = ParseLevel(Environment.GetEnvironmentVariable("DEMI_XDP_LOG"));
    private static int s_installed;

    [ThreadStatic]
    private static List<string>? t_stepLines;

    /// <summary>Installs the callbacks, once per process, before the first libxdp or libbpf call.</summary>
    public static void EnsureInstalled()
    {
        if (Volatile.Read(ref s_installed) != 0 || Interlocked.Exchange(ref s_installed, 1) != 0)
            return;
        delegate* unmanaged[Cdecl]<int, byte*, nint, int> print = &Print;
        LibXdp.libxdp_set_print((nint)print);
        LibBpf.libbpf_set_print((nint)print);
    }

    /// <summary>Starts a set-up step on this thread: forgets the warnings of the one before.</summary>
    public static void BeginStep()
    {
        EnsureInstalled();
        t_stepLines?.Clear();
    }

    /// <summary>The warnings of this thread's current step, joined; empty when there were none.</summary>
    public static string StepWarnings() => t_stepLines is { Count: > 0 } lines ? string.Join("; ", lines) : "";

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Print(int level, byte* format, nint args)
    {
        try
        {
            if (level > Warn && level > s_echoLevel)
                return 0;
            byte* buffer = stackalloc byte[LineBufferSize];
            int n = vsnprintf(buffer, LineBufferSize, format, args);
            if (n <= 0)
                return 0;
            string line = Encoding.UTF8.GetString(buffer, Math.Min(n, LineBufferSize - 1)).TrimEnd('\n');
            if (level == Warn)
            {
                var lines = t_stepLines ??= [];
                if (lines.Count < MaxStepLines)
                    lines.Add(line);
            }
            if (level <= s_echoLevel)
                Console.Error.WriteLine(line);
        }
        catch
        {
            // A log line is never worth an exception escaping into C.
        }
        return 0;
    }

    private static int ParseLevel(string? value) => value?.ToLowerInvariant() switch
    {
        "warn" or "1" or "true" => Warn,
        "info" => Info,
        "debug" => Debug,
        _ => -1,
    };

    // va_list is a pointer to the caller's argument state on x86-64 and arm64 Linux: passed through as it came.
    [LibraryImport("libc", EntryPoint = "vsnprintf")]
    private static partial int vsnprintf(byte* buffer, nuint size, byte* format, nint args);
}
