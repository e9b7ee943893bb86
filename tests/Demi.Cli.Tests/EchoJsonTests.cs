using System.Text.Json;
using Demi.Cli.Echo;

namespace Demi.Cli.Tests;

/// <summary>
/// <c>demi echo demo --json</c> writes through the source-generated <see cref="EchoJsonContext"/> (so the
/// CLI publishes with NativeAOT); its output must stay what the reflection serializer wrote before.
/// </summary>
public sealed class EchoJsonTests
{
    private static readonly List<EchoResult> Results =
    [
        new("demi, spin", "udp", 64, 1, 1_000, 2.0, 10.5, 20.25, 31.0, 0.0),
        new(".NET sockets, blocking", "tcp", 1400, 4, 0, 0, 0, 0, 0, 12.5),
    ];

    [Fact]
    public void SourceGeneratedJson_IsTheReflectionSerializersOutput()
    {
        string generated = JsonSerializer.Serialize(Results, EchoJsonContext.Default.ListEchoResult);
        string reflection = JsonSerializer.Serialize(Results, new JsonSerializerOptions { WriteIndented = true });
        Assert.Equal(reflection, generated);
    }

    [Fact]
    public void SourceGeneratedJson_CarriesTheFiguresAndTheDerivedRate()
    {
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(Results, EchoJsonContext.Default.ListEchoResult));
        var first = doc.RootElement[0];
        Assert.Equal("demi, spin", first.GetProperty("Name").GetString());
        Assert.Equal(64, first.GetProperty("MessageSize").GetInt32());
        Assert.Equal(500.0, first.GetProperty("MessagesPerSecond").GetDouble());
        Assert.Equal(20.25, first.GetProperty("P99Micros").GetDouble());
        Assert.Equal(0.0, doc.RootElement[1].GetProperty("MessagesPerSecond").GetDouble());
    }
}
