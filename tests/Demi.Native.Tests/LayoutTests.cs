using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demi.Native.Tests;

/// <summary>The same layout facts tests/c/layout.c asserts from C, asserted on the C# structs the exports pass through.</summary>
public sealed class LayoutTests
{
    private static unsafe int Offset<T, TField>(ref T owner, ref TField field)
        => (int)Unsafe.ByteOffset(ref Unsafe.As<T, byte>(ref owner), ref Unsafe.As<TField, byte>(ref field));

    [Fact]
    public void Sizes_match_the_demikernel_abi()
    {
        Assert.Equal(8, sizeof(ulong)); // demi_qtoken_t
        Assert.Equal(12, Unsafe.SizeOf<SgaSegment>());
        Assert.Equal(40, Unsafe.SizeOf<Sga>());
        Assert.Equal(16, Unsafe.SizeOf<SockAddrIn>());
        Assert.Equal(20, Unsafe.SizeOf<AcceptResult>());
        Assert.Equal(64, Unsafe.SizeOf<QResult>());
        Assert.Equal(20, Unsafe.SizeOf<DemiArgs>());
        Assert.Equal(16, Unsafe.SizeOf<Timespec>());
        Assert.Equal(4, Unsafe.SizeOf<Opcode>());
        Assert.Equal(1, Sga.MaxSegments);
        // Marshalled sizes agree (the structs are blittable: what C sees is what C# lays out).
        Assert.Equal(40, Marshal.SizeOf<Sga>());
        Assert.Equal(64, Marshal.SizeOf<QResult>());
        Assert.Equal(20, Marshal.SizeOf<DemiArgs>());
    }

    [Fact]
    public void Sga_offsets()
    {
        var sga = new Sga();
        Assert.Equal(0, Offset(ref sga, ref sga.Handle));
        Assert.Equal(8, Offset(ref sga, ref sga.NumSegments));
        Assert.Equal(12, Offset(ref sga, ref sga.Segment));
        Assert.Equal(12, Offset(ref sga, ref sga.Segment.Buffer));
        Assert.Equal(20, Offset(ref sga, ref sga.Segment.Length));
        Assert.Equal(24, Offset(ref sga, ref sga.Address));
    }

    [Fact]
    public void QResult_offsets()
    {
        var qr = new QResult();
        Assert.Equal(0, Offset(ref qr, ref qr.Opcode));
        Assert.Equal(4, Offset(ref qr, ref qr.Qd));
        Assert.Equal(8, Offset(ref qr, ref qr.Qt));
        Assert.Equal(16, Offset(ref qr, ref qr.Ret));
        Assert.Equal(24, Offset(ref qr, ref qr.Sga));
        Assert.Equal(24, Offset(ref qr, ref qr.AcceptedQd));
        Assert.Equal(28, Offset(ref qr, ref qr.AcceptedAddress));
    }

    [Fact]
    public void Accept_result_overlays_the_qresult_union()
    {
        var ares = new AcceptResult();
        Assert.Equal(0, Offset(ref ares, ref ares.Qd));
        Assert.Equal(4, Offset(ref ares, ref ares.Address));

        var qr = new QResult { AcceptedQd = 501, AcceptedAddress = SockAddrIn.From(new Ipv4Endpoint(Ipv4Address.Loopback, 8080)) };
        var view = Unsafe.As<Sga, AcceptResult>(ref qr.Sga);
        Assert.Equal(501, view.Qd);
        Assert.Equal((ushort)SocketConstants.AF_INET, view.Address.Family);
        Assert.Equal(8080, view.Address.Endpoint.Port);
    }

    [Fact]
    public void Args_and_timespec_offsets()
    {
        var args = new DemiArgs();
        Assert.Equal(0, Offset(ref args, ref args.Argc));
        Assert.Equal(4, Offset(ref args, ref args.Argv));
        Assert.Equal(12, Offset(ref args, ref args.Callback));
        var ts = new Timespec();
        Assert.Equal(0, Offset(ref ts, ref ts.Seconds));
        Assert.Equal(8, Offset(ref ts, ref ts.Nanoseconds));
    }

    [Fact]
    public void Sockaddr_in_offsets()
    {
        var a = new SockAddrIn();
        Assert.Equal(0, Offset(ref a, ref a.Family));
        Assert.Equal(2, Offset(ref a, ref a.PortNetworkOrder));
        Assert.Equal(4, Offset(ref a, ref a.AddressNetworkOrder));
        Assert.Equal(8, Offset(ref a, ref a.Zero));
    }

    [Fact]
    public void Opcode_values()
    {
        Assert.Equal(0, (int)Opcode.Invalid);
        Assert.Equal(1, (int)Opcode.Push);
        Assert.Equal(2, (int)Opcode.Pop);
        Assert.Equal(3, (int)Opcode.Accept);
        Assert.Equal(4, (int)Opcode.Connect);
        Assert.Equal(5, (int)Opcode.Close);
        Assert.Equal(6, (int)Opcode.Failed);
    }
}
