using System.Diagnostics.Metrics;

namespace Demi.Inet.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void DropCountersArePublishedOnTheDemiInetMeter()
    {
        using var net = new TwoStacks();
        var s = net.A.CreateUdpSocket();
        s.PushTo(TwoStacks.Payload(net.A, "nobody"u8), new Ipv4Endpoint(TwoStacks.AddressB, 9999));
        net.Pump(); // B: one UdpNoSocket drop
        Assert.Equal(1, net.B.Counters[DropReason.UdpNoSocket]);

        var seen = new List<(string Instrument, long Value, string? Reason, string? Local)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Demi.Inet")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? reason = null, local = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "reason") reason = tag.Value as string;
                if (tag.Key == "demi.inet.local") local = tag.Value as string;
            }
            seen.Add((instrument.Name, value, reason, local));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.Contains(("demi.inet.drops", 1L, "UdpNoSocket", "10.0.0.2"), seen);
        Assert.Contains(seen, m => m.Instrument == "demi.inet.rx.frames" && m.Local == "10.0.0.2" && m.Value == net.B.Counters.RxFrames);
        Assert.Contains(seen, m => m.Instrument == "demi.inet.udp.sent" && m.Local == "10.0.0.1" && m.Value == 1);
    }
}
