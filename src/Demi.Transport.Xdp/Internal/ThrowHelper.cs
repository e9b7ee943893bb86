using System.Diagnostics.CodeAnalysis;

namespace Demi.Transport.Xdp;

/// <summary>Keeps throw sites out of hot methods so they stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) => throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void ThrowObjectDisposed(string name) => throw new ObjectDisposedException(name);

    [DoesNotReturn]
    public static void ThrowXdp(string what, int errno)
        => throw new XdpException(Internal.NativeLog.StepWarnings() is { Length: > 0 } said ? $"{what} [{said}]" : what, errno);
}
