using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demi.Transport.Dpdk.Internal;

/// <summary>
/// The C shim (native/demi_dpdk.c, built by this project). Burst calls (<see cref="demi_dpdk_rx"/>,
/// <see cref="demi_dpdk_tx"/>) suppress the GC transition: they never block (poll-mode drivers) and
/// take microseconds. Set-up calls keep the transition (they can sleep in the kernel).
/// </summary>
internal static unsafe partial class DpdkNative
{
    public const string Library = "libdemi_dpdk";

    // The shim sits next to the managed assemblies (dotnet) or next to libdemi.so (NativeAOT, loaded
    // by a C program whose own directory the default probing would search instead).
    static DpdkNative() => NativeLibrary.SetDllImportResolver(typeof(DpdkNative).Assembly, Resolve);

    private static nint Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library)
            return 0;
        if (NativeLibrary.TryLoad(name, assembly, path, out var handle))
            return handle;
        if (ModuleDirectory() is { } dir && NativeLibrary.TryLoad(Path.Combine(dir, Library + ".so"), out handle))
            return handle;
        return 0;
    }

    /// <summary>The directory of the native module this code was compiled into (libdemi.so under NativeAOT), if any.</summary>
    private static string? ModuleDirectory()
    {
        DlInfo info;
        delegate* unmanaged<void> self = &ModuleAnchor;
        if (dladdr(self, &info) == 0 || info.FileName == 0)
            return null;
        string? file = Marshal.PtrToStringUTF8(info.FileName);
        return file is null ? null : Path.GetDirectoryName(Path.GetFullPath(file));
    }

    [UnmanagedCallersOnly]
    private static void ModuleAnchor()
    {
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct DlInfo
    {
        public nint FileName, FileBase, SymbolName, SymbolAddress;
    }

    [LibraryImport("libc")]
    private static partial int dladdr(void* address, DlInfo* info);

    [StructLayout(LayoutKind.Sequential)]
    public struct Layout
    {
        public uint MbufSize, BufAddr, DataOff, RefCnt, NbSegs, OlFlags, PktLen, DataLen, Pool;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct RxDesc
    {
        public int Index;
        public ushort Offset;
        public ushort Length;
        public byte* Data;
        public nint Mbuf;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TxDesc
    {
        public int Index;
        public ushort Offset;
        public ushort Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PortInfo
    {
        public fixed byte Mac[6];
        public ushort Mtu;
        public ushort MaxRxQueues, MaxTxQueues;
        public ushort RxDesc, TxDesc;
        public ulong RxOffloadCapa, TxOffloadCapa, RssCapa;
        public ulong RxOffloads, TxOffloads, RssHf;
        public fixed byte Driver[64];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PortStats
    {
        public ulong IPackets, OPackets, IBytes, OBytes, IMissed, IErrors, OErrors, RxNoMbuf;
    }

    // rte_ethdev.h offload and RSS bits (DPDK 22.11).
    public const ulong RxOffloadIpv4Cksum = 1UL << 1, RxOffloadUdpCksum = 1UL << 2, RxOffloadTcpCksum = 1UL << 3;
    public const ulong TxOffloadIpv4Cksum = 1UL << 1, TxOffloadUdpCksum = 1UL << 2, TxOffloadTcpCksum = 1UL << 3;
    public const ulong TxChecksumOffloads = TxOffloadIpv4Cksum | TxOffloadUdpCksum | TxOffloadTcpCksum;
    [LibraryImport(Library)]
    public static partial ulong demi_dpdk_rss_default();

    [LibraryImport(Library)]
    public static partial void demi_dpdk_layout(Layout* layout);

    [LibraryImport(Library)]
    public static partial nint demi_dpdk_version();

    [LibraryImport(Library)]
    public static partial nint demi_dpdk_strerror(int errno);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_eal_init(int argc, byte** argv);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int demi_dpdk_vdev_attach(string devargs, string name);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_count();

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_name(ushort port, byte* name, int length);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_info(ushort port, PortInfo* info);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_start(ushort port, ushort queues, ushort rxDesc, ushort txDesc, nint pool, ushort mtu,
        ulong rxOffloads, ulong txOffloads, ulong rssHf, int promiscuous, PortInfo* info, byte** stage);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_link_up(ushort port);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_stats(ushort port, PortStats* stats);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_stop(ushort port);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_port_pause(ushort port);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int demi_dpdk_ring_pair(string name, ushort queues, byte* macA, byte* macB, ushort* portA, ushort* portB);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_ring_pair_free(ushort port);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint demi_dpdk_pool_create(string name, uint count, void* region, ushort elementSize, nint* table, uint cacheSize);

    [LibraryImport(Library)]
    public static partial int demi_dpdk_thread_register();

    [LibraryImport(Library)]
    public static partial void demi_dpdk_thread_release();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint demi_dpdk_pool_create_plain(string name, uint count);

    [LibraryImport(Library)]
    public static partial void demi_dpdk_pool_free(nint pool);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial uint demi_dpdk_pool_avail(nint pool);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial void demi_dpdk_lend(nint pool, nint* table, int* indices, uint count);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial uint demi_dpdk_reclaim(nint pool, void* region, ushort elementSize, int* indices, uint count);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial void demi_dpdk_free_bulk(nint* mbufs, uint count);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial ushort demi_dpdk_rx(ushort port, ushort queue, nint pool, void* region, ushort elementSize,
        nint* scratch, RxDesc* descs, ushort count, uint* dropped);

    [LibraryImport(Library)]
    [SuppressGCTransition]
    public static partial ushort demi_dpdk_tx(ushort port, ushort queue, nint* table, nint copyPool, TxDesc* descs, ushort count,
        int checksumOffload, byte* copied);

    /// <summary>rte_strerror as a managed string.</summary>
    public static string StrError(int errno) => Marshal.PtrToStringUTF8(demi_dpdk_strerror(errno)) ?? $"errno {errno}";

    /// <summary>An mbuf's reference count (read from C#: the completion check runs per frame).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort RefCount(nint mbuf, uint offset) => Volatile.Read(ref *(ushort*)((byte*)mbuf + offset));
}
