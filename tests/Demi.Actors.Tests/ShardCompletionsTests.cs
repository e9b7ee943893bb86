using Demi.Internal;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>The shard's own completion stream: Rx's subject contract, which its subscribers rely on.</summary>
public sealed class ShardCompletionsTests
{
    private sealed class Recorder : IObserver<QResult>
    {
        public readonly List<ulong> Seen = [];
        public int Completed;

        public void OnNext(QResult value) => Seen.Add(value.Qt);

        public void OnError(Exception error) => throw error;

        public void OnCompleted() => Completed++;
    }

    [Fact]
    public void SubscribersGetWhatIsPublishedWhileSubscribedAndOneCompletion()
    {
        var stream = new ShardCompletions();
        Assert.False(stream.HasObservers);
        var first = new Recorder();
        var second = new Recorder();
        var firstSubscription = stream.Subscribe(first);
        stream.Publish(new QResult { Qt = 1 });
        using var secondSubscription = stream.Subscribe(second);
        Assert.True(stream.HasObservers);
        stream.Publish(new QResult { Qt = 2 });
        firstSubscription.Dispose();
        firstSubscription.Dispose(); // twice is harmless
        stream.Publish(new QResult { Qt = 3 });
        stream.Complete();
        stream.Complete();
        Assert.Equal([1UL, 2UL], first.Seen);
        Assert.Equal([2UL, 3UL], second.Seen);
        Assert.Equal(0, first.Completed); // unsubscribed before the end
        Assert.Equal(1, second.Completed);
        Assert.False(stream.HasObservers);
        stream.Publish(new QResult { Qt = 4 }); // after the end: nobody hears it
        Assert.Equal([2UL, 3UL], second.Seen);
    }

    private sealed class ByReferenceRecorder : ICompletionObserver
    {
        public readonly List<(ulong Qt, long Ret)> ByReference = [];
        public int ByValue;
        public int Completed;

        public void OnNext(in QResult result) => ByReference.Add((result.Qt, result.Ret));

        public void OnNext(QResult value) => ByValue++;

        public void OnError(Exception error) => throw error;

        public void OnCompleted() => Completed++;
    }

    [Fact]
    public void AByReferenceObserverIsCalledByReferenceOnlyAndUnsubscribesLikeAnyOther()
    {
        var stream = new ShardCompletions();
        var byReference = new ByReferenceRecorder();
        var plain = new Recorder();
        var byReferenceSubscription = stream.Subscribe(byReference);
        using var plainSubscription = stream.Subscribe(plain);
        stream.Publish(new QResult { Qt = 1, Ret = 11 });
        stream.Publish(new QResult { Qt = 2, Ret = 12 });
        byReferenceSubscription.Dispose();
        stream.Publish(new QResult { Qt = 3, Ret = 13 });
        stream.Complete();
        Assert.Equal([(1UL, 11L), (2UL, 12L)], byReference.ByReference);
        Assert.Equal(0, byReference.ByValue);
        Assert.Equal(0, byReference.Completed); // unsubscribed before the end
        Assert.Equal([1UL, 2UL, 3UL], plain.Seen);
        Assert.Equal(1, plain.Completed);
    }

    [Fact]
    public void LateSubscriberIsCompletedAtOnce()
    {
        var stream = new ShardCompletions();
        stream.Complete();
        var late = new Recorder();
        using var subscription = stream.Subscribe(late);
        Assert.Equal(1, late.Completed);
        Assert.False(stream.HasObservers);
    }
}
