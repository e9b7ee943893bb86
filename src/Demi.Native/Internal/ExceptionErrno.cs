namespace Demi.Native.Internal;

/// <summary>Turns an exception caught at the C boundary into an errno: no exception may unwind into C.</summary>
internal static class ExceptionErrno
{
    public static int From(Exception exception, string function)
    {
        switch (exception)
        {
            case DemiException demi:
                return demi.ErrorCode;
            case OutOfMemoryException:
                return Errno.ENOMEM;
            case ObjectDisposedException:
                return Errno.EBADF;
            case ArgumentException:
                return Errno.EINVAL;
            default:
                // Not an expected failure: say so, since the errno alone would hide a bug.
                NativeHost.Report($"{function}: internal error: {exception.GetType().Name}: {exception.Message}");
                return Errno.EIO;
        }
    }
}
