using Demi.Orleans;

namespace Demi.Orleans.Tests;

/// <summary>Loops the test grains share.</summary>
internal static class GrainLoops
{
    /// <summary>
    /// Accepts connections on <paramref name="listener"/> until it closes, starting
    /// <paramref name="serve"/> for each and adding its task to <paramref name="loops"/>.
    /// </summary>
    public static async Task AcceptEachAsync(DemiGrainTcpListener listener, Func<DemiGrainTcpConnection, Task> serve, List<Task> loops)
    {
        while (!listener.IsClosed)
        {
            DemiGrainTcpConnection connection;
            try
            {
                connection = await listener.AcceptAsync();
            }
            catch (Exception) when (listener.IsClosed)
            {
                return;
            }
            loops.Add(serve(connection));
        }
    }
}
