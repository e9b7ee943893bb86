namespace Demi.Telemetry;

/// <summary>One window's aggregate of one sensor's readings.</summary>
[GenerateSerializer, Immutable]
public sealed record WindowAggregate([property: Id(0)] long Count, [property: Id(1)] double Sum, [property: Id(2)] double Min, [property: Id(3)] double Max);

/// <summary>A sensor's running totals over every window so far.</summary>
[GenerateSerializer, Immutable]
public sealed record SensorSummary([property: Id(0)] string Sensor, [property: Id(1)] long Count, [property: Id(2)] double Mean,
    [property: Id(3)] double Min, [property: Id(4)] double Max, [property: Id(5)] long Windows);

/// <summary>Keeps one sensor's aggregates (the grain key is the sensor name).</summary>
public interface ISensorGrain : IGrainWithStringKey
{
    Task Add(WindowAggregate window);

    Task<SensorSummary> Summary();
}

/// <summary>Folds window aggregates into running totals; non-reentrant, so no locks.</summary>
public sealed class SensorGrain : Grain, ISensorGrain
{
    private long _count, _windows;
    private double _sum, _min = double.PositiveInfinity, _max = double.NegativeInfinity;

    public Task Add(WindowAggregate window)
    {
        _count += window.Count;
        _sum += window.Sum;
        _min = Math.Min(_min, window.Min);
        _max = Math.Max(_max, window.Max);
        _windows++;
        return Task.CompletedTask;
    }

    public Task<SensorSummary> Summary()
        => Task.FromResult(new SensorSummary(this.GetPrimaryKeyString(), _count, _count == 0 ? 0 : _sum / _count,
            _count == 0 ? 0 : _min, _count == 0 ? 0 : _max, _windows));
}
