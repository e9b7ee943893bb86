using Demi.Native.Internal;

namespace Demi.Native.Tests;

/// <summary>Inputs the fuzzer (fuzz/run.sh, target "config") found to break the YAML configuration parser.</summary>
public sealed class ConfigFuzzRegressionTests
{
    [Theory]
    [InlineData("demikernel:\n  local_link_addr: {demikernel: {local_ipv4_ad\"02:AA\"\nzz")]
    [InlineData("a: {b: {c")]
    [InlineData("{")]
    public void UnclosedFlowMappingIsEinvalNotAnException(string yaml)
    {
        // YamlDotNet throws InvalidOperationException here; escaping demi_init it would abort the process.
        Assert.Equal(Errno.EINVAL, ConfigParser.Parse(yaml, "cfg.yaml", out var config, out var error));
        Assert.Null(config);
        Assert.StartsWith("cfg.yaml: not valid YAML", error);
    }
}
