using System.Net;
using System.Net.Sockets;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// The kernel backend's UDP send path when the kernel has no room: a slow link (a token bucket on the
/// sender's veth end) keeps datagrams queued and charged to the sending socket until its send buffer is
/// full and sendmmsg says EAGAIN. A UDP socket watches EPOLLOUT only while it waits for room, so this
/// is the one path that proves the watch is armed when it must be: without it the pushes never complete.
/// Both ends are in namespaces the test creates; the receiver is a kernel socket in B.
/// </summary>
public sealed class KernelUdpBackpressureTests
{
    private const int Datagrams = 1000;
    private const int Size = 1400;
    private const int Window = 200;
    private const ushort Port = 9300;

    [Fact]
    public void PushesThatOutrunTheSendBufferAllCompleteAndArriveInOrder()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { KernelAddressOnA = true });
        // 20 Mbit/s: 1.4 MB takes ~0.6 s, while the default send buffer holds ~100 datagrams; the queue limit
        // holds them all, so nothing is dropped on the way.
        var tc = veth.Run(VethSide.A, "tc", "qdisc", "add", "dev", veth.InterfaceA, "root", "tbf", "rate", "20mbit", "burst", "16kb", "limit", "4mb");
        Assert.True(tc.Succeeded, tc.StandardError);

        Socket receiver;
        using (veth.Enter(VethSide.B))
        {
            receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            receiver.Bind(new IPEndPoint(IPAddress.Parse(veth.AddressB), Port));
        }
        using var _ = receiver;
        receiver.ReceiveTimeout = 5000;
        var received = new List<int>();
        var receiving = new Thread(() =>
        {
            var buffer = new byte[2048];
            try
            {
                while (received.Count < Datagrams)
                {
                    int n = receiver.Receive(buffer);
                    received.Add(n == Size ? BitConverter.ToInt32(buffer) : -n);
                }
            }
            catch (SocketException)
            {
                // the timeout: the count below says what was missing
            }
        });
        receiving.Start();

        long sndbufErrorsBefore = UdpSndbufErrors(veth);
        using (veth.Enter(VethSide.A))
        {
            // Created inside A: the shard thread and the socket's fd live in A's namespace.
            using var libOS = new LibOS();
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            var to = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), Port);
            var sgas = new Sga[Window];
            var pushes = new ulong[Window];
            for (int start = 0; start < Datagrams; start += Window)
            {
                for (int i = 0; i < Window; i++)
                {
                    sgas[i] = libOS.SgaAlloc(Size);
                    Assert.True(sgas[i].IsAllocated);
                    BitConverter.TryWriteBytes(sgas[i].Span, start + i);
                    Assert.Equal(0, libOS.PushTo(out pushes[i], qd, sgas[i], to));
                }
                for (int i = 0; i < Window; i++)
                {
                    Assert.Equal(0, libOS.Wait(out var done, pushes[i], TimeSpan.FromSeconds(20)));
                    Assert.Equal(Opcode.Push, done.Opcode);
                    libOS.SgaFree(sgas[i]);
                }
            }
            Assert.Equal(0, libOS.Close(qd));
        }
        Assert.True(receiving.Join(TimeSpan.FromSeconds(30)), "the receiver did not finish");
        // The premise: the kernel refused datagrams for want of room at least once.
        Assert.True(UdpSndbufErrors(veth) > sndbufErrorsBefore, "the send buffer never filled: the test did not exercise EAGAIN");
        Assert.Equal(Enumerable.Range(0, Datagrams), received);
    }

    // Udp SndbufErrors of namespace A's /proc/net/snmp (read by a process in A: a thread's /proc/net is its process's).
    private static long UdpSndbufErrors(VethNamespaces veth)
    {
        var snmp = veth.Run(VethSide.A, "cat", "/proc/net/snmp").StandardOutput;
        var lines = snmp.Split('\n').Where(l => l.StartsWith("Udp: ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(values[Array.IndexOf(names, "SndbufErrors")]);
    }
}
