using System.Runtime.InteropServices;
using Demi.Internal.Native;

namespace Demi.Native.Internal;

/// <summary>
/// The one libOS of the process behind the C ABI (Demikernel has one per process too), and
/// <c>demi_init</c>'s backend selection from <c>LIBOS</c> and <c>CONFIG_PATH</c>.
/// </summary>
internal static unsafe partial class NativeHost
{
    private static readonly object Gate = new();
    private static LibOS? s_libos;
    private static DemiConfig? s_config;
    private static bool s_exitHookRegistered;

    /// <summary>The initialized libOS, or null before <c>demi_init</c> (callers answer ENOSYS).</summary>
    public static LibOS? Current => Volatile.Read(ref s_libos);

    /// <summary>The configuration read at init (null without <c>CONFIG_PATH</c>).</summary>
    public static DemiConfig? Config => Volatile.Read(ref s_config);

    /// <summary>
    /// Creates the libOS. EEXIST when one exists; a failed init leaves nothing behind, so it may be retried
    /// (with a fixed environment). Errors are explained on stderr: a C program has no other channel.
    /// </summary>
    public static int Initialize()
    {
        lock (Gate)
        {
            if (s_libos is not null)
                return Errno.EEXIST;
            int err = CreateOptions(GetEnv("LIBOS"), GetEnv("CONFIG_PATH"), out var options, out var config, out var error);
            if (err != 0)
            {
                Report(error!);
                return err;
            }
            LibOS libos;
            try
            {
                libos = new LibOS(options);
            }
            catch (ArgumentException e)
            {
                options.Backend?.Dispose();
                Report($"bad configuration: {e.Message}");
                return Errno.EINVAL;
            }
            catch
            {
                options.Backend?.Dispose();
                throw;
            }
            s_config = config;
            Volatile.Write(ref s_libos, libos);
            if (!s_exitHookRegistered)
            {
                // Demikernel has no demi_fini: release the libOS when the C program exits, so that AF_XDP
                // sockets are closed and their XDP program detached instead of left on the interface.
                try
                {
                    s_exitHookRegistered = Libc.__cxa_atexit(&OnProcessExit, null, null) == 0;
                }
                catch (Exception e)
                {
                    // Not fatal: the libOS works; only the cleanup at exit is lost.
                    Report($"cannot register the exit hook: {e.Message}");
                }
            }
            return 0;
        }
    }

    /// <summary>Chooses the backend and reads the configuration file (no side effects besides reading it).</summary>
    public static int CreateOptions(string? libosName, string? configPath, out LibOSOptions options, out DemiConfig? config, out string? error)
    {
        options = new LibOSOptions();
        config = null;
        error = null;
        if (!string.IsNullOrEmpty(configPath))
        {
            int err = DemiConfig.Load(configPath, out config, out error);
            if (err != 0)
            {
                error = $"CONFIG_PATH: {error}";
                return err;
            }
            options.Cores = config!.Cores;
            if (config.ShardCount is int shards)
                options.ShardCount = shards;
            if (config.DrainTimeoutMs is int drainMs)
                options.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(drainMs);
        }
        switch (string.IsNullOrEmpty(libosName) ? "catnap" : libosName)
        {
            case "catnap":
                // Kernel sockets: the LibOS default backend.
                return 0;
            case "catpowder":
                // AF_XDP under the user-space stack; opens the sockets now, so only in demi_init.
                return CatpowderFactory.Create(config, options, out error);
            case "catnip":
                // DPDK under the user-space stack; starts the EAL now, so only in demi_init.
                return CatnipFactory.Create(config, options, out error);
            case "catloop" or "catmem" or "catcollar" or "catnapw":
                error = $"LIBOS={libosName}: this Demikernel libOS is not offered by Demi (use catnap, catpowder or catnip)";
                return Errno.ENOTSUP;
            default:
                error = $"LIBOS={libosName}: unknown libOS (use catnap, catpowder or catnip)";
                return Errno.EINVAL;
        }
    }

    /// <summary>Applies <c>tcp_socket_options</c> from the configuration to a new TCP socket, as Demikernel does.</summary>
    public static int ApplyTcpOptions(LibOS libos, int qd)
    {
        var config = Config;
        if (config is null)
            return 0;
        Span<byte> value = stackalloc byte[8];
        int err = 0;
        if (config.NoDelay is bool noDelay)
        {
            BitConverter.TryWriteBytes(value, noDelay ? 1 : 0);
            err = libos.SetSockOpt(qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, value[..4]);
        }
        if (err == 0 && config.KeepAlive is bool keepAlive)
        {
            BitConverter.TryWriteBytes(value, keepAlive ? 1 : 0);
            err = libos.SetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, value[..4]);
        }
        // tcp_socket_options.linger is not applied to sockets: Demikernel's default file sets it {on, 0},
        // which would make every close an abort (a RST discarding unsent bytes). Demikernel itself
        // closes with a FIN (its kernel-socket libOS ignores the key, its stack only shortens TIME_WAIT
        // with it); an app that wants an abortive close sets SO_LINGER itself.
        return err;
    }

    /// <summary>Writes a diagnostic line to stderr (never throws).</summary>
    public static void Report(string message)
    {
        try
        {
            Console.Error.WriteLine($"libdemi: {message}");
        }
        catch
        {
            // stderr closed: nothing more to do.
        }
    }

    // The C program's environment as it is now (setenv before demi_init must count), not .NET's snapshot.
    private static string? GetEnv(string name) => Marshal.PtrToStringUTF8(Libc.getenv(name));


    [UnmanagedCallersOnly]
    private static void OnProcessExit(void* argument)
    {
        try
        {
            var libos = Interlocked.Exchange(ref s_libos, null);
            libos?.Dispose();
            if (libos?.LastShutdown is { Reset: > 0 } shutdown)
                Report($"{shutdown.Reset} connection(s) still unacknowledged after the {libos.Options.ShutdownDrainTimeout.TotalSeconds:0.#} s drain timeout were reset at exit");
        }
        catch (Exception e)
        {
            Report($"releasing the libOS at exit failed: {e.Message}");
        }
    }

    /// <summary>Test hook: drops the libOS so init can be tested again in one process.</summary>
    internal static void ResetForTests()
    {
        lock (Gate)
        {
            s_libos?.Dispose();
            s_libos = null;
            s_config = null;
        }
    }
}
