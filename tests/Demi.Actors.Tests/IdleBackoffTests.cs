using System.Diagnostics;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>The shard's adaptive spin phase (halt-polling style): shorter after long parks, longer after short ones.</summary>
public sealed class IdleBackoffTests
{
    private static readonly IdleStrategy Strategy = new() { SpinIterations = 64, YieldIterations = 2 };

    // Runs one idle episode to its park; returns the ticks the spin phase took.
    private static long SpinToPark(ref IdleBackoff backoff)
    {
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        IdleStep step;
        while ((step = backoff.Next()) != IdleStep.Park)
        {
            if (step == IdleStep.Spin)
                spins++;
            Thread.SpinWait(IdleBackoff.SpinPerRound);
        }
        Assert.Equal(backoff.SpinRounds, spins);
        return Stopwatch.GetTimestamp() - start;
    }

    [Fact]
    public void LongParksShrinkTheSpinPhaseToItsFloor()
    {
        var backoff = new IdleBackoff(Strategy);
        Assert.Equal(64, backoff.SpinRounds);
        for (int i = 0; i < 10; i++)
        {
            SpinToPark(ref backoff);
            long parked = Stopwatch.GetTimestamp();
            backoff.Parked(parked, parked + Stopwatch.Frequency); // slept a second: the spin was wasted
        }
        Assert.Equal(IdleBackoff.MinSpinRounds, backoff.SpinRounds);
    }

    [Fact]
    public void ShortParksGrowTheSpinPhaseBackToTheStrategy()
    {
        var backoff = new IdleBackoff(Strategy);
        for (int i = 0; i < 10; i++)
        {
            SpinToPark(ref backoff);
            long parked = Stopwatch.GetTimestamp();
            backoff.Parked(parked, parked + Stopwatch.Frequency);
        }
        Assert.Equal(IdleBackoff.MinSpinRounds, backoff.SpinRounds);
        for (int i = 0; i < 10; i++)
        {
            SpinToPark(ref backoff);
            long parked = Stopwatch.GetTimestamp();
            backoff.Parked(parked, parked); // woke at once: a longer spin would have caught the work
        }
        Assert.Equal(64, backoff.SpinRounds);
    }

    [Fact]
    public void WorkFoundWhileSpinningLeavesThePhaseAlone()
    {
        var backoff = new IdleBackoff(Strategy);
        SpinToPark(ref backoff);
        long parked = Stopwatch.GetTimestamp();
        backoff.Parked(parked, parked + Stopwatch.Frequency);
        Assert.Equal(32, backoff.SpinRounds);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(IdleStep.Spin, backoff.Next());
            backoff.Reset();
        }
        Assert.Equal(32, backoff.SpinRounds);
    }

    [Fact]
    public void BusySpinAndParkStrategiesDoNotAdapt()
    {
        var spin = new IdleBackoff(IdleStrategy.BusySpin);
        for (int i = 0; i < 1000; i++)
            Assert.Equal(IdleStep.Spin, spin.Next());
        var park = new IdleBackoff(IdleStrategy.Park);
        Assert.Equal(IdleStep.Park, park.Next());
        park.Parked(0, Stopwatch.Frequency);
        Assert.Equal(0, park.SpinRounds);
        Assert.Equal(IdleStep.Park, park.Next());
    }

    private const int ShortenedEpisodes = 5;

    private static readonly IdleStrategy Timed = new() { SpinTime = TimeSpan.FromMilliseconds(2), YieldIterations = 2 };

    // Runs one idle episode of a timed strategy until it stops spinning, each round costing spinWait; returns how long it spun.
    private static TimeSpan TimedSpin(ref IdleBackoff backoff, int spinWait)
    {
        long start = Stopwatch.GetTimestamp();
        while (backoff.Next() == IdleStep.Spin)
            Thread.SpinWait(spinWait);
        return Stopwatch.GetElapsedTime(start);
    }

    [Theory]
    [InlineData(1)]      // a ring peek
    [InlineData(2000)]   // a syscall's worth and more
    public void A_timed_spin_phase_lasts_its_time_whatever_a_round_costs(int spinWait)
    {
        var backoff = new IdleBackoff(Timed);
        Assert.Equal(Timed.SpinTime, backoff.SpinTime);
        var spun = TimedSpin(ref backoff, spinWait);
        Assert.True(spun >= Timed.SpinTime, $"spun {spun.TotalMicroseconds:F0} µs of {Timed.SpinTime.TotalMicroseconds:F0}");
        Assert.Equal(IdleStep.Yield, backoff.Next());
        Assert.Equal(IdleStep.Park, backoff.Next());
    }

    [Fact]
    public void A_timed_spin_phase_halves_after_long_parks_to_its_floor_and_doubles_back_after_short_ones()
    {
        var backoff = new IdleBackoff(Timed);
        for (int i = 0; i < 10; i++)
        {
            TimedSpin(ref backoff, 1);
            long parked = Stopwatch.GetTimestamp();
            backoff.Parked(parked, parked + Stopwatch.Frequency); // slept a second: the spin was wasted
        }
        var floor = Timed.SpinTime / IdleBackoff.MinSpinTimeDivisor;
        Assert.InRange(backoff.SpinTime, floor * 0.99, floor * 1.01);
        // The least disturbed of a few episodes: a preempted test thread only makes an episode longer (CI runs
        // test projects side by side on two cores), while a phase left at full length spins 2 ms in every one.
        var spun = TimeSpan.MaxValue;
        for (int i = 0; i < ShortenedEpisodes; i++)
        {
            spun = TimeSpan.FromTicks(Math.Min(spun.Ticks, TimedSpin(ref backoff, 1).Ticks));
            long at = Stopwatch.GetTimestamp();
            backoff.Parked(at, at + Stopwatch.Frequency); // another long park: the phase stays at its floor
            Assert.InRange(backoff.SpinTime, floor * 0.99, floor * 1.01);
        }
        Assert.True(spun < Timed.SpinTime, $"the shortened phase spun {spun.TotalMicroseconds:F0} µs at the least");
        for (int i = 0; i < 10; i++)
        {
            TimedSpin(ref backoff, 1);
            long parked = Stopwatch.GetTimestamp();
            backoff.Parked(parked, parked); // woke at once: a longer spin would have caught the work
        }
        Assert.Equal(Timed.SpinTime, backoff.SpinTime);
    }
}
