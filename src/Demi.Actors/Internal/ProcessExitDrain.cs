namespace Demi.Internal;

/// <summary>
/// Disposes, when the process exits, every libOS the app left undisposed (<see cref="LibOSOptions.DisposeOnProcessExit"/>):
/// the shards are background threads that die with the process, so without this the user-space stack's
/// unacknowledged bytes and its FIN would never be sent, and the peer would wait for ever. The dispose
/// drains as <see cref="LibOS.Dispose"/> always does, bounded by <see cref="LibOSOptions.ShutdownDrainTimeout"/>.
/// </summary>
internal static class ProcessExitDrain
{
    private static readonly object Gate = new();
    private static readonly HashSet<LibOS> Live = [];
    private static bool s_hooked;

    public static void Register(LibOS libOS)
    {
        lock (Gate)
        {
            Live.Add(libOS);
            if (s_hooked)
                return;
            s_hooked = true;
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAll();
    }

    public static void Unregister(LibOS libOS)
    {
        lock (Gate)
            Live.Remove(libOS);
    }

    private static void DisposeAll()
    {
        LibOS[] left;
        lock (Gate)
            left = [.. Live];
        // In parallel: each drain is bounded by its own timeout, and exit should not wait for their sum.
        Parallel.ForEach(left, libOS =>
        {
            try
            {
                libOS.Dispose();
                if (libOS.LastShutdown is { Reset: > 0 } report)
                    Console.Error.WriteLine($"Demi: {report.Reset} connection(s) still unacknowledged after the {libOS.Options.ShutdownDrainTimeout.TotalSeconds:0.#} s drain timeout were reset at process exit");
            }
            catch (Exception e)
            {
                // Nothing may escape a ProcessExit handler; the process is ending either way.
                Console.Error.WriteLine($"Demi: disposing the libOS at process exit failed: {e.Message}");
            }
        });
    }
}
