using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Inet.Nic;

namespace Demi.Inet.Tests.Kernel;

/// <summary>
/// A test-only NIC queue on an AF_PACKET socket bound to one interface (a syscall per frame: fine for
/// tests against kernel peers, not a transport). Created inside a network namespace.
/// </summary>
internal sealed unsafe partial class PacketSocketNicQueue : INicQueue
{
    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const int SOCK_NONBLOCK = 0x800;
    private const int SOCK_CLOEXEC = 0x80000;
    private const ushort ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL = 3)
    private const int MSG_DONTWAIT = 0x40;
    private const int CLONE_NEWNET = 0x40000000;

    private readonly int _fd;

    private PacketSocketNicQueue(int fd, MacAddress mac)
    {
        _fd = fd;
        MacAddress = mac;
        Pool = new BufferPool(2048, 1024, 128);
    }

    /// <summary>Opens the socket on <paramref name="interfaceName"/> inside namespace <paramref name="netns"/>.</summary>
    public static PacketSocketNicQueue Open(string netns, string interfaceName, MacAddress mac)
    {
        int fd = -1;
        Exception? error = null;
        // setns changes only the calling thread's namespace: do it on a throwaway thread.
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{netns}");
                if (setns((int)ns.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new InvalidOperationException($"setns({netns}) failed: errno {Marshal.GetLastPInvokeError()}");
                int index = (int)if_nametoindex(interfaceName);
                if (index == 0)
                    throw new InvalidOperationException($"no interface {interfaceName} in {netns}");
                fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ETH_P_ALL_BE);
                if (fd < 0)
                    throw new InvalidOperationException($"socket(AF_PACKET) failed: errno {Marshal.GetLastPInvokeError()}");
                var addr = new SockAddrLl { Family = AF_PACKET, Protocol = ETH_P_ALL_BE, IfIndex = index };
                if (bind(fd, &addr, sizeof(SockAddrLl)) != 0)
                    throw new InvalidOperationException($"bind(AF_PACKET) failed: errno {Marshal.GetLastPInvokeError()}");
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            if (fd >= 0)
                close(fd);
            throw error;
        }
        return new PacketSocketNicQueue(fd, mac);
    }

    public MacAddress MacAddress { get; }

    public int Mtu => 1500;

    public NicOffloads Offloads => NicOffloads.None;

    public BufferPool Pool { get; }

    public int WaitFd => _fd;

    public long Sent { get; private set; }

    public int Receive(Span<PacketBuffer> frames)
    {
        int n = 0;
        while (n < frames.Length)
        {
            if (!PacketBuffer.TryRent(Pool, out var buffer))
                break;
            nint got = recv(_fd, (void*)buffer.Address, (nuint)buffer.TailroomLeft, MSG_DONTWAIT);
            if (got <= 0)
            {
                buffer.Release();
                break;
            }
            buffer.Length = (int)got;
            frames[n++] = buffer;
        }
        return n;
    }

    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        foreach (var frame in frames)
        {
            send(_fd, (void*)frame.Address, (nuint)frame.Length, 0);
            frame.Release();
            Sent++;
        }
        return frames.Length;
    }

    public void Flush()
    {
    }

    public void Dispose() => close(_fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLen;
        public ulong Addr;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, void* addr, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, void* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, void* buffer, nuint length, int flags);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
