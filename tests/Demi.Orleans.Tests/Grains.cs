using System.Buffers.Binary;
using Demi.Orleans;
using Demi.Runtime;
using Orleans.Runtime;

namespace Demi.Orleans.Tests;

[GenerateSerializer]
public sealed record SocketPorts([property: Id(0)] ushort Udp, [property: Id(1)] ushort Tcp, [property: Id(2)] string Silo);

[GenerateSerializer]
public sealed record FeedStats(
    [property: Id(0)] long Received, [property: Id(1)] long OutOfOrder, [property: Id(2)] long Dropped,
    [property: Id(3)] long OnShardThread, [property: Id(4)] long OffScheduler, [property: Id(5)] long Overlaps,
    [property: Id(6)] int Senders);

public interface IEchoGrain : IGrainWithIntegerKey
{
    /// <summary>Opens a UDP echo and a TCP echo on 127.0.0.1 (ports chosen by the libOS) and serves them.</summary>
    Task<SocketPorts> Open();

    Task<FeedStats> Stats();

    Task<int> OpenDescriptors();

    Task Deactivate();

    /// <summary>Connects to a kernel listener and queues <paramref name="chunks"/> pushes of <paramref name="chunkSize"/> bytes (byte i in chunk i) without waiting.</summary>
    Task StartBulkSend(ushort port, int chunks, int chunkSize);

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> (and lets a failure propagate to the caller).</summary>
    Task ConnectTo(ushort port);
}

/// <summary>
/// Serves UDP (echo, plus per-sender order checks) and TCP (echo) through Demi sockets owned by this
/// activation. It records where its code runs: never on a shard thread, always on its own scheduler,
/// and never two turns at once.
/// </summary>
public sealed class EchoGrain(DemiGrainSockets sockets, ILocalSiloDetails silo, IGrainContextAccessor contexts) : Grain, IEchoGrain
{
    private readonly Dictionary<int, int> _next = new();
    private long _received, _outOfOrder, _onShard, _offScheduler, _overlaps;
    private int _inTurn;
    private DemiGrainUdpSocket? _udp;
    private DemiGrainTcpListener? _listener;
    private readonly List<Task> _loops = new();

    public Task<SocketPorts> Open()
    {
        if (_udp is null)
        {
            _udp = sockets.OpenUdp(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
            _listener = sockets.Listen(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
            _loops.Add(ServeUdpAsync(_udp));
            _loops.Add(GrainLoops.AcceptEachAsync(_listener, EchoTcpAsync, _loops));
        }
        return Task.FromResult(new SocketPorts(_udp.LocalEndPoint.Port, _listener!.LocalEndPoint.Port, silo.SiloAddress.ToString()));
    }

    private async Task ServeUdpAsync(DemiGrainUdpSocket udp)
    {
        await foreach (var datagram in udp.ReceiveAllAsync())
        {
            using (datagram)
            {
                Enter();
                if (datagram.Length >= 8)
                {
                    int sender = BinaryPrimitives.ReadInt32LittleEndian(datagram.Data);
                    int seq = BinaryPrimitives.ReadInt32LittleEndian(datagram.Data[4..]);
                    int expected = _next.GetValueOrDefault(sender);
                    if (seq != expected)
                        _outOfOrder++;
                    _next[sender] = seq + 1;
                    _received++;
                    Exit();
                }
                else
                {
                    var copy = datagram.ToArray();
                    var from = datagram.From;
                    Exit();
                    await udp.SendToAsync(copy, from);
                }
            }
        }
    }

    private async Task EchoTcpAsync(DemiGrainTcpConnection connection)
    {
        using (connection)
        {
            await foreach (var chunk in connection.ReceiveAllAsync())
            {
                byte[] copy;
                using (chunk)
                {
                    Enter();
                    copy = chunk.ToArray();
                    Exit();
                }
                await connection.SendAsync(copy);
            }
        }
    }

    private void Enter()
    {
        if (Shard.Current is not null)
            Interlocked.Increment(ref _onShard);
        if (!ReferenceEquals(contexts.GrainContext, GrainContext) || TaskScheduler.Current == TaskScheduler.Default)
            Interlocked.Increment(ref _offScheduler);
        if (Interlocked.Increment(ref _inTurn) != 1)
            Interlocked.Increment(ref _overlaps);
    }

    private void Exit() => Interlocked.Decrement(ref _inTurn);

    public Task<FeedStats> Stats()
    {
        Enter();
        var stats = new FeedStats(_received, _outOfOrder, _udp?.Dropped ?? 0, _onShard, _offScheduler, _overlaps, _next.Count);
        Exit();
        return Task.FromResult(stats);
    }

    public Task<int> OpenDescriptors() => Task.FromResult(sockets.OpenBy(GrainContext));

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task ConnectTo(ushort port)
    {
        using var connection = await sockets.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Loopback, port));
    }

    public async Task StartBulkSend(ushort port, int chunks, int chunkSize)
    {
        var connection = await sockets.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Loopback, port));
        for (int i = 0; i < chunks; i++)
        {
            var data = new byte[chunkSize];
            Array.Fill(data, (byte)i);
            _loops.Add(connection.SendAsync(data)); // queued in order; the kernel takes them as the peer reads
        }
    }
}
