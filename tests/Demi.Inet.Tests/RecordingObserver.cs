namespace Demi.Inet.Tests;

internal sealed class RecordingObserver : IUdpSocketObserver
{
    public int Datagrams;
    public readonly List<(ulong Tag, int Errno)> Completions = new();

    public readonly List<int> Errors = new();

    public void OnDatagram(UdpSocket socket) => Datagrams++;

    public void OnError(UdpSocket socket, int errno) => Errors.Add(errno);

    public void OnPushCompleted(UdpSocket socket, ulong tag, int errno) => Completions.Add((tag, errno));
}
