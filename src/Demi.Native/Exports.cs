using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Native.Internal;

namespace Demi.Native;

/// <summary>
/// The Demikernel C ABI exported by <c>libdemi.so</c> (declared in <c>include/demi/*.h</c>). Each entry
/// point checks that <c>demi_init</c> ran (else ENOSYS) and that its pointers are usable (else EINVAL),
/// then calls the same <see cref="LibOS"/> method the C# errno API uses: structs are byte-compatible, so
/// pointers pass straight through. Every entry point catches everything and returns an errno.
/// </summary>
public static unsafe class Exports
{
    /// <summary><c>int demi_init(const struct demi_args *args)</c>: EEXIST on a second call; see <see cref="NativeHost.Initialize"/>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_init")]
    public static int Init(DemiArgs* args)
    {
        // args (argc/argv/profiler callback) carries nothing Demi uses; NULL is allowed as in Demikernel.
        try
        {
            return NativeHost.Initialize();
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_init");
        }
    }

    /// <summary><c>int demi_socket(int *sockqd_out, int domain, int type, int protocol)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_socket")]
    public static int Socket(int* qdOut, int domain, int type, int protocol)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (qdOut is null)
                return Errno.EINVAL;
            int err = libos.Socket(out int qd, domain, type, protocol);
            if (err != 0)
                return err;
            if (type == SocketConstants.SOCK_STREAM && (err = NativeHost.ApplyTcpOptions(libos, qd)) != 0)
            {
                libos.Close(qd);
                return err;
            }
            *qdOut = qd;
            return 0;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_socket");
        }
    }

    /// <summary><c>int demi_bind(int sockqd, const struct sockaddr *addr, socklen_t size)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_bind")]
    public static int Bind(int qd, byte* addr, uint size)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            return libos.Bind(qd, Address(addr, size));
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_bind");
        }
    }

    /// <summary><c>int demi_listen(int sockqd, int backlog)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_listen")]
    public static int Listen(int qd, int backlog)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            return libos.Listen(qd, backlog);
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_listen");
        }
    }

    /// <summary><c>int demi_accept(demi_qtoken_t *qt_out, int sockqd)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_accept")]
    public static int Accept(ulong* qtOut, int qd)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (qtOut is null)
                return Errno.EINVAL;
            int err = libos.Accept(out ulong qt, qd);
            if (err == 0)
                *qtOut = qt;
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_accept");
        }
    }

    /// <summary><c>int demi_connect(demi_qtoken_t *qt_out, int sockqd, const struct sockaddr *addr, socklen_t size)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_connect")]
    public static int Connect(ulong* qtOut, int qd, byte* addr, uint size)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (qtOut is null)
                return Errno.EINVAL;
            int err = libos.Connect(out ulong qt, qd, Address(addr, size));
            if (err == 0)
                *qtOut = qt;
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_connect");
        }
    }

    /// <summary><c>int demi_close(int qd)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_close")]
    public static int Close(int qd)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            return libos.Close(qd);
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_close");
        }
    }

    /// <summary><c>int demi_push(demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_push")]
    public static int Push(ulong* qtOut, int qd, Sga* sga)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (qtOut is null)
                return Errno.EINVAL;
            // A NULL sga reaches the LibOS as an empty array, so its checks decide (EBADF before EINVAL).
            Sga empty = default;
            int err = libos.Push(out ulong qt, qd, in sga is null ? ref empty : ref *sga);
            if (err == 0)
                *qtOut = qt;
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_push");
        }
    }

    /// <summary><c>int demi_pushto(demi_qtoken_t *qt_out, int sockqd, const demi_sgarray_t *sga, const struct sockaddr *dest_addr, socklen_t size)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_pushto")]
    public static int PushTo(ulong* qtOut, int qd, Sga* sga, byte* destAddr, uint size)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (qtOut is null)
                return Errno.EINVAL;
            Sga empty = default;
            int err = libos.PushTo(out ulong qt, qd, in sga is null ? ref empty : ref *sga, Address(destAddr, size));
            if (err == 0)
                *qtOut = qt;
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_pushto");
        }
    }

    /// <summary><c>int demi_pop(demi_qtoken_t *qt_out, int qd)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_pop")]
    public static int Pop(ulong* qtOut, int qd)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (qtOut is null)
                return Errno.EINVAL;
            int err = libos.Pop(out ulong qt, qd);
            if (err == 0)
                *qtOut = qt;
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_pop");
        }
    }

    /// <summary><c>int demi_setsockopt(int qd, int level, int optname, const void *optval, socklen_t optlen)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_setsockopt")]
    public static int SetSockOpt(int qd, int level, int optionName, byte* value, uint length)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if ((value is null && length != 0) || length > int.MaxValue)
                return Errno.EINVAL;
            return libos.SetSockOpt(qd, level, optionName, new ReadOnlySpan<byte>(value, (int)length));
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_setsockopt");
        }
    }

    /// <summary><c>int demi_getsockopt(int qd, int level, int optname, void *optval, socklen_t *optlen)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_getsockopt")]
    public static int GetSockOpt(int qd, int level, int optionName, byte* value, uint* length)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (value is null || length is null || *length > int.MaxValue)
                return Errno.EINVAL;
            int err = libos.GetSockOpt(qd, level, optionName, new Span<byte>(value, (int)*length), out int written);
            if (err == 0)
                *length = (uint)written;
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_getsockopt");
        }
    }

    /// <summary><c>int demi_getpeername(int qd, struct sockaddr *addr, socklen_t *addrlen)</c>: <c>*addrlen</c> must be 16.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_getpeername")]
    public static int GetPeerName(int qd, SockAddrIn* addr, uint* addrLength)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (addr is null || addrLength is null || *addrLength != SockAddrIn.Size)
                return Errno.EINVAL;
            int err = libos.GetPeerName(qd, out var peer);
            if (err == 0)
            {
                *addr = SockAddrIn.From(peer);
                *addrLength = SockAddrIn.Size;
            }
            return err;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_getpeername");
        }
    }

    /// <summary><c>demi_sgarray_t demi_sgaalloc(size_t size)</c>: on failure (also before init) sga_buf is NULL and sga_numsegs 0.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_sgaalloc")]
    public static Sga SgaAlloc(nuint size)
    {
        try
        {
            if (NativeHost.Current is not { } libos || (ulong)size > long.MaxValue)
                return default;
            return libos.SgaAlloc((long)size);
        }
        catch (Exception e)
        {
            ExceptionErrno.From(e, "demi_sgaalloc");
            return default;
        }
    }

    /// <summary><c>int demi_sgafree(demi_sgarray_t *sga)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_sgafree")]
    public static int SgaFree(Sga* sga)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (sga is null)
                return Errno.EINVAL;
            return libos.SgaFree(in *sga);
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_sgafree");
        }
    }

    /// <summary><c>int demi_wait(demi_qresult_t *qr_out, demi_qtoken_t qt, const struct timespec *timeout)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_wait")]
    public static int Wait(QResult* result, ulong qt, Timespec* timeout)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (result is null)
                return Errno.EINVAL;
            int err = Timespec.ToTimeout(timeout, out var span);
            return err != 0 ? err : libos.Wait(out *result, qt, span);
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_wait");
        }
    }

    /// <summary><c>int demi_wait_any(demi_qresult_t *qr_out, int *ready_offset, const demi_qtoken_t qts[], int num_qts, const struct timespec *timeout)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_wait_any")]
    public static int WaitAny(QResult* result, int* readyOffset, ulong* qts, int count, Timespec* timeout)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (result is null || readyOffset is null || qts is null || count < 1)
                return Errno.EINVAL;
            int err = Timespec.ToTimeout(timeout, out var span);
            return err != 0 ? err : libos.WaitAny(out *result, out *readyOffset, new ReadOnlySpan<ulong>(qts, count), span);
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_wait_any");
        }
    }

    /// <summary><c>int demi_wait_next_n(demi_qresult_t *qr_out, int num_qrs, int *num_qrs_out, const struct timespec *timeout)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_wait_next_n")]
    public static int WaitNextN(QResult* results, int count, int* countOut, Timespec* timeout)
    {
        try
        {
            if (NativeHost.Current is not { } libos)
                return Errno.ENOSYS;
            if (results is null || countOut is null || count < 1)
                return Errno.EINVAL;
            int err = Timespec.ToTimeout(timeout, out var span);
            return err != 0 ? err : libos.WaitNextN(new Span<QResult>(results, count), out *countOut, span);
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, "demi_wait_next_n");
        }
    }

    // NULL is an empty span, which the LibOS rejects as EINVAL; a wrong size is rejected before any byte is read.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<byte> Address(byte* addr, uint size)
        => addr is null ? default : new ReadOnlySpan<byte>(addr, (int)Math.Min(size, int.MaxValue));
}
