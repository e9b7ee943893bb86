namespace Demi.Inet.Tcp;

/// <summary>
/// Receives a socket's events. The layer calls it from <see cref="TcpLayer.DispatchEvents"/> (which
/// <see cref="TcpLayer.Receive"/> and <see cref="TcpLayer.OnTimer"/> run at their end), never from
/// inside segment processing, so an observer may call back into the socket. Events of one socket
/// are merged into one call per dispatch; nothing is allocated per event.
/// </summary>
public interface ITcpSocketObserver
{
    void OnTcpEvents(TcpSocket socket, TcpEvents events);
}
