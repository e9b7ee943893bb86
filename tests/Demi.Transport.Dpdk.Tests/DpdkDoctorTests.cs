using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// <c>demi doctor</c>'s DPDK verdict agrees with what happens: it says "available" exactly when the
/// EAL really started in that process. Each case runs the doctor in a fresh process (the probe), since
/// the EAL starts once per process and this one's is started by the fixture.
/// </summary>
public sealed class DpdkDoctorTests
{
    private static (bool Available, bool EalStarted, string Output) Doctor(string? user)
    {
        var (exit, output) = EalFailureTests.Probe(user, "doctor");
        Assert.True(exit == 0, output);
        var words = output.Split('\n')[0].Split(' ');
        Assert.True(words is ["verdict", _, "eal", _], output);
        return (bool.Parse(words[1]), bool.Parse(words[3]), output);
    }

    [Fact]
    public void As_root_the_verdict_is_whether_the_eal_started()
    {
        Privileges.RequireRoot();
        var (available, ealStarted, output) = Doctor(user: null);
        Assert.True(available == ealStarted, output);
        // The EAL check is reported (every other required check passed, or the verdict names which did not).
        Assert.True(available ? output.Contains("EAL", StringComparison.Ordinal) && output.Contains("--no-huge", StringComparison.Ordinal) : output.Contains("NOT available", StringComparison.Ordinal), output);
    }

    [Fact]
    public void Without_root_the_verdict_is_no_and_names_the_privileges()
    {
        Privileges.RequireRoot(); // to drop them with setpriv
        var (available, ealStarted, output) = Doctor(user: "65534");
        Assert.False(available, output);
        Assert.False(ealStarted, output); // the doctor does not try the EAL when a required check failed
        Assert.Contains("privileges", output);
        Assert.Contains("need root", output);
    }
}
