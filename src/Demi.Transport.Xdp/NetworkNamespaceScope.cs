using System.Runtime.InteropServices;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp;

/// <summary>
/// Moves the calling thread into a named network namespace (<c>setns(CLONE_NEWNET)</c>) and back
/// on <see cref="Dispose"/>. Only this thread moves: the rest of the process stays where it was.
/// Sockets, AF_XDP sockets and netlink calls made meanwhile belong to the entered namespace and keep
/// that membership after the thread returns. Dispose on the same thread, and do not await inside.
/// </summary>
public sealed class NetworkNamespaceScope : IDisposable
{
    private int _originalFd;
    private readonly int _threadId;

    private NetworkNamespaceScope(int originalFd)
    {
        _originalFd = originalFd;
        _threadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>Enters the namespace <c>/run/netns/<paramref name="name"/></c> (made by <c>ip netns add</c>).</summary>
    public static NetworkNamespaceScope Enter(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/'))
            throw new ArgumentException("A namespace name, not a path.", nameof(name));
        return EnterPath("/run/netns/" + name);
    }

    /// <summary>Enters the network namespace of a file such as <c>/proc/PID/ns/net</c>.</summary>
    public static NetworkNamespaceScope EnterPath(string path)
    {
        int original = LibC.open("/proc/thread-self/ns/net", LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (original < 0)
            ThrowHelper.ThrowXdp("open(/proc/thread-self/ns/net)", Marshal.GetLastSystemError());
        int target = LibC.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (target < 0)
        {
            int e = Marshal.GetLastSystemError();
            LibC.close(original);
            ThrowHelper.ThrowXdp($"open({path})", e);
        }
        try
        {
            return EnterFd(target, original, path);
        }
        finally
        {
            LibC.close(target);
        }
    }

    /// <summary>Enters the network namespace of an open namespace file descriptor (kept open by the caller).</summary>
    internal static NetworkNamespaceScope EnterFd(int target)
    {
        int original = LibC.open("/proc/thread-self/ns/net", LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (original < 0)
            ThrowHelper.ThrowXdp("open(/proc/thread-self/ns/net)", Marshal.GetLastSystemError());
        return EnterFd(target, original, "fd");
    }

    private static NetworkNamespaceScope EnterFd(int target, int original, string what)
    {
        int rc = LibC.setns(target, LibC.CLONE_NEWNET);
        int err = Marshal.GetLastSystemError();
        if (rc != 0)
        {
            LibC.close(original);
            ThrowHelper.ThrowXdp($"setns({what})", err);
        }
        return new NetworkNamespaceScope(original);
    }

    /// <summary>Opens the calling thread's current network namespace (to come back to it later).</summary>
    internal static int OpenCurrent()
    {
        int fd = LibC.open("/proc/thread-self/ns/net", LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0)
            ThrowHelper.ThrowXdp("open(/proc/thread-self/ns/net)", Marshal.GetLastSystemError());
        return fd;
    }

    /// <summary>Returns the thread to the namespace it was in before <see cref="Enter"/>.</summary>
    public void Dispose()
    {
        if (_originalFd < 0)
            return;
        if (Environment.CurrentManagedThreadId != _threadId)
            ThrowHelper.ThrowInvalidOperation("A network namespace scope must be left on the thread that entered it.");
        int rc = LibC.setns(_originalFd, LibC.CLONE_NEWNET);
        int err = Marshal.GetLastSystemError();
        LibC.close(_originalFd);
        _originalFd = -1;
        if (rc != 0)
            // A thread stuck in a test namespace would send later traffic from the wrong place: fail loudly.
            Environment.FailFast($"setns back to the original network namespace failed: errno {err}");
    }
}
