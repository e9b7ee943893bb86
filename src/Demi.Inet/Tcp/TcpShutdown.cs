namespace Demi.Inet.Tcp;

/// <summary>Which direction <see cref="TcpSocket.Shutdown"/> closes (values of Linux's SHUT_*).</summary>
public enum TcpShutdown
{
    Read = 0,
    Write = 1,
    Both = 2,
}
