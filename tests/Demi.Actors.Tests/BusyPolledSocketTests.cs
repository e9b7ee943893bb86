using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Demi.Kernel;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>
/// Issue 15: a busy shard polls its first few kernel UDP sockets itself (no wake callback per datagram),
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

    private static int FdOf(LibOS libOS, int qd) => ((KernelSocket)libOS.GetActor(qd)!).Fd;

    private static HashSet<int> FdsInEpollSet(int epollFd)
        => TargetFd().Matches(File.ReadAllText($"/proc/self/fdinfo/{epollFd}")).Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();

    [GeneratedRegex(@"^tfd:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex TargetFd();
}
