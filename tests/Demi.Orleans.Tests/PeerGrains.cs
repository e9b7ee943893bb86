using System.Text;
using Demi.Orleans;
using Demi.Runtime;
using Orleans.Runtime;

namespace Demi.Orleans.Tests;

[GenerateSerializer]
public sealed record PeerStats(
    [property: Id(0)] long Datagrams, [property: Id(1)] long OutOfOrder, [property: Id(2)] long BadContent,
    [property: Id(3)] long TcpBytes, [property: Id(4)] long TcpBadBytes, [property: Id(5)] int TcpStreamsEnded,
    [property: Id(6)] long OnShardThread, [property: Id(7)] long OffScheduler, [property: Id(8)] long Overlaps,
    [property: Id(9)] long Dropped);

public interface IPeerGrain : IGrainWithIntegerKey
{
    /// <summary>Where the activation lives (the silo's address).</summary>
    Task<string> Silo();

    /// <summary>Binds UDP <paramref name="udpPort"/> and a TCP listener on <paramref name="tcpPort"/> on all of the stack's addresses and serves them.</summary>
    Task Open(ushort udpPort, ushort tcpPort);

    Task<PeerStats> Stats();

    /// <summary>Connects to <paramref name="address"/>:<paramref name="port"/>, sends <paramref name="message"/> and returns what comes back until the peer's end of stream.</summary>
    Task<string> Call(string address, ushort port, string message);

    Task<int> OpenDescriptors();

    Task Deactivate();
}

/// <summary>
/// Served by a kernel peer in another network namespace. UDP: datagram <c>seq:NNNNNN|</c> followed by
/// <see cref="PeerPayload.Body"/>(seq); the grain checks order and content and replies <c>ack:</c> + the
/// datagram. TCP: the bytes follow <see cref="PeerPayload.StreamByte"/>; the grain checks each one and
/// echoes every chunk, and closes after the peer's end of stream.
/// </summary>
public sealed class PeerGrain(DemiGrainSockets sockets, ILocalSiloDetails silo, IGrainContextAccessor contexts) : Grain, IPeerGrain
{
    private static readonly byte[] Ack = "ack:"u8.ToArray();
    private readonly List<Task> _loops = new();
    private long _datagrams, _outOfOrder, _badContent, _tcpBytes, _tcpBadBytes, _onShard, _offScheduler, _overlaps;
    private int _streamsEnded, _inTurn;
    private DemiGrainUdpSocket? _udp;

    public Task<string> Silo() => Task.FromResult(silo.SiloAddress.ToString());

    public Task Open(ushort udpPort, ushort tcpPort)
    {
        if (_udp is not null)
            return Task.CompletedTask;
        _udp = sockets.OpenUdp(new Ipv4Endpoint(Ipv4Address.Any, udpPort));
        var listener = sockets.Listen(new Ipv4Endpoint(Ipv4Address.Any, tcpPort));
        _loops.Add(ServeUdpAsync(_udp));
        _loops.Add(GrainLoops.AcceptEachAsync(listener, EchoTcpAsync, _loops));
        return Task.CompletedTask;
    }

    private async Task ServeUdpAsync(DemiGrainUdpSocket udp)
    {
        await foreach (var datagram in udp.ReceiveAllAsync())
        {
            byte[] reply;
            Ipv4Endpoint from;
            using (datagram)
            {
                Enter();
                var data = datagram.Data;
                if (PeerPayload.TryParseSequence(data, out int seq))
                {
                    if (seq != _datagrams)
                        _outOfOrder++;
                    if (!data.SequenceEqual(PeerPayload.Datagram(seq)))
                        _badContent++;
                }
                else
                {
                    _badContent++;
                }
                _datagrams++;
                reply = [.. Ack, .. data];
                from = datagram.From;
                Exit();
            }
            await udp.SendToAsync(reply, from);
        }
    }

    private async Task EchoTcpAsync(DemiGrainTcpConnection connection)
    {
        using (connection)
        {
            long offset = 0;
            await foreach (var chunk in connection.ReceiveAllAsync())
            {
                byte[] copy;
                using (chunk)
                {
                    Enter();
                    var data = chunk.Data;
                    for (int i = 0; i < data.Length; i++)
                    {
                        if (data[i] != PeerPayload.StreamByte(offset + i))
                            _tcpBadBytes++;
                    }
                    offset += data.Length;
                    _tcpBytes += data.Length;
                    copy = data.ToArray();
                    Exit();
                }
                await connection.SendAsync(copy);
            }
            _streamsEnded++;
        }
    }

    private void Enter()
    {
        if (Shard.Current is not null)
            _onShard++;
        if (!ReferenceEquals(contexts.GrainContext, GrainContext) || TaskScheduler.Current == TaskScheduler.Default)
            _offScheduler++;
        if (Interlocked.Increment(ref _inTurn) != 1)
            Interlocked.Increment(ref _overlaps);
    }

    private void Exit() => Interlocked.Decrement(ref _inTurn);

    public async Task<string> Call(string address, ushort port, string message)
    {
        using var connection = await sockets.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Parse(address), port));
        await connection.SendAsync(Encoding.ASCII.GetBytes(message));
        var reply = new StringBuilder();
        await foreach (var chunk in connection.ReceiveAllAsync())
        {
            using (chunk)
            {
                Enter();
                reply.Append(Encoding.ASCII.GetString(chunk.Data));
                Exit();
            }
        }
        return reply.ToString();
    }

    public Task<int> OpenDescriptors() => Task.FromResult(sockets.OpenBy(GrainContext));

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task<PeerStats> Stats()
        => Task.FromResult(new PeerStats(_datagrams, _outOfOrder, _badContent, _tcpBytes, _tcpBadBytes, _streamsEnded,
            _onShard, _offScheduler, Interlocked.Read(ref _overlaps), _udp?.Dropped ?? 0));
}

/// <summary>The bytes both ends agree on (the kernel peer's python script computes the same).</summary>
public static class PeerPayload
{
    /// <summary><c>seq:NNNNNN|</c> then <see cref="Body"/>: 11 to 210 bytes, different for every sequence number.</summary>
    public static byte[] Datagram(int seq) => [.. Encoding.ASCII.GetBytes($"seq:{seq:D6}|"), .. Body(seq)];

    /// <summary>(seq * 31 + i) % 251 for i below seq % 200.</summary>
    public static byte[] Body(int seq)
    {
        var body = new byte[seq % 200];
        for (int i = 0; i < body.Length; i++)
            body[i] = (byte)((seq * 31 + i) % 251);
        return body;
    }

    public static bool TryParseSequence(ReadOnlySpan<byte> data, out int seq)
    {
        seq = -1;
        return data.Length >= 11 && data.StartsWith("seq:"u8) && data[10] == (byte)'|'
            && int.TryParse(Encoding.ASCII.GetString(data[4..10]), out seq);
    }

    /// <summary>Byte <paramref name="offset"/> of the TCP stream: (offset * 7 + offset / 251) % 256.</summary>
    public static byte StreamByte(long offset) => (byte)((offset * 7 + offset / 251) % 256);
}
