namespace Demi.Actors.Tests;

/// <summary>
/// Tests that flood loopback or fill the whole token table run alone, so that they do not starve
/// timing-sensitive tests (UDP bursts over loopback) that would otherwise run beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyTests
{
    public const string Name = "heavy";
}
