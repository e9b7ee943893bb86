namespace Demi.Native.Tests;

public sealed unsafe class TimespecTests
{
    [Fact]
    public void Null_is_forever_zero_polls()
    {
        Assert.Equal(0, Timespec.ToTimeout(null, out var forever));
        Assert.Null(forever);
        var zero = new Timespec();
        Assert.Equal(0, Timespec.ToTimeout(&zero, out var poll));
        Assert.Equal(TimeSpan.Zero, poll);
    }

    [Fact]
    public void Rounds_up_to_a_tick()
    {
        var ts = new Timespec { Seconds = 1, Nanoseconds = 1 };
        Assert.Equal(0, Timespec.ToTimeout(&ts, out var t));
        Assert.Equal(TimeSpan.TicksPerSecond + 1, t!.Value.Ticks);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, -1)]
    [InlineData(0, 1_000_000_000)]
    public void Invalid_is_EINVAL(long seconds, long nanoseconds)
    {
        var ts = new Timespec { Seconds = seconds, Nanoseconds = nanoseconds };
        Assert.Equal(Errno.EINVAL, Timespec.ToTimeout(&ts, out _));
    }

    [Fact]
    public void Huge_is_forever()
    {
        var ts = new Timespec { Seconds = long.MaxValue, Nanoseconds = 0 };
        Assert.Equal(0, Timespec.ToTimeout(&ts, out var t));
        Assert.Null(t);
    }
}
