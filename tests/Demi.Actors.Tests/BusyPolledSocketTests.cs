using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Demi.Kernel;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>
/// Issue 15: a busy shard polls its first few kernel UDP and connected TCP sockets itself (no wake callback per datagram),
/// and they are in its epoll set only while it parks. Which fds are in the set is read from the kernel
/// (<c>/proc/self/fdinfo</c> of the shard's epoll fd).
/// </summary>
public sealed partial class BusyPolledSocketTests
{
    [Fact]
    public void A_busy_spinning_shard_receives_on_its_first_udp_sockets_without_watching_them()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.BusySpin });
        const int Sockets = ShardEpoll.MaxBusyPolled + 1;
        var qds = Enumerable.Range(0, Sockets).Select(_ => TestUtil.UdpSocket(libOS)).ToArray();
        var watched = FdsInEpollSet(libOS.Shards[0].EpollFd);
        for (int i = 0; i < Sockets; i++)
        {
            // The first MaxBusyPolled sockets are polled by the shard; the one beyond them is an ordinary watched fd.
            Assert.Equal(i >= ShardEpoll.MaxBusyPolled, watched.Contains(FdOf(libOS, qds[i])));
        }
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < Sockets; i++)
        {
            Assert.Equal(0, libOS.Pop(out var qt, qds[i]));
            sender.SendTo(Encoding.ASCII.GetBytes($"to socket {i}"), new IPEndPoint(IPAddress.Loopback, TestUtil.LocalOf(libOS, qds[i]).Port));
            var result = TestUtil.WaitOk(libOS, qt);
            Assert.Equal($"to socket {i}", TestUtil.Text(result.Sga));
            libOS.SgaFree(result.Sga);
        }
        Assert.Equal(0, libOS.Shards[0].Parks); // it never parked, so only its own polling saw the first datagrams
    }

    [Fact]
    public void An_idle_busy_polled_udp_socket_holds_no_receive_buffers_between_datagrams()
    {
        // A busy shard polls its socket every round; if each poll rented receive buffers for its recvmmsg,
        // the pool would read short by them for about half the time and never look at rest.
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.BusySpin });
        long atRest = libOS.Buffers.Pool.Available;
        int qd = TestUtil.UdpSocket(libOS);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var to = new IPEndPoint(IPAddress.Loopback, TestUtil.LocalOf(libOS, qd).Port);
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(0, libOS.Pop(out var qt, qd));
            sender.SendTo(Encoding.ASCII.GetBytes($"datagram {round}"), to);
            var result = TestUtil.WaitOk(libOS, qt);
            Assert.Equal($"datagram {round}", TestUtil.Text(result.Sga));
            libOS.SgaFree(result.Sga);
            int readsShort = 0;
            for (int i = 0; i < 20_000; i++)
            {
                if (libOS.Buffers.Pool.Available != atRest)
                    readsShort++;
            }
            Assert.Equal(0, readsShort);
        }
        Assert.Equal(0, libOS.Shards[0].Parks);
    }

    [Fact]
    public void A_parked_shard_watches_its_busy_polled_udp_socket_and_a_datagram_wakes_it()
    {
        using var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS);
        int fd = FdOf(libOS, qd);
        var shard = libOS.Shards[0];
        Assert.Equal(0, libOS.Pop(out var qt, qd));
        long parks = shard.Parks;
        Assert.True(SpinWait.SpinUntil(() => shard.Parks > parks + 2, TestUtil.Timeout), "the idle shard never parked");
        Assert.Contains(fd, FdsInEpollSet(shard.EpollFd));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SendTo("wake up"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, TestUtil.LocalOf(libOS, qd).Port));
        var result = TestUtil.WaitOk(libOS, qt);
        Assert.Equal("wake up", TestUtil.Text(result.Sga));
        libOS.SgaFree(result.Sga);
    }

    [Fact]
    public void A_busy_spinning_shard_moves_4_MB_over_its_busy_polled_tcp_connection_and_keeps_watching_the_listener()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.BusySpin });
        var (client, server, listener) = TestUtil.TcpPair(libOS);
        var watched = FdsInEpollSet(libOS.Shards[0].EpollFd);
        Assert.Contains(FdOf(libOS, listener), watched); // listening: accepts are found through epoll
        Assert.DoesNotContain(FdOf(libOS, client), watched); // connected: polled by the shard while busy
        Assert.DoesNotContain(FdOf(libOS, server), watched);
        // More than the kernel's socket buffers hold: the sender meets EAGAIN and resumes on its own polling.
        const int Chunk = 64 * 1024, Chunks = 64;
        var sent = new byte[Chunk * Chunks];
        new Random(15).NextBytes(sent);
        var pushes = new ulong[Chunks];
        for (int i = 0; i < Chunks; i++)
        {
            var sga = libOS.SgaAlloc(Chunk);
            sent.AsSpan(i * Chunk, Chunk).CopyTo(sga.Span);
            Assert.Equal(0, libOS.Push(out pushes[i], client, sga));
            libOS.SgaFree(sga); // the push keeps its own reference
        }
        var received = new MemoryStream();
        while (received.Length < sent.Length)
        {
            Assert.Equal(0, libOS.Pop(out var qt, server));
            var result = TestUtil.WaitOk(libOS, qt);
            Assert.True(result.Sga.Length > 0, "end of stream before all bytes arrived");
            received.Write(result.Sga.Span);
            libOS.SgaFree(result.Sga);
        }
        foreach (var qt in pushes)
            TestUtil.WaitOk(libOS, qt);
        Assert.Equal(sent, received.ToArray());
        Assert.Equal(0, libOS.Shards[0].Parks);
    }

    [Fact]
    public void A_busy_polled_udp_socket_receives_an_empty_the_largest_and_a_small_datagram_one_at_a_time_with_their_sender()
    {
        // One datagram at a time on an idle busy-polled socket: each is found by the one-datagram probe
        // (recvfrom into the shard's overflow area), then copied to a pool buffer or a large buffer.
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.BusySpin });
        long atRest = libOS.Buffers.Pool.Available;
        int qd = TestUtil.UdpSocket(libOS);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var senderEndpoint = Ipv4Endpoint.From((IPEndPoint)sender.LocalEndPoint!);
        var to = new IPEndPoint(IPAddress.Loopback, TestUtil.LocalOf(libOS, qd).Port);
        var largest = new byte[MaxUdpPayload];
        new Random(15).NextBytes(largest);
        foreach (var payload in new[] { Array.Empty<byte>(), largest, "small"u8.ToArray() })
        {
            Assert.Equal(0, libOS.Pop(out var qt, qd));
            sender.SendTo(payload, to);
            var result = TestUtil.WaitOk(libOS, qt);
            Assert.Equal(payload, result.Sga.ToArray());
            Assert.Equal(senderEndpoint, result.Sga.Address.Endpoint);
            libOS.SgaFree(result.Sga);
        }
        Assert.Equal(0, libOS.Close(qd));
        Assert.Equal(atRest, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public void A_single_udp_push_arrives_whole_at_a_kernel_peer_and_one_too_large_fails_with_emsgsize()
    {
        // A push alone in its flush goes by sendto, a batch by sendmmsg: the single send keeps both the
        // datagram's bytes and the kernel's errno.
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.BusySpin });
        int qd = TestUtil.UdpSocket(libOS);
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiver.ReceiveTimeout = (int)TestUtil.Timeout.TotalMilliseconds;
        receiver.ReceiveBufferSize = 4 * MaxUdpPayload;
        var destination = Ipv4Endpoint.From((IPEndPoint)receiver.LocalEndPoint!);
        var largest = new byte[MaxUdpPayload];
        new Random(16).NextBytes(largest);
        var sga = libOS.SgaAlloc(largest.Length);
        largest.CopyTo(sga.Span);
        Assert.Equal(0, libOS.PushTo(out var qt, qd, sga, destination));
        TestUtil.WaitOk(libOS, qt);
        libOS.SgaFree(sga);
        var received = new byte[MaxUdpPayload + 1];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int length = receiver.ReceiveFrom(received, ref from);
        Assert.Equal(largest, received.AsSpan(0, length).ToArray());
        Assert.Equal(TestUtil.LocalOf(libOS, qd).Port, ((IPEndPoint)from).Port);

        var tooLarge = libOS.SgaAlloc(MaxUdpPayload + 1);
        Assert.Equal(0, libOS.PushTo(out qt, qd, tooLarge, destination));
        Assert.Equal(0, libOS.Wait(out var failed, qt, TestUtil.Timeout));
        Assert.True(failed.Failed, $"a {MaxUdpPayload + 1}-byte datagram was sent: {failed}");
        Assert.Equal(Errno.EMSGSIZE, failed.Error);
        libOS.SgaFree(tooLarge);
    }

    /// <summary>The largest UDP payload over IPv4: 65,535 − 20 (IPv4 header) − 8 (UDP header).</summary>
    private const int MaxUdpPayload = 65507;

    private static int FdOf(LibOS libOS, int qd) => ((KernelSocket)libOS.GetActor(qd)!).Fd;

    private static HashSet<int> FdsInEpollSet(int epollFd)
        => TargetFd().Matches(File.ReadAllText($"/proc/self/fdinfo/{epollFd}")).Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();

    [GeneratedRegex(@"^tfd:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex TargetFd();
}
