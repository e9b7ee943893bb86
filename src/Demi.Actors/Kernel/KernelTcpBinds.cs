namespace Demi.Kernel;

/// <summary>
/// TCP addresses bound by this process's kernel-backend sockets. Demi's TCP sockets set SO_REUSEADDR
/// (so a restarted server can rebind over TIME_WAIT), under which Linux lets two sockets that are not
/// listening bind one address; demi_bind(3) says EADDRINUSE, so the backend checks here first.
/// Control path only (bind and close), so one lock is fine.
/// </summary>
internal static class KernelTcpBinds
{
    private static readonly Dictionary<KernelTcpSocket, Ipv4Endpoint> s_bound = [];

    /// <summary>EADDRINUSE when another open socket holds the port on the same or a wildcard address.</summary>
    public static int Check(KernelTcpSocket socket, Ipv4Endpoint local)
    {
        if (local.Port == 0)
            return 0; // ephemeral: the kernel picks a free port
        lock (s_bound)
        {
            foreach (var (other, bound) in s_bound)
            {
                if (other != socket && bound.Port == local.Port &&
                    (bound.Address == local.Address || bound.Address == Ipv4Address.Any || local.Address == Ipv4Address.Any))
                    return Errno.EADDRINUSE;
            }
        }
        return 0;
    }

    public static void Add(KernelTcpSocket socket, Ipv4Endpoint local)
    {
        lock (s_bound)
            s_bound[socket] = local;
    }

    public static void Remove(KernelTcpSocket socket)
    {
        lock (s_bound)
            s_bound.Remove(socket);
    }
}
