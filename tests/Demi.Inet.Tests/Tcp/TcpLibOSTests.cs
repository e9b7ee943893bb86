using Demi.Inet.Tcp;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests.Tcp;

/// <summary>The libOS's errno API with SOCK_STREAM sockets on the user-space TCP over the virtual wire (real threads, wall clock).</summary>
public sealed class TcpLibOSTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly Ipv4Address ServerAddress = Ipv4Address.Parse("10.7.0.1");
    private static readonly Ipv4Address ClientAddress = Ipv4Address.Parse("10.7.0.2");

    private sealed class Pair : IDisposable
    {
        public readonly VirtualWire Wire;
        public readonly LibOS Server;
        public readonly LibOS Client;

        public Pair(double loss = 0, bool copyOnPush = false)
        {
            Wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System, LossRate = loss, Seed = 5 });
            var serverNic = Wire.CreatePort(MacAddress.Parse("02:00:00:00:07:01"));
            var clientNic = Wire.CreatePort(MacAddress.Parse("02:00:00:00:07:02"));
            Server = new LibOS(new LibOSOptions
            {
                Backend = new InetBackend(serverNic, new InetStackOptions { LocalAddress = ServerAddress }) { StreamTransport = new TcpTransport() },
                ShardCount = 1,
            });
            Client = new LibOS(new LibOSOptions
            {
                Backend = new InetBackend(clientNic, new InetStackOptions { LocalAddress = ClientAddress })
                {
                    StreamTransport = new TcpTransport(() => new TcpConfig { CopyOnPush = copyOnPush }),
                },
                ShardCount = 1,
            });
        }

        public void Dispose()
        {
            Demi.Tests.Shared.StackHealth.AssertClean(Server);
            Demi.Tests.Shared.StackHealth.AssertClean(Client);
            Client.Dispose();
            Server.Dispose();
            Wire.Dispose();
        }
    }

    private static QResult WaitOk(LibOS libOS, ulong qt)
    {
        Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
        Assert.False(result.Failed, $"operation failed: {Errno.Name(result.Error)}");
        return result;
    }

    private static (int Listener, int Server, int Client) Connect(Pair pair, ushort port)
    {
        Assert.Equal(0, pair.Server.Socket(out int listener, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, pair.Server.Bind(listener, new Ipv4Endpoint(Ipv4Address.Any, port)));
        Assert.Equal(0, pair.Server.Listen(listener, 16));
        Assert.Equal(0, pair.Server.Accept(out var acceptQt, listener));
        Assert.Equal(0, pair.Client.Socket(out int client, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, pair.Client.Connect(out var connectQt, client, new Ipv4Endpoint(ServerAddress, port)));
        Assert.Equal(Opcode.Connect, WaitOk(pair.Client, connectQt).Opcode);
        var accepted = WaitOk(pair.Server, acceptQt);
        Assert.Equal(Opcode.Accept, accepted.Opcode);
        Assert.Equal(ClientAddress, accepted.AcceptedAddress.Endpoint.Address);
        return (listener, accepted.AcceptedQd, client);
    }

    /// <summary>Pops from <paramref name="qd"/> until <paramref name="count"/> bytes arrived (freeing each sga).</summary>
    private static byte[] PopBytes(LibOS libOS, int qd, int count)
    {
        var received = new List<byte>(count);
        while (received.Count < count)
        {
            Assert.Equal(0, libOS.Pop(out var qt, qd));
            var result = WaitOk(libOS, qt);
            Assert.Equal(Opcode.Pop, result.Opcode);
            Assert.True(result.Sga.Segment.Length > 0, "unexpected end of stream");
            received.AddRange(result.Sga.Span.ToArray());
            Assert.Equal(0, libOS.SgaFree(result.Sga));
        }
        return received.ToArray();
    }

    [Fact]
    public void EchoThroughTwoLibOSes_ThenEndOfStream()
    {
        using var pair = new Pair();
        var (listener, server, client) = Connect(pair, 7);
        var random = new Random(3);
        for (int i = 0; i < 50; i++)
        {
            var message = new byte[1 + random.Next(1500)];
            random.NextBytes(message);
            var sga = pair.Client.SgaAlloc(message.Length);
            message.CopyTo(sga.Span);
            Assert.Equal(0, pair.Client.Push(out var pushQt, client, sga));
            Assert.Equal(Opcode.Push, WaitOk(pair.Client, pushQt).Opcode);
            Assert.Equal(0, pair.Client.SgaFree(sga)); // the send queue still holds its reference until ACKed
            var got = PopBytes(pair.Server, server, message.Length);
            Assert.Equal(message, got);
            // Echo it back.
            var reply = pair.Server.SgaAlloc(got.Length);
            got.CopyTo(reply.Span);
            Assert.Equal(0, pair.Server.Push(out var replyQt, server, reply));
            WaitOk(pair.Server, replyQt);
            Assert.Equal(0, pair.Server.SgaFree(reply));
            Assert.Equal(message, PopBytes(pair.Client, client, message.Length));
        }
        Assert.Equal(0, pair.Client.GetPeerName(client, out var peer));
        Assert.Equal(new Ipv4Endpoint(ServerAddress, 7), peer);
        // The server closes: the client's pop sees end of stream as a zero-length segment.
        Assert.Equal(0, pair.Server.Close(server));
        Assert.Equal(0, pair.Client.Pop(out var eofQt, client));
        var eof = WaitOk(pair.Client, eofQt);
        Assert.Equal(Opcode.Pop, eof.Opcode);
        Assert.Equal(0u, eof.Sga.Segment.Length);
        Assert.Equal(0, pair.Client.SgaFree(eof.Sga));
        Assert.Equal(0, pair.Client.Close(client));
        Assert.Equal(0, pair.Server.Close(listener));
    }

    /// <summary>
    /// A server driven from its shard's completion stream (as <c>demi echo server</c> is) closes each
    /// connection from the handler of its end-of-stream pop. The pop queue must not be touched after that
    /// completion (it was: "Queue empty" from DrainPops, swallowed as one InternalError per connection).
    /// </summary>
    [Fact]
    public void ServerClosingFromItsEndOfStreamHandler_CountsNoInternalError()
    {
        using var pair = new Pair();
        Assert.Equal(0, pair.Server.Socket(out int listener, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, pair.Server.Bind(listener, new Ipv4Endpoint(Ipv4Address.Any, 12)));
        Assert.Equal(0, pair.Server.Listen(listener, 16));
        int closed = 0, received = 0;
        using var subscription = pair.Server.Shards[0].Completions.Subscribe(result =>
        {
            switch (result.Opcode)
            {
                case Opcode.Accept:
                    pair.Server.PostPop(result.AcceptedQd);
                    pair.Server.PostAccept(listener);
                    break;
                case Opcode.Pop when result.Sga.Segment.Length == 0:
                    pair.Server.SgaFree(result.Sga);
                    pair.Server.Close(result.Qd);
                    Interlocked.Increment(ref closed);
                    break;
                case Opcode.Pop:
                    Interlocked.Add(ref received, (int)result.Sga.Segment.Length);
                    pair.Server.SgaFree(result.Sga);
                    pair.Server.PostPop(result.Qd);
                    break;
            }
        });
        Assert.Equal(0, pair.Server.PostAccept(listener));
        const int connections = 10;
        for (int i = 0; i < connections; i++)
        {
            Assert.Equal(0, pair.Client.Socket(out int client, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
            Assert.Equal(0, pair.Client.Connect(out var connectQt, client, new Ipv4Endpoint(ServerAddress, 12)));
            WaitOk(pair.Client, connectQt);
            var sga = pair.Client.SgaAlloc(100);
            Assert.Equal(0, pair.Client.Push(out var pushQt, client, sga));
            WaitOk(pair.Client, pushQt);
            Assert.Equal(0, pair.Client.SgaFree(sga));
            Assert.Equal(0, pair.Client.Close(client));
        }
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref closed) == connections, Timeout), $"server closed {closed} of {connections}");
        Assert.Equal(connections * 100, Volatile.Read(ref received));
        var stack = InetBackend.StackOf(pair.Server.Shards[0])!;
        Assert.Equal(0, stack.Counters[DropReason.InternalError]);
    }

    /// <summary>
    /// Issue 16 item 1: pushes far beyond what the send buffer takes (the peer does not read) must not
    /// pin the whole frame pool: past one send buffer of waiting pushes they fail at once with ENOBUFS,
    /// and every push that succeeded arrives, in order.
    /// </summary>
    [Fact]
    public void PushesBeyondTheSendBuffer_AreRefusedWithBackpressure_AndNothingAcceptedIsLost()
    {
        using var pair = new Pair();
        var (listener, server, client) = Connect(pair, 13);
        var clientPool = InetBackend.StackOf(pair.Client.Shards[0])!.Pool;
        const int pushes = 1500, size = 1000;
        var tokens = new ulong[pushes];
        int minimumAvailable = int.MaxValue;
        for (int i = 0; i < pushes; i++)
        {
            var sga = pair.Client.SgaAlloc(size);
            sga.Span.Fill((byte)i);
            Assert.Equal(0, pair.Client.Push(out tokens[i], client, sga));
            Assert.Equal(0, pair.Client.SgaFree(sga));
            minimumAvailable = Math.Min(minimumAvailable, clientPool.Available);
        }
        Thread.Sleep(200); // let the shard take the last pushes
        minimumAvailable = Math.Min(minimumAvailable, clientPool.Available);
        // The server starts reading only now: until then the client's pushes pile up behind a full window.
        var received = new List<byte>();
        var reader = new Thread(() =>
        {
            while (true)
            {
                Assert.Equal(0, pair.Server.Pop(out var qt, server));
                var r = WaitOk(pair.Server, qt);
                if (r.Sga.Segment.Length == 0)
                    return;
                received.AddRange(r.Sga.Span.ToArray());
                Assert.Equal(0, pair.Server.SgaFree(r.Sga));
            }
        }) { IsBackground = true };
        reader.Start();
        var accepted = new List<int>();
        int refused = 0;
        for (int i = 0; i < pushes; i++)
        {
            Assert.Equal(0, pair.Client.Wait(out var r, tokens[i], Timeout));
            if (r.Failed)
            {
                Assert.Equal(Errno.ENOBUFS, r.Error);
                refused++;
            }
            else
            {
                accepted.Add(i);
            }
        }
        Assert.True(refused > 0, "no push was refused: the pending queue is unbounded");
        Assert.True(minimumAvailable >= clientPool.Count / 8, $"the pool went down to {minimumAvailable} of {clientPool.Count} frames");
        Assert.Equal(0, pair.Client.Close(client));
        Assert.True(reader.Join(Timeout), "the server did not read to the end of the stream");
        var expected = accepted.SelectMany(i => Enumerable.Repeat((byte)i, size)).ToArray();
        Assert.Equal(expected.Length, received.Count);
        Assert.Equal(expected, received.ToArray());
        Assert.Equal(0, pair.Server.Close(server));
        Assert.Equal(0, pair.Server.Close(listener));
    }

    [Fact]
    public void BulkTransferOverLossyWire_ArrivesIntact()
    {
        using var pair = new Pair(loss: 0.01);
        var (listener, server, client) = Connect(pair, 8);
        var data = new byte[300_000];
        new Random(4).NextBytes(data);
        var pushes = new List<ulong>();
        for (int offset = 0; offset < data.Length; offset += 1000)
        {
            var sga = pair.Client.SgaAlloc(1000);
            data.AsSpan(offset, 1000).CopyTo(sga.Span);
            Assert.Equal(0, pair.Client.Push(out var qt, client, sga));
            pushes.Add(qt);
            Assert.Equal(0, pair.Client.SgaFree(sga));
        }
        Assert.Equal(data, PopBytes(pair.Server, server, data.Length));
        foreach (var qt in pushes)
            WaitOk(pair.Client, qt);
        Assert.Equal(0, pair.Client.Close(client));
        Assert.Equal(0, pair.Server.Close(server));
        Assert.Equal(0, pair.Server.Close(listener));
    }

    [Fact]
    public void CopyOnPush_LetsTheAppReuseItsSgaAtOnce()
    {
        using var pair = new Pair(loss: 0.02, copyOnPush: true);
        var (listener, server, client) = Connect(pair, 11);
        var sga = pair.Client.SgaAlloc(1000);
        var expected = new List<byte>();
        for (int i = 0; i < 100; i++)
        {
            sga.Span.Fill((byte)i); // rewritten right after each push completed
            expected.AddRange(sga.Span.ToArray());
            Assert.Equal(0, pair.Client.Push(out var qt, client, sga));
            WaitOk(pair.Client, qt);
        }
        Assert.Equal(expected.ToArray(), PopBytes(pair.Server, server, expected.Count));
        Assert.Equal(0, pair.Client.SgaFree(sga));
        Assert.Equal(0, pair.Client.Close(client));
        Assert.Equal(0, pair.Server.Close(server));
        Assert.Equal(0, pair.Server.Close(listener));
    }

    [Fact]
    public void ConnectToClosedPortFailsWithEconnrefused_AndCloseCancelsPendingPop()
    {
        using var pair = new Pair();
        Assert.Equal(0, pair.Client.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, pair.Client.Connect(out var qt, qd, new Ipv4Endpoint(ServerAddress, 9)));
        Assert.Equal(0, pair.Client.Wait(out var result, qt, Timeout));
        Assert.Equal(Opcode.Failed, result.Opcode);
        Assert.Equal(Errno.ECONNREFUSED, result.Error);
        Assert.Equal(0, pair.Client.Close(qd));

        var (listener, server, client) = Connect(pair, 10);
        Assert.Equal(0, pair.Client.Pop(out var popQt, client));
        Assert.Equal(0, pair.Client.Close(client));
        Assert.Equal(0, pair.Client.Wait(out var popResult, popQt, Timeout));
        Assert.Equal(Opcode.Failed, popResult.Opcode);
        Assert.Equal(Errno.ECANCELED, popResult.Error);
        Assert.Equal(0, pair.Server.Close(server));
        Assert.Equal(0, pair.Server.Close(listener));
    }

    [Fact]
    public void SocketOptions_RoundTrip()
    {
        using var pair = new Pair();
        Assert.Equal(0, pair.Client.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, pair.Client.SetSockOpt(qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, BitConverter.GetBytes(1)));
        Assert.Equal(0, pair.Client.SetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, BitConverter.GetBytes(1)));
        Assert.Equal(0, pair.Client.SetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, [1, 0, 0, 0, 5, 0, 0, 0]));
        var value = new byte[8];
        Assert.Equal(0, pair.Client.GetSockOpt(qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, value, out int length));
        Assert.Equal(4, length);
        Assert.Equal(1, BitConverter.ToInt32(value));
        Assert.Equal(0, pair.Client.GetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, value, out length));
        Assert.Equal(8, length);
        Assert.Equal(5, BitConverter.ToInt32(value, 4));
        Assert.Equal(Errno.ENOPROTOOPT, pair.Client.SetSockOpt(qd, SocketConstants.SOL_SOCKET, 12345, BitConverter.GetBytes(1)));
        Assert.Equal(0, pair.Client.Close(qd));
    }
}
