namespace Demi.Perf;

/// <summary>What serves the echo in a row of the results.</summary>
public enum BackendKind
{
    /// <summary>The C reference: minimal AF_XDP echo for UDP, C epoll server (kernel TCP) for TCP.</summary>
    CXdp,
    /// <summary>.NET <c>System.Net.Sockets</c> on the kernel path.</summary>
    DotnetKernel,
    /// <summary>Demi's LibOS on its kernel-socket backend.</summary>
    DemiKernel,
    /// <summary>Demi's LibOS over AF_XDP with the user-space stack.</summary>
    DemiXdp,
    /// <summary>Demi's LibOS over DPDK (net_af_packet on the veth) with the user-space stack.</summary>
    DemiDpdk,
    /// <summary>The DPDK reference: <c>dpdk-testpmd --forward-mode=5tswap</c> on the same vdev (UDP only).</summary>
    DpdkTestpmd,
}
