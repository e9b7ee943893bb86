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
}
