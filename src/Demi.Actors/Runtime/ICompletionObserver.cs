namespace Demi.Runtime;

/// <summary>
/// An observer of a shard's <see cref="Shard.Completions"/> that takes each result by reference.
/// <see cref="IObserver{T}.OnNext"/> takes the 64-byte <see cref="QResult"/> by value, which costs a copy
/// of it per subscriber per completion (and, right after the result was written field by field, a
/// store-forwarding stall); a subscriber that implements this interface is called through
/// <see cref="OnNext(in QResult)"/> instead, with no copy. Meant for handlers that run on the shard
/// thread at packet rate, such as an echo server's; it changes nothing on other streams, which call
/// <see cref="IObserver{T}.OnNext"/> as usual.
/// </summary>
public interface ICompletionObserver : IObserver<QResult>
{
    /// <summary>Receives a completion. <paramref name="result"/> is valid only during the call: copy what you keep.</summary>
    void OnNext(in QResult result);
}
