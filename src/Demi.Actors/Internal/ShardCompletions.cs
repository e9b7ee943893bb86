using System.Diagnostics;
using Demi.Runtime;

namespace Demi.Internal;

/// <summary>
/// A shard's completion stream (<see cref="Runtime.Shard.Completions"/>): what Rx's <c>Subject</c> does for
/// it, minus one copy of every result. <c>Subject.OnNext</c> takes the 64-byte result by value and passes
/// it on by value again; <see cref="Publish"/> takes it by reference, so each subscriber's call is the
/// only copy, and an <see cref="ICompletionObserver"/> is called with no copy at all. Published on the shard thread only; subscribing and unsubscribing may happen on any thread.
/// </summary>
internal sealed class ShardCompletions : IObservable<QResult>
{
    private static readonly Subscriber[] s_none = [];

    private readonly Lock _gate = new();
    // Replaced, never changed in place: Publish reads it without the lock.
    private volatile Subscriber[] _observers = s_none;
    private bool _completed;

    /// <summary>True while anybody is subscribed.</summary>
    public bool HasObservers => _observers.Length > 0;

    /// <summary>Hands <paramref name="result"/> to every subscriber, in the order they subscribed.</summary>
    public void Publish(in QResult result)
    {
        foreach (var subscriber in _observers)
        {
            if (subscriber.ByReference is { } byReference)
                byReference.OnNext(in result);
            else
                subscriber.Observer.OnNext(result);
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(IObserver<QResult> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_gate)
        {
            if (!_completed)
            {
                _observers = [.. _observers, new Subscriber(observer, observer as ICompletionObserver)];
                return new Subscription(this, observer);
            }
        }
        observer.OnCompleted(); // as a completed subject does for late subscribers
        return Subscription.None;
    }

    /// <summary>Ends the stream: every subscriber gets OnCompleted once and is let go.</summary>
    public void Complete()
    {
        Subscriber[] observers;
        lock (_gate)
        {
            if (_completed)
                return;
            _completed = true;
            observers = _observers;
            _observers = s_none;
        }
        foreach (var subscriber in observers)
            subscriber.Observer.OnCompleted();
    }

    private void Unsubscribe(IObserver<QResult> observer)
    {
        lock (_gate)
        {
            int index = Array.FindIndex(_observers, s => ReferenceEquals(s.Observer, observer));
            if (index < 0)
                return;
            var remaining = new Subscriber[_observers.Length - 1];
            Array.Copy(_observers, remaining, index);
            Array.Copy(_observers, index + 1, remaining, index, remaining.Length - index);
            _observers = remaining;
        }
    }

    private sealed class Subscription(ShardCompletions? owner, IObserver<QResult>? observer) : IDisposable
    {
        public static readonly Subscription None = new(null, null);

        private ShardCompletions? _owner = owner;

        public void Dispose()
        {
            var owner = Interlocked.Exchange(ref _owner, null);
            Debug.Assert(owner is null || observer is not null);
            owner?.Unsubscribe(observer!);
        }
    }

    // The by-reference view is looked up once at subscribe time, not per completion.
    private readonly record struct Subscriber(IObserver<QResult> Observer, ICompletionObserver? ByReference);
}
