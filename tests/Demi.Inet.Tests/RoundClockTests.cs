namespace Demi.Inet.Tests;

/// <summary>The stack reads its clock once per round of work, and only while a round is on.</summary>
public sealed class RoundClockTests
{
    [Fact]
    public void OutsideARoundEveryReadingIsFresh()
    {
        using var net = new TwoStacks();
        long before = net.A.NowMicroseconds;
        net.Clock.AdvanceMicroseconds(1500);
        Assert.Equal(before + 1500, net.A.NowMicroseconds);
    }

    [Fact]
    public void ARoundKeepsItsFirstReadingUntilItsPollEnds()
    {
        using var net = new TwoStacks();
        net.A.BeginRound();
        long first = net.A.NowMicroseconds;
        net.Clock.AdvanceMicroseconds(700); // the round's own work: its sends still use the round's reading
        Assert.Equal(first, net.A.NowMicroseconds);
        // The poll takes its own reading, and the round ends with it.
        net.A.Poll();
        net.Clock.AdvanceMicroseconds(300);
        Assert.Equal(first + 1000, net.A.NowMicroseconds);
        // The next round reads the clock again on first use (a park between rounds cannot leave it stale).
        net.Clock.AdvanceMicroseconds(2_000_000);
        net.A.BeginRound();
        Assert.Equal(first + 2_001_000, net.A.NowMicroseconds);
        net.A.Poll();
    }
}
