using System.Runtime.InteropServices;
using Demi.Native.Internal;

namespace Demi.Native.Tests;

/// <summary>
/// Calls the exports in-process through unmanaged function pointers (the same transition a C caller
/// makes), so the ABI layer is covered by <c>dotnet test</c> even without the NativeAOT build.
/// </summary>
public sealed unsafe class ExportsTests : IDisposable
{
    public ExportsTests() => NativeHost.ResetForTests();

    public void Dispose() => NativeHost.ResetForTests();

    private static readonly delegate* unmanaged<DemiArgs*, int> Init = &Exports.Init;
    private static readonly delegate* unmanaged<int*, int, int, int, int> Socket = &Exports.Socket;
    private static readonly delegate* unmanaged<int, byte*, uint, int> Bind = &Exports.Bind;
    private static readonly delegate* unmanaged<int, int> Close = &Exports.Close;
    private static readonly delegate* unmanaged<ulong*, int, Sga*, byte*, uint, int> PushTo = &Exports.PushTo;
    private static readonly delegate* unmanaged<ulong*, int, int> Pop = &Exports.Pop;
    private static readonly delegate* unmanaged<nuint, Sga> SgaAlloc = &Exports.SgaAlloc;
    private static readonly delegate* unmanaged<Sga*, int> SgaFree = &Exports.SgaFree;
    private static readonly delegate* unmanaged<QResult*, ulong, Timespec*, int> Wait = &Exports.Wait;
    private static readonly delegate* unmanaged<QResult*, int*, ulong*, int, Timespec*, int> WaitAny = &Exports.WaitAny;
    private static readonly delegate* unmanaged<int, SockAddrIn*, uint*, int> GetPeerName = &Exports.GetPeerName;

    private static SockAddrIn Loopback(ushort port) => SockAddrIn.From(new Ipv4Endpoint(Ipv4Address.Loopback, port));

    [Fact]
    public void Before_init_everything_is_ENOSYS_and_init_is_once()
    {
        int qd;
        Assert.Equal(Errno.ENOSYS, Socket(&qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(Errno.ENOSYS, Close(500));
        var sga = SgaAlloc(64);
        Assert.Equal(0, sga.Handle);
        Assert.Equal(0u, sga.NumSegments);
        Assert.Equal(0, Init(null));
        Assert.Equal(Errno.EEXIST, Init(null));
        var args = new DemiArgs();
        Assert.Equal(Errno.EEXIST, Init(&args));
    }

    [Fact]
    public void Pushto_pop_round_trip_through_the_exports()
    {
        Assert.Equal(0, Init(null));
        int rx, tx;
        Assert.Equal(0, Socket(&rx, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, Socket(&tx, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.True(rx >= 500 && tx >= 500);
        var any = Loopback(0);
        Assert.Equal(0, Bind(rx, (byte*)&any, SockAddrIn.Size));
        Assert.Equal(0, NativeHost.Current!.GetSockName(rx, out var local));
        var dest = Loopback(local.Port);

        var sga = SgaAlloc(5);
        Assert.Equal(1u, sga.NumSegments);
        "hello"u8.CopyTo(sga.Span);
        ulong qt;
        // The pushto man page errors, through the boundary.
        Assert.Equal(Errno.EINVAL, PushTo(&qt, tx, &sga, null, SockAddrIn.Size));
        Assert.Equal(Errno.EINVAL, PushTo(&qt, tx, &sga, (byte*)&dest, 8));
        Assert.Equal(Errno.EINVAL, PushTo(&qt, tx, null, (byte*)&dest, SockAddrIn.Size));
        var empty = sga;
        empty.Segment.Length = 0;
        Assert.Equal(Errno.EINVAL, PushTo(&qt, tx, &empty, (byte*)&dest, SockAddrIn.Size));
        Assert.Equal(Errno.EBADF, PushTo(&qt, 99_999, &sga, (byte*)&dest, SockAddrIn.Size));
        Assert.Equal(Errno.EINVAL, PushTo(null, tx, &sga, (byte*)&dest, SockAddrIn.Size));

        Assert.Equal(0, PushTo(&qt, tx, &sga, (byte*)&dest, SockAddrIn.Size));
        QResult qr;
        var five = new Timespec { Seconds = 5 };
        Assert.Equal(0, Wait(&qr, qt, &five));
        Assert.Equal(Opcode.Push, qr.Opcode);
        Assert.Equal(qt, qr.Qt);

        Assert.Equal(0, Pop(&qt, rx));
        int offset = -1;
        Assert.Equal(0, WaitAny(&qr, &offset, &qt, 1, &five));
        Assert.Equal(0, offset);
        Assert.Equal(Opcode.Pop, qr.Opcode);
        Assert.Equal("hello"u8.ToArray(), qr.Sga.ToArray());
        Assert.Equal(SocketConstants.AF_INET, qr.Sga.Address.Family);
        Assert.Equal(0, SgaFree(&qr.Sga));
        Assert.Equal(0, SgaFree(&sga));
        Assert.Equal(Errno.EINVAL, SgaFree(&sga));

        var zero = new Timespec();
        Assert.Equal(Errno.EINVAL, Wait(&qr, qt, &zero)); // consumed
        Assert.Equal(Errno.EINVAL, Wait(null, qt, &zero));
        SockAddrIn peer;
        uint len = SockAddrIn.Size;
        Assert.Equal(Errno.ENOTSUP, GetPeerName(rx, &peer, &len));
        len = 8;
        Assert.Equal(Errno.EINVAL, GetPeerName(rx, &peer, &len));
        Assert.Equal(0, Close(rx));
        Assert.Equal(0, Close(tx));
        Assert.Equal(Errno.EBADF, Close(tx));
    }

    [Fact]
    public void Library_exports_every_demi_function()
    {
        // The names the C ABI must export, declared in include/demi/*.h.
        string[] names =
        [
            "demi_init", "demi_socket", "demi_bind", "demi_listen", "demi_accept", "demi_connect", "demi_close",
            "demi_push", "demi_pushto", "demi_pop", "demi_setsockopt", "demi_getsockopt", "demi_getpeername",
            "demi_sgaalloc", "demi_sgafree", "demi_wait", "demi_wait_any", "demi_wait_next_n",
        ];
        var exported = typeof(Exports).GetMethods()
            .Select(m => m.GetCustomAttributes(typeof(UnmanagedCallersOnlyAttribute), false).Cast<UnmanagedCallersOnlyAttribute>().FirstOrDefault()?.EntryPoint)
            .Where(n => n is not null)
            .ToHashSet();
        foreach (var name in names)
            Assert.Contains(name, exported);
        string header = string.Concat(Directory.GetFiles(Paths.Include, "*.h").Select(File.ReadAllText));
        foreach (var name in names)
            Assert.Contains($" {name}(", header);
    }
}
