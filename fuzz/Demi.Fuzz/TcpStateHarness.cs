using System.Buffers.Binary;
using Demi.Inet;
using Demi.Inet.Headers;
using Demi.Inet.Tcp;
using Demi.Inet.Tcp.Internal;

namespace Demi.Fuzz;

/// <summary>
/// The TCP state machine fed segment sequences: a fresh stack with a listener on port 80; the peer
/// opens a connection (SYN, then the stack's SYN-ACK tells our ISN) and the input is a list of 8-byte
/// records, each a segment from the peer and an application action:
/// <c>[action, flags, seq delta (2), ack delta (2), payload words, clock step]</c>, sequence and
/// acknowledgement numbers relative to what each side has sent so far. At the end everything is
/// closed and the clock runs for the longest timeouts: every connection must be gone and every
/// buffer back in the pool, with no internal error on the way.
/// </summary>
internal static class TcpStateHarness
{
    private const int RecordLength = 8;
    private const int MaxRecords = 256;
    private const ushort PeerPort = 40000;
    private const ushort ServerPort = 80;
    private const uint PeerIsn = 1_000_000;

    private sealed class State
    {
        public uint OurNext;
        public bool HaveOurIsn;
        public int Sent;
    }

    public static void Run(ReadOnlySpan<byte> input)
    {
        using var peer = new Peer(bufferCount: 256);
        var tcp = new TcpLayer(peer.Stack, new TcpConfig { RandomSeed = 1 });
        peer.Stack.RegisterProtocol(tcp);
        int baseline = peer.Stack.Pool.Available;
        var listener = tcp.CreateSocket();
        Check(listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, ServerPort)) == 0, "bind");
        Check(listener.Listen(4) == 0, "listen");
        var state = new State();
        var options = input.Length > 0 ? HandshakeOptions(input[0]) : [];
        uint peerNext = PeerIsn;
        SendSegment(peer, PeerIsn, 0, TcpFlags.Syn, 65535, options, 0);
        peerNext++;
        Observe(peer, state);
        Trace($"after SYN: avail {baseline - peer.Stack.Pool.Available} held, conns {tcp.ConnectionCount}, sent {state.Sent}");
        TcpSocket? connection = null;
        var buffer = new byte[4096];
        var records = input.Length > 1 ? input[1..] : default;
        for (int r = 0; r < MaxRecords && (r + 1) * RecordLength <= records.Length; r++)
        {
            var rec = records.Slice(r * RecordLength, RecordLength);
            byte action = rec[0];
            byte flags = (byte)(rec[1] & 0x3F);
            short seqDelta = BinaryPrimitives.ReadInt16BigEndian(rec[2..]);
            short ackDelta = BinaryPrimitives.ReadInt16BigEndian(rec[4..]);
            int payload = rec[6] * 4;
            uint seq = peerNext + (uint)seqDelta;
            uint ack = state.OurNext + (uint)ackDelta;
            SendSegment(peer, seq, ack, flags, (ushort)(rec[6] << 8 | rec[1]), (action & 0x80) != 0 ? TimestampOption(rec) : [], payload);
            if (seqDelta == 0)
                peerNext += (uint)payload + ((flags & TcpFlags.Syn) != 0 ? 1u : 0) + ((flags & TcpFlags.Fin) != 0 ? 1u : 0);
            Observe(peer, state);
            switch (action & 0x7)
            {
                case 1 when connection is null:
                    if (listener.Accept(out connection) != 0)
                        connection = null;
                    break;
                case 2:
                    connection?.Send(buffer.AsSpan(0, 1 + rec[7] * 16), out _);
                    break;
                case 3:
                    connection?.Receive(buffer, out _);
                    break;
                case 4:
                    connection?.Shutdown(TcpShutdown.Write);
                    break;
                case 5:
                    connection?.Close();
                    connection = null;
                    break;
                case 6:
                    connection?.Abort();
                    break;
            }
            peer.Clock.AdvanceMicroseconds(rec[7] * 10_000L);
            peer.Pump();
            Observe(peer, state);
            peer.CheckCounters();
        }
        // Tear down: the application closes everything, then the clock runs past every timeout.
        connection?.Close();
        while (listener.Accept(out var pending) == 0)
            pending!.Close();
        Trace($"before close: {baseline - peer.Stack.Pool.Available} held, conns {tcp.ConnectionCount}");
        listener.Close();
        peer.Pump(); // flushes the resets the close sent
        Observe(peer, state);
        Trace($"after close: {baseline - peer.Stack.Pool.Available} held, conns {tcp.ConnectionCount}");
        for (int i = 0; i < 400 && tcp.ConnectionCount > 0; i++)
        {
            peer.Clock.Advance(TimeSpan.FromSeconds(5));
            peer.Pump();
            Observe(peer, state);
        }
        Trace($"after timeouts: {baseline - peer.Stack.Pool.Available} held, conns {tcp.ConnectionCount}, rx {peer.Stack.Counters}");
        if (Tracing)
            foreach (var c in tcp.Connections)
                Trace($"left: {c.DebugState()} next deadline {c.NextDeadline}, now {peer.Clock.NowMicroseconds}");
        peer.CheckCounters();
        Check(tcp.ConnectionCount == 0, $"{tcp.ConnectionCount} connections outlived every timeout");
        Check(peer.Stack.Pool.Available == baseline, $"{baseline - peer.Stack.Pool.Available} buffers still held after every connection ended");
    }

    private static byte[] HandshakeOptions(byte choice)
    {
        var options = new List<byte>();
        if ((choice & 1) != 0)
            options.AddRange([2, 4, (byte)((choice & 0x10) != 0 ? 0x00 : 0x05), 0xB4]); // MSS 1460 (or 180)
        if ((choice & 2) != 0)
            options.AddRange([1, 3, 3, (byte)(choice >> 5)]); // window scale
        if ((choice & 4) != 0)
            options.AddRange([1, 1, 4, 2]); // SACK permitted
        if ((choice & 8) != 0)
            options.AddRange([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]); // timestamps
        while (options.Count % 4 != 0)
            options.Add(1);
        return options.ToArray();
    }

    private static byte[] TimestampOption(ReadOnlySpan<byte> rec)
        => [1, 1, 8, 10, 0, 0, rec[7], rec[6], 0, 0, 0, 0];

    /// <summary>Reads what the stack sent the peer: its sequence numbers (so the records can acknowledge them).</summary>
    private static void Observe(Peer peer, State state)
    {
        peer.DrainRaw(frame =>
        {
            if (!EthernetHeader.TryRead(frame, out var eth) || eth.EtherType != EthernetHeader.EtherTypeIpv4)
                return;
            var ip = frame[EthernetHeader.Length..];
            if (Ipv4Header.TryRead(ip, verifyChecksum: false, out var header) != DropReason.None || header.Protocol != Ipv4Header.ProtocolTcp)
                return;
            var segment = ip[header.HeaderLength..header.TotalLength];
            Check(TcpSegment.Parse(segment, out var seg) == TcpParseError.None, "the stack sent a malformed TCP segment");
            if (seg.Syn && seg.HasAck && !state.HaveOurIsn)
            {
                state.HaveOurIsn = true;
                state.OurNext = seg.Seq + 1;
            }
            uint end = seg.Seq + seg.SegmentLength;
            if (state.HaveOurIsn && (int)(end - state.OurNext) > 0)
                state.OurNext = end;
            state.Sent++;
        });
    }

    private static void SendSegment(Peer peer, uint seq, uint ack, byte flags, ushort window, byte[] options, int payload)
    {
        int headerLength = TcpSegment.MinHeaderLength + options.Length;
        int segmentLength = headerLength + payload;
        var frame = new byte[EthernetHeader.Length + Ipv4Header.MinLength + segmentLength];
        Peer.WriteEthernet(frame, EthernetHeader.EtherTypeIpv4);
        Peer.WriteIpv4(frame.AsSpan(EthernetHeader.Length), Ipv4Header.ProtocolTcp, segmentLength);
        var segment = frame.AsSpan(EthernetHeader.Length + Ipv4Header.MinLength);
        BinaryPrimitives.WriteUInt16BigEndian(segment, PeerPort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], ServerPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], ack);
        segment[12] = (byte)(headerLength / 4 << 4);
        segment[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], window);
        options.CopyTo(segment[TcpSegment.MinHeaderLength..]);
        for (int i = headerLength; i < segmentLength; i++)
            segment[i] = (byte)i;
        Peer.FillChecksum(segment, Ipv4Header.ProtocolTcp, 16);
        peer.Inject(frame);
    }

    private static readonly bool Tracing = Environment.GetEnvironmentVariable("DEMI_FUZZ_TRACE") == "1";

    private static void Trace(string line)
    {
        if (Tracing)
            Console.Error.WriteLine("tcp-state: " + line);
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
            throw new FuzzInvariantException(what);
    }
}
