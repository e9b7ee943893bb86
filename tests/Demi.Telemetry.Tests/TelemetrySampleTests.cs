using System.Text.RegularExpressions;
using Demi.Telemetry;

namespace Demi.Telemetry.Tests;

/// <summary>The sample end to end: the same entry point as <c>dotnet run --project samples/Demi.Telemetry -- demo</c>.</summary>
public sealed class TelemetrySampleTests
{
    [Fact]
    public async Task Demo_IngestsAggregatesAndAnswersQueries()
    {
        var output = new StringWriter();
        int exit = await TelemetryProgram.RunAsync(["demo"], output).WaitAsync(TimeSpan.FromMinutes(2));
        string text = output.ToString();
        Assert.True(exit == 0, text);
        // Sensor i saw values i*10 + (k % 5), k < 1000: mean i*10 + 2, min i*10, max i*10 + 4.
        for (int i = 0; i < TelemetryProgram.Sensors.Length; i++)
        {
            var line = Regex.Match(text, $@"^{TelemetryProgram.Sensors[i]} count=(\d+) mean=([\d.]+) min=([\d.]+) max=([\d.]+) windows=(\d+)", RegexOptions.Multiline);
            Assert.True(line.Success, text);
            Assert.Equal("1000", line.Groups[1].Value);
            Assert.Equal(i * 10 + 2, double.Parse(line.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 3);
            Assert.Equal(i * 10, double.Parse(line.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(i * 10 + 4, double.Parse(line.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(int.Parse(line.Groups[5].Value) >= 1);
        }
        Assert.Contains("malformed=1", text);
    }

    [Theory]
    [InlineData("boiler 21.5", true, "boiler", 21.5)]
    [InlineData("fan -3e2", true, "fan", -300)]
    [InlineData("novalue", false, null, 0)]
    [InlineData("pump abc", false, null, 0)]
    public void Parse(string datagram, bool ok, string? sensor, double value)
    {
        Assert.Equal(ok, TelemetryPipeline.TryParse(System.Text.Encoding.ASCII.GetBytes(datagram), out var reading));
        if (ok)
            Assert.Equal(new Reading(sensor!, value), reading);
    }
}
