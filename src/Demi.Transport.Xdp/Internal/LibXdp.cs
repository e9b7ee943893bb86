using System.Runtime.InteropServices;

namespace Demi.Transport.Xdp.Internal;

/// <summary>
/// One AF_XDP ring as libxdp lays it out (<c>struct xsk_ring_prod</c>/<c>xsk_ring_cons</c>). libxdp keeps
/// a pointer to it, so it lives in native memory at a fixed address for the socket's lifetime.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct XskRing
{
    public uint CachedProd;
    public uint CachedCons;
    public uint Mask;
    public uint Size;
    public uint* Producer;
    public uint* Consumer;
    public void* Ring;
    public uint* Flags;
}

/// <summary><c>struct xdp_desc</c>: one RX or TX descriptor.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct XdpDesc
{
    public ulong Addr;
    public uint Len;
    public uint Options;
}

/// <summary><c>struct xsk_umem_config</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct XskUmemConfig
{
    public uint FillSize;
    public uint CompSize;
    public uint FrameSize;
    public uint FrameHeadroom;
    public uint Flags;
}

/// <summary><c>struct xsk_socket_config</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct XskSocketConfig
{
    public uint RxSize;
    public uint TxSize;
    public uint LibxdpFlags;
    public uint XdpFlags;
    public ushort BindFlags;
}

/// <summary><c>struct xdp_statistics</c> (getsockopt SOL_XDP, XDP_STATISTICS).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct XdpStatisticsNative
{
    public ulong RxDropped;
    public ulong RxInvalidDescs;
    public ulong TxInvalidDescs;
    public ulong RxRingFull;
    public ulong RxFillRingEmptyDescs;
    public ulong TxRingEmptyDescs;
}

/// <summary>libxdp's AF_XDP control calls (set-up and tear-down only; the rings are driven from C#).</summary>
internal static unsafe partial class LibXdp
{
    public const string Library = "libxdp.so.1";

    public const uint XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
    public const uint XDP_FLAGS_SKB_MODE = 1 << 1;
    public const uint XDP_FLAGS_DRV_MODE = 1 << 2;
    public const ushort XDP_COPY = 1 << 1;
    public const ushort XDP_ZEROCOPY = 1 << 2;
    public const ushort XDP_USE_NEED_WAKEUP = 1 << 3;
    public const uint XDP_RING_NEED_WAKEUP = 1;
    public const int XDP_OPTIONS = 8;
    /// <summary>Socket level of the AF_XDP options (linux/socket.h).</summary>
    public const int SOL_XDP = 283;
    public const int XDP_STATISTICS = 7;
    public const uint XDP_OPTIONS_ZEROCOPY = 1;
    /// <summary>The kernel's fixed headroom in front of received data (XDP_PACKET_HEADROOM).</summary>
    public const int XDP_PACKET_HEADROOM = 256;

    [LibraryImport(Library)]
    public static partial int xsk_umem__create(nint* umem, void* area, ulong size, XskRing* fill, XskRing* comp, XskUmemConfig* config);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int xsk_socket__create_shared(nint* xsk, string ifname, uint queueId, nint umem,
        XskRing* rx, XskRing* tx, XskRing* fill, XskRing* comp, XskSocketConfig* config);

    [LibraryImport(Library)]
    public static partial int xsk_socket__fd(nint xsk);

    [LibraryImport(Library)]
    public static partial void xsk_socket__delete(nint xsk);

    [LibraryImport(Library)]
    public static partial int xsk_umem__delete(nint umem);

    /// <summary>Replaces libxdp's log callback (NULL silences it); returns the previous one (see <see cref="NativeLog"/>).</summary>
    [LibraryImport(Library)]
    public static partial nint libxdp_set_print(nint fn);
}

/// <summary>libbpf calls used to find and remove a stale XDP program.</summary>
internal static unsafe partial class LibBpf
{
    public const string Library = "libbpf.so.1";

    /// <summary><c>struct bpf_xdp_query_opts</c> as of libbpf 1.1 (size 32).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct XdpQueryOpts
    {
        public nuint Sz;
        public uint ProgId;
        public uint DrvProgId;
        public uint HwProgId;
        public uint SkbProgId;
        public byte AttachMode;
    }

    /// <summary>Replaces libbpf's log callback; returns the previous one.</summary>
    [LibraryImport(Library)]
    public static partial nint libbpf_set_print(nint fn);

    [LibraryImport(Library)]
    public static partial int bpf_xdp_query(int ifindex, int flags, XdpQueryOpts* opts);

    [LibraryImport(Library)]
    public static partial int bpf_xdp_detach(int ifindex, uint flags, void* opts);

    [LibraryImport(Library)]
    public static partial int bpf_prog_get_fd_by_id(uint id);

    [LibraryImport(Library)]
    public static partial int bpf_obj_get_info_by_fd(int fd, void* info, uint* infoLen);

    // struct bpf_prog_info (linux/bpf.h): name[BPF_OBJ_NAME_LEN] follows 64 bytes of ids, tags and counts.
    private const int BpfProgInfoNameOffset = 64;
    private const int BpfObjNameLength = 16;
    // Room for the whole struct as kernels of this decade fill it (the kernel writes at most what we offer).
    private const int BpfProgInfoBufferSize = 256;

    /// <summary>The name of a loaded BPF program (bpf_prog_info.name), or null.</summary>
    public static string? ProgramName(uint id)
    {
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0)
            return null;
        try
        {
            byte* info = stackalloc byte[BpfProgInfoBufferSize];
            new Span<byte>(info, BpfProgInfoBufferSize).Clear();
            uint len = BpfProgInfoBufferSize;
            if (bpf_obj_get_info_by_fd(fd, info, &len) != 0 || len < BpfProgInfoNameOffset + BpfObjNameLength)
                return null;
            var name = new ReadOnlySpan<byte>(info + BpfProgInfoNameOffset, BpfObjNameLength);
            int end = name.IndexOf((byte)0);
            return System.Text.Encoding.ASCII.GetString(end < 0 ? name : name[..end]);
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
