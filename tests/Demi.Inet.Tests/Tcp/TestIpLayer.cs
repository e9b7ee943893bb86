using Demi.Buffers;
using Demi.Inet.Nic;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tests.Tcp;

/// <summary>A segment TCP sent, copied out of its buffer (which is released at once).</summary>
internal sealed class CapturedSegment
{
    public required TcpSegment Header;
    public required byte[] Payload;
    public required Ipv4Address Destination;
    public required bool ChecksumOk;

    public bool Syn => Header.Syn;
    public bool Ack => Header.HasAck;
    public bool Fin => Header.Fin;
    public bool Rst => Header.Rst;
    public uint Seq => Header.Seq;
    public uint AckNumber => Header.Ack;
    public ushort Window => Header.Window;

    public override string ToString()
        => $"{(Syn ? "S" : "")}{(Fin ? "F" : "")}{(Rst ? "R" : "")}{(Ack ? "." : "")} seq={Seq} ack={AckNumber} win={Window} len={Payload.Length}";
}

/// <summary>
/// An <see cref="IIpLayer"/> for tests: either captures what TCP sends (segment-level tests), or
/// hands each segment to a sink (the in-test pipe joining two TCP layers).
/// </summary>
internal sealed class TestIpLayer : IIpLayer
{
    public TestIpLayer(BufferPool pool, InetClock clock, Ipv4Address address, int mtu = 1500)
    {
        Pool = pool;
        Clock = clock;
        LocalAddress = address;
        Mtu = mtu;
    }

    public Ipv4Address LocalAddress { get; }
    public int Mtu { get; }
    public BufferPool Pool { get; }
    public int HeaderRoom => 14 + 20;
    public InetClock Clock { get; }
    public NicOffloads Offloads => NicOffloads.None;

    /// <summary>When set, receives every segment (and its reference).</summary>
    public Action<Ipv4Address, PacketBuffer>? Sink { get; set; }

    public List<CapturedSegment> Sent { get; } = new();

    /// <summary>When not 0, every send fails with this errno (as IPv4 does when ARP gives up).</summary>
    public int FailWith { get; set; }

    /// <summary>When set, the next send releases its segment and throws this (a fault below TCP, for ownership tests).</summary>
    public Exception? ThrowOnSend { get; set; }

    /// <summary>Times TCP took a received segment from the layer (<see cref="IIpLayer.TakeReceived"/>).</summary>
    public int Taken { get; private set; }

    public void TakeReceived(in PacketBuffer segment) => Taken++;

    public int Send(Ipv4Address destination, byte protocol, PacketBuffer segment)
    {
        if (ThrowOnSend is { } fault)
        {
            ThrowOnSend = null;
            segment.Release();
            throw fault;
        }
        // Plain checks, not Assert: this runs per segment in the allocation benchmark.
        if (protocol != 6)
            throw new InvalidOperationException($"protocol {protocol} is not TCP");
        if (segment.HeadroomLeft < HeaderRoom)
            throw new InvalidOperationException("TCP must leave room for the IPv4 and link headers");
        if (FailWith != 0)
        {
            segment.Release();
            return FailWith;
        }
        if (Sink is not null)
        {
            Sink(destination, segment);
            return 0;
        }
        var span = segment.Span;
        Assert.True(TcpSegment.TryParse(span, out var header), "TCP sent a malformed segment");
        Sent.Add(new CapturedSegment
        {
            Header = header,
            Payload = span[header.HeaderLength..].ToArray(),
            Destination = destination,
            ChecksumOk = TcpHeaderWriter.VerifyChecksum(span, LocalAddress, destination),
        });
        segment.Release();
        return 0;
    }

    /// <summary>Removes and returns what was sent since the last call.</summary>
    public List<CapturedSegment> Take()
    {
        var list = new List<CapturedSegment>(Sent);
        Sent.Clear();
        return list;
    }
}
