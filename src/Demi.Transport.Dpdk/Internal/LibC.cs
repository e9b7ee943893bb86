using System.Runtime.InteropServices;

namespace Demi.Transport.Dpdk.Internal;

/// <summary>The libc calls the set-up path needs (none per packet).</summary>
internal static partial class LibC
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    [LibraryImport("libc")]
    public static partial uint geteuid();
}
