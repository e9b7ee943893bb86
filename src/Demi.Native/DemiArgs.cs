using System.Runtime.InteropServices;

namespace Demi.Native;

/// <summary>
/// <c>struct demi_args</c> (20 bytes packed): the arguments of <c>demi_init</c>. Demi reads none of
/// them (the backend comes from <c>LIBOS</c> and <c>CONFIG_PATH</c>); the profiler callback is ignored.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct DemiArgs
{
    /// <summary>Number of strings in <see cref="Argv"/>.</summary>
    public int Argc;

    /// <summary><c>char *const *argv</c>.</summary>
    public nint Argv;

    /// <summary><c>demi_callback_t</c>, a profiler hook (ignored).</summary>
    public nint Callback;
}
