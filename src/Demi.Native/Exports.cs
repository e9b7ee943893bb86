using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Native.Internal;

namespace Demi.Native;

/// <summary>
/// The Demikernel C ABI exported by <c>libdemi.so</c> (declared in <c>include/demi/*.h</c>). Each entry
/// point checks that <c>demi_init</c> ran (else ENOSYS) and that its pointers are usable (else EINVAL),
/// then calls the same <see cref="LibOS"/> method the C# errno API uses: structs are byte-compatible, so
/// pointers pass straight through. Every entry point catches everything and returns an errno.
/// <para>
/// Each entry point is one <see cref="ILibOSCall"/> struct run by <see cref="Call"/>, the one place
/// that checks initialization and turns exceptions into errnos (a struct, not a closure: the per-call
/// path allocates nothing).
/// </para>
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
    public static int Socket(int* qdOut, int domain, int type, int protocol) => Call(new SocketCall(qdOut, domain, type, protocol));

    private readonly struct SocketCall(int* qdOut, int domain, int type, int protocol) : ILibOSCall
    {
        public string Name => "demi_socket";

        public int Invoke(LibOS libos)
        {
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
    }

    /// <summary><c>int demi_bind(int sockqd, const struct sockaddr *addr, socklen_t size)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_bind")]
    public static int Bind(int qd, byte* addr, uint size) => Call(new BindCall(qd, addr, size));

    private readonly struct BindCall(int qd, byte* addr, uint size) : ILibOSCall
    {
        public string Name => "demi_bind";

        public int Invoke(LibOS libos) => libos.Bind(qd, Address(addr, size));
    }

    /// <summary><c>int demi_listen(int sockqd, int backlog)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_listen")]
    public static int Listen(int qd, int backlog) => Call(new ListenCall(qd, backlog));

    private readonly struct ListenCall(int qd, int backlog) : ILibOSCall
    {
        public string Name => "demi_listen";

        public int Invoke(LibOS libos) => libos.Listen(qd, backlog);
    }

    /// <summary><c>int demi_accept(demi_qtoken_t *qt_out, int sockqd)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_accept")]
    public static int Accept(ulong* qtOut, int qd) => Call(new AcceptCall(qtOut, qd));

    private readonly struct AcceptCall(ulong* qtOut, int qd) : ILibOSCall
    {
        public string Name => "demi_accept";

        public int Invoke(LibOS libos)
        {
            if (qtOut is null)
                return Errno.EINVAL;
            int err = libos.Accept(out ulong qt, qd);
            if (err == 0)
                *qtOut = qt;
            return err;
        }
    }

    /// <summary><c>int demi_connect(demi_qtoken_t *qt_out, int sockqd, const struct sockaddr *addr, socklen_t size)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_connect")]
    public static int Connect(ulong* qtOut, int qd, byte* addr, uint size) => Call(new ConnectCall(qtOut, qd, addr, size));

    private readonly struct ConnectCall(ulong* qtOut, int qd, byte* addr, uint size) : ILibOSCall
    {
        public string Name => "demi_connect";

        public int Invoke(LibOS libos)
        {
            if (qtOut is null)
                return Errno.EINVAL;
            int err = libos.Connect(out ulong qt, qd, Address(addr, size));
            if (err == 0)
                *qtOut = qt;
            return err;
        }
    }

    /// <summary><c>int demi_close(int qd)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_close")]
    public static int Close(int qd) => Call(new CloseCall(qd));

    private readonly struct CloseCall(int qd) : ILibOSCall
    {
        public string Name => "demi_close";

        public int Invoke(LibOS libos) => libos.Close(qd);
    }

    /// <summary><c>int demi_push(demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_push")]
    public static int Push(ulong* qtOut, int qd, Sga* sga) => Call(new PushCall(qtOut, qd, sga));

    private readonly struct PushCall(ulong* qtOut, int qd, Sga* sga) : ILibOSCall
    {
        public string Name => "demi_push";

        public int Invoke(LibOS libos)
        {
            if (qtOut is null)
                return Errno.EINVAL;
            // A NULL sga reaches the LibOS as an empty array, so its checks decide (EBADF before EINVAL).
            Sga empty = default;
            int err = libos.Push(out ulong qt, qd, in sga is null ? ref empty : ref *sga);
            if (err == 0)
                *qtOut = qt;
            return err;
        }
    }

    /// <summary><c>int demi_pushto(demi_qtoken_t *qt_out, int sockqd, const demi_sgarray_t *sga, const struct sockaddr *dest_addr, socklen_t size)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_pushto")]
    public static int PushTo(ulong* qtOut, int qd, Sga* sga, byte* destAddr, uint size) => Call(new PushToCall(qtOut, qd, sga, destAddr, size));

    private readonly struct PushToCall(ulong* qtOut, int qd, Sga* sga, byte* destAddr, uint size) : ILibOSCall
    {
        public string Name => "demi_pushto";

        public int Invoke(LibOS libos)
        {
            if (qtOut is null)
                return Errno.EINVAL;
            Sga empty = default;
            int err = libos.PushTo(out ulong qt, qd, in sga is null ? ref empty : ref *sga, Address(destAddr, size));
            if (err == 0)
                *qtOut = qt;
            return err;
        }
    }

    /// <summary><c>int demi_pop(demi_qtoken_t *qt_out, int qd)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_pop")]
    public static int Pop(ulong* qtOut, int qd) => Call(new PopCall(qtOut, qd));

    private readonly struct PopCall(ulong* qtOut, int qd) : ILibOSCall
    {
        public string Name => "demi_pop";

        public int Invoke(LibOS libos)
        {
            if (qtOut is null)
                return Errno.EINVAL;
            int err = libos.Pop(out ulong qt, qd);
            if (err == 0)
                *qtOut = qt;
            return err;
        }
    }

    /// <summary><c>int demi_setsockopt(int qd, int level, int optname, const void *optval, socklen_t optlen)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_setsockopt")]
    public static int SetSockOpt(int qd, int level, int optionName, byte* value, uint length)
        => Call(new SetSockOptCall(qd, level, optionName, value, length));

    private readonly struct SetSockOptCall(int qd, int level, int optionName, byte* value, uint length) : ILibOSCall
    {
        public string Name => "demi_setsockopt";

        public int Invoke(LibOS libos)
        {
            if ((value is null && length != 0) || length > int.MaxValue)
                return Errno.EINVAL;
            return libos.SetSockOpt(qd, level, optionName, new ReadOnlySpan<byte>(value, (int)length));
        }
    }

    /// <summary><c>int demi_getsockopt(int qd, int level, int optname, void *optval, socklen_t *optlen)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_getsockopt")]
    public static int GetSockOpt(int qd, int level, int optionName, byte* value, uint* length)
        => Call(new GetSockOptCall(qd, level, optionName, value, length));

    private readonly struct GetSockOptCall(int qd, int level, int optionName, byte* value, uint* length) : ILibOSCall
    {
        public string Name => "demi_getsockopt";

        public int Invoke(LibOS libos)
        {
            if (value is null || length is null || *length > int.MaxValue)
                return Errno.EINVAL;
            int err = libos.GetSockOpt(qd, level, optionName, new Span<byte>(value, (int)*length), out int written);
            if (err == 0)
                *length = (uint)written;
            return err;
        }
    }

    /// <summary><c>int demi_getpeername(int qd, struct sockaddr *addr, socklen_t *addrlen)</c>: <c>*addrlen</c> must be 16.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_getpeername")]
    public static int GetPeerName(int qd, SockAddrIn* addr, uint* addrLength) => Call(new GetPeerNameCall(qd, addr, addrLength));

    private readonly struct GetPeerNameCall(int qd, SockAddrIn* addr, uint* addrLength) : ILibOSCall
    {
        public string Name => "demi_getpeername";

        public int Invoke(LibOS libos)
        {
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
    }

    /// <summary><c>demi_sgarray_t demi_sgaalloc(size_t size)</c>: on failure (also before init) sga_buf is NULL and sga_numsegs 0.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_sgaalloc")]
    public static Sga SgaAlloc(nuint size)
    {
        // The one export that returns no errno: a failure is the empty array, so it does not use Call.
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
    public static int SgaFree(Sga* sga) => Call(new SgaFreeCall(sga));

    private readonly struct SgaFreeCall(Sga* sga) : ILibOSCall
    {
        public string Name => "demi_sgafree";

        public int Invoke(LibOS libos) => sga is null ? Errno.EINVAL : libos.SgaFree(in *sga);
    }

    /// <summary><c>int demi_wait(demi_qresult_t *qr_out, demi_qtoken_t qt, const struct timespec *timeout)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_wait")]
    public static int Wait(QResult* result, ulong qt, Timespec* timeout) => Call(new WaitCall(result, qt, timeout));

    private readonly struct WaitCall(QResult* result, ulong qt, Timespec* timeout) : ILibOSCall
    {
        public string Name => "demi_wait";

        public int Invoke(LibOS libos)
        {
            if (result is null)
                return Errno.EINVAL;
            int err = Timespec.ToTimeout(timeout, out var span);
            return err != 0 ? err : libos.Wait(out *result, qt, span);
        }
    }

    /// <summary><c>int demi_wait_any(demi_qresult_t *qr_out, int *ready_offset, const demi_qtoken_t qts[], int num_qts, const struct timespec *timeout)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_wait_any")]
    public static int WaitAny(QResult* result, int* readyOffset, ulong* qts, int count, Timespec* timeout)
        => Call(new WaitAnyCall(result, readyOffset, qts, count, timeout));

    private readonly struct WaitAnyCall(QResult* result, int* readyOffset, ulong* qts, int count, Timespec* timeout) : ILibOSCall
    {
        public string Name => "demi_wait_any";

        public int Invoke(LibOS libos)
        {
            if (result is null || readyOffset is null || qts is null || count < 1)
                return Errno.EINVAL;
            int err = Timespec.ToTimeout(timeout, out var span);
            return err != 0 ? err : libos.WaitAny(out *result, out *readyOffset, new ReadOnlySpan<ulong>(qts, count), span);
        }
    }

    /// <summary><c>int demi_wait_next_n(demi_qresult_t *qr_out, int num_qrs, int *num_qrs_out, const struct timespec *timeout)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "demi_wait_next_n")]
    public static int WaitNextN(QResult* results, int count, int* countOut, Timespec* timeout) => Call(new WaitNextNCall(results, count, countOut, timeout));

    private readonly struct WaitNextNCall(QResult* results, int count, int* countOut, Timespec* timeout) : ILibOSCall
    {
        public string Name => "demi_wait_next_n";

        public int Invoke(LibOS libos)
        {
            if (results is null || countOut is null || count < 1)
                return Errno.EINVAL;
            int err = Timespec.ToTimeout(timeout, out var span);
            return err != 0 ? err : libos.WaitNextN(new Span<QResult>(results, count), out *countOut, span);
        }
    }

    /// <summary>One C ABI call: its checks and the <see cref="LibOS"/> call, given an initialized libOS.</summary>
    private interface ILibOSCall
    {
        /// <summary>The C function's name, for the log of an unexpected exception.</summary>
        string Name { get; }

        int Invoke(LibOS libos);
    }

    /// <summary>
    /// Runs one call: ENOSYS before <c>demi_init</c>; any exception (a bug: nothing may unwind into C)
    /// becomes an errno. Generic over the struct, so each call is its own specialization: no boxing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Call<TCall>(TCall call) where TCall : struct, ILibOSCall
    {
        try
        {
            return NativeHost.Current is { } libos ? call.Invoke(libos) : Errno.ENOSYS;
        }
        catch (Exception e)
        {
            return ExceptionErrno.From(e, call.Name);
        }
    }

    // NULL is an empty span, which the LibOS rejects as EINVAL; a wrong size is rejected before any byte is read.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<byte> Address(byte* addr, uint size)
        => addr is null ? default : new ReadOnlySpan<byte>(addr, (int)Math.Min(size, int.MaxValue));
}
