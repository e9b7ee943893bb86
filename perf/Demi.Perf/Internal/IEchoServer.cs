namespace Demi.Perf.Internal;

/// <summary>A server the harness measures: UDP echo, TCP echo and TCP sink on three ports.</summary>
internal interface IEchoServer : IDisposable
{
    /// <summary>Binds every socket (so READY is true when it returns) and starts serving.</summary>
    void Start(CancellationToken stop);

    /// <summary>Blocks until <paramref name="stop"/> fires.</summary>
    void Wait(CancellationToken stop);
}
