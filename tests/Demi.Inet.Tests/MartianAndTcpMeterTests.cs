using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Demi.Inet.Headers;
using Demi.Inet.Tcp;

namespace Demi.Inet.Tests;

/// <summary>
/// Issue 16 item 9: TCP-level drops move values on the "Demi.Inet" meter; datagrams from martian
/// sources are dropped and counted; broadcast and network addresses are never ARPed for.
/// </summary>
public sealed class MartianAndTcpMeterTests
{
    private static readonly Ipv4Endpoint ServiceEndpoint = new(TwoStacks.AddressB, 7777);

    private static Dictionary<(string Instrument, string? Reason), long> Collect(string local)
    {
        var seen = new Dictionary<(string, string?), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Demi.Inet")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? reason = null, stack = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "reason") reason = tag.Value as string;
                if (tag.Key == "demi.inet.local") stack = tag.Value as string;
            }
            if (stack == local)
                seen[(instrument.Name, reason)] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    /// <summary>A TCP SYN to B:80 from the raw port, with a valid checksum unless told otherwise.</summary>
    private static byte[] TcpSyn(byte dataOffsetWords = 5, byte[]? options = null, bool corruptChecksum = false)
    {
        options ??= [];
        var tcp = new byte[20 + options.Length];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), 80);
        BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(4), 1000);
        tcp[12] = (byte)(dataOffsetWords << 4);
        tcp[13] = 0x02; // SYN
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(14), 65535);
        options.CopyTo(tcp.AsSpan(20));
        var sum = InternetChecksum.PseudoHeaderSum(TwoStacks.AddressRaw.Value, TwoStacks.AddressB.Value, 6, tcp.Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, tcp));
        if (corruptChecksum)
            checksum ^= 0x5a5a;
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), checksum);
        return Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacB, TwoStacks.AddressRaw, TwoStacks.AddressB, 6, tcp);
    }

    [Fact]
    public void TcpDropsByReasonArePublishedOnTheMeter()
    {
        using var net = new TwoStacks();
        var tcp = new TcpLayer(net.B);
        net.B.RegisterProtocol(tcp);
        string b = TwoStacks.AddressB.ToString();
        var before = Collect(b);
        Assert.Equal(0, before[("demi.inet.tcp.drops", "BadDataOffset")]);

        Assert.True(net.Raw.TransmitCopy(TcpSyn(dataOffsetWords: 15))); // offset past the segment
        Assert.True(net.Raw.TransmitCopy(TcpSyn(dataOffsetWords: 2)));  // offset below 5
        Assert.True(net.Raw.TransmitCopy(TcpSyn(dataOffsetWords: 6, options: [2, 9, 0, 0]))); // MSS option of length 9
        Assert.True(net.Raw.TransmitCopy(TcpSyn(corruptChecksum: true)));
        net.Pump();

        var after = Collect(b);
        Assert.Equal(2, after[("demi.inet.tcp.drops", "BadDataOffset")]);
        Assert.Equal(1, after[("demi.inet.tcp.drops", "BadOptions")]);
        Assert.Equal(1, after[("demi.inet.tcp.drops", "BadChecksum")]);
        Assert.Equal(4, after[("demi.inet.tcp.segments.received", null)]);
        Assert.Equal(3, tcp.Statistics.MalformedDropped);
    }

    public static TheoryData<string, string> Martians => new()
    {
        { "loopback", "127.0.0.1" },
        { "own address", "10.0.0.2" },
        { "subnet network", "10.0.0.0" },
        { "subnet broadcast", "10.0.0.255" },
    };

    [Theory]
    [MemberData(nameof(Martians))]
    public void UdpFromAMartianSourceIsDroppedAndCounted(string what, string source)
    {
        using var net = new TwoStacks(configureB: o => o.PrefixLength = 24);
        var service = net.B.CreateUdpSocket();
        Assert.Equal(0, service.Bind(ServiceEndpoint));
        var frame = Frames.Udp(TwoStacks.MacRaw, TwoStacks.MacB, new Ipv4Endpoint(Ipv4Address.Parse(source), 53), ServiceEndpoint, "martian"u8);
        Assert.True(net.Raw.TransmitCopy(frame));
        net.Pump();
        Assert.False(service.TryPop(out _, out _), $"{what}: a datagram from {source} was delivered");
        Assert.Equal(1, net.B.Counters[DropReason.Ipv4MartianSource]);
        Assert.Empty(net.DrainRaw()); // no port unreachable, no ARP either
        // A datagram from a real neighbour still arrives.
        Assert.True(net.Raw.TransmitCopy(Frames.Udp(TwoStacks.MacRaw, TwoStacks.MacB, new Ipv4Endpoint(TwoStacks.AddressRaw, 53), ServiceEndpoint, "hello"u8)));
        net.Pump();
        Assert.Equal("hello"u8.ToArray(), TwoStacks.PopBytes(service, out _));
    }

    [Theory]
    [InlineData("10.0.0.255")]
    [InlineData("10.0.0.0")]
    public void SendingToTheSubnetBroadcastOrNetworkAddressSendsNoArpRequest(string destination)
    {
        using var net = new TwoStacks(configureA: o => o.PrefixLength = 24);
        var s = net.A.CreateUdpSocket();
        Assert.Equal(0, s.PushTo(TwoStacks.Payload(net.A, "all"u8), new Ipv4Endpoint(Ipv4Address.Parse(destination), 9)));
        net.Pump();
        Assert.Equal(0, net.A.Counters.ArpRequestsSent);
        Assert.Equal(0, net.A.PendingResolutions);
        var frames = net.DrainRaw();
        var frame = Assert.Single(frames);
        Assert.True(EthernetHeader.TryRead(frame, out var eth));
        Assert.True(eth.Destination.IsBroadcast);
        Assert.Equal(EthernetHeader.EtherTypeIpv4, eth.EtherType);
    }
}
