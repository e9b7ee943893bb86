using System.Text;
using Demi.Native.Internal;

namespace Demi.Fuzz;

/// <summary>
/// The YAML configuration parser (<c>demi_init</c>'s file): any text gives 0 with a configuration, or
/// EINVAL with a message; an exception of any kind escaping it fails the input.
/// </summary>
internal static class ConfigHarness
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        string text = Encoding.UTF8.GetString(input);
        int rc = ConfigParser.Parse(text, "fuzz.yaml", out var config, out var error);
        if (rc == 0 && config is null)
            throw new FuzzInvariantException("Parse returned 0 without a configuration");
        if (rc != 0 && (rc != Errno.EINVAL || string.IsNullOrEmpty(error)))
            throw new FuzzInvariantException($"Parse returned {Errno.Name(rc)} with error '{error}' (expected EINVAL with a message)");
    }
}
