using Demi.Buffers;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>Two stacks (A 10.0.0.1, B 10.0.0.2) and a raw peer port on one virtual wire, on a manual clock.</summary>
internal sealed class TwoStacks : IDisposable
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.0.0.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.0.0.2");
    public static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    public static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    public static readonly MacAddress MacRaw = MacAddress.Parse("02:00:00:00:00:ee");
    public static readonly Ipv4Address AddressRaw = Ipv4Address.Parse("10.0.0.238");

    public TwoStacks(VirtualWireOptions? wireOptions = null, Action<InetStackOptions>? configureA = null, Action<InetStackOptions>? configureB = null, int seed = 7)
    {
        Clock = new ManualInetClock();
        wireOptions ??= new VirtualWireOptions();
        wireOptions.Clock = Clock;
        Wire = new VirtualWire(wireOptions);
        NicA = Wire.CreatePort(MacA);
        NicB = Wire.CreatePort(MacB);
        Raw = Wire.CreatePort(MacRaw);
        var a = new InetStackOptions { LocalAddress = AddressA, Clock = Clock, Seed = seed };
        var b = new InetStackOptions { LocalAddress = AddressB, Clock = Clock, Seed = seed + 1 };
        configureA?.Invoke(a);
        configureB?.Invoke(b);
        _checkA = !a.InjectsFaults;
        _checkB = !b.InjectsFaults;
        A = new InetStack(NicA, a);
        B = new InetStack(NicB, b);
    }

    private readonly bool _checkA;
    private readonly bool _checkB;

    public ManualInetClock Clock { get; }
    public VirtualWire Wire { get; }
    public VirtualNicQueue NicA { get; }
    public VirtualNicQueue NicB { get; }
    public VirtualNicQueue Raw { get; }
    public InetStack A { get; }
    public InetStack B { get; }

    /// <summary>Polls both stacks until neither has work (bounded).</summary>
    public void Pump(int maxRounds = 1000)
    {
        for (int i = 0; i < maxRounds; i++)
        {
            int work = A.Poll() + B.Poll();
            if (work == 0)
                return;
        }
    }

    /// <summary>Advances the clock in steps, pumping after each, for a bounded span of virtual time.</summary>
    public void Run(TimeSpan span, TimeSpan step)
    {
        for (var t = TimeSpan.Zero; t < span; t += step)
        {
            Clock.Advance(step);
            Pump();
        }
    }

    /// <summary>Frames the raw peer port received.</summary>
    public List<byte[]> DrainRaw()
    {
        var list = new List<byte[]>();
        var frames = new PacketBuffer[64];
        int n;
        while ((n = Raw.Receive(frames)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                list.Add(frames[i].Span.ToArray());
                frames[i].Release();
            }
        }
        return list;
    }

    public static PacketBuffer Payload(InetStack stack, ReadOnlySpan<byte> bytes)
    {
        Assert.True(PacketBuffer.TryRent(stack.Pool, out var buffer), "pool empty");
        bytes.CopyTo(buffer.Append(bytes.Length));
        return buffer;
    }

    public static byte[] PopBytes(UdpSocket socket, out Ipv4Endpoint source)
    {
        Assert.True(socket.TryPop(out var payload, out source), "no datagram queued");
        var bytes = payload.Span.ToArray();
        payload.Release();
        return bytes;
    }

    public void Dispose()
    {
        // Every test on two stacks ends with no caught bug (stacks that inject faults on purpose excepted).
        if (_checkA)
            Demi.Tests.Shared.StackHealth.AssertClean(A);
        if (_checkB)
            Demi.Tests.Shared.StackHealth.AssertClean(B);
        A.Dispose();
        B.Dispose();
        Wire.Dispose();
    }
}
