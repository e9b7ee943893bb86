using System.Reflection;
using Demi.Inet;
using Demi.Runtime;
using Xunit.Sdk;

[assembly: Demi.Tests.Shared.CheckStacksAfterEachTest]

namespace Demi.Tests.Shared;

/// <summary>
/// The stack catches its own bugs (an exception while processing a frame) so that a shard keeps
/// running; tests must not let that hide them. Every test that runs a stack ends by asserting that no
/// stack counted an <see cref="DropReason.InternalError"/>: per stack through
/// <see cref="AssertClean(InetStack)"/> in fixtures, and for every stack of the process after each
/// test through <see cref="CheckStacksAfterEachTestAttribute"/> (applied to the test assembly).
/// </summary>
internal static class StackHealth
{
    /// <summary>Fails if <paramref name="stack"/> counted an internal error.</summary>
    public static void AssertClean(InetStack stack)
    {
        var counters = stack.Counters;
        Assert.True(counters[DropReason.InternalError] == 0,
            $"stack {stack.LocalAddress}: {counters[DropReason.InternalError]} internal errors ({counters})");
    }

    /// <summary>Fails if a stack of <paramref name="libOS"/>'s shards counted an internal error.</summary>
    public static void AssertClean(LibOS libOS)
    {
        foreach (var shard in libOS.Shards)
            if (InetBackend.StackOf(shard) is { } stack)
                AssertClean(stack);
    }

    /// <summary>Fails if any stack created in this process so far counted an internal error.</summary>
    public static void AssertProcessClean()
    {
        long errors = InetStack.InternalErrorsInProcess;
        Assert.True(errors == 0,
            $"stacks of this test process counted {errors} internal errors (the stack's log on stderr names the exception)");
    }
}

/// <summary>After each test, asserts that no stack of the process counted an internal error.</summary>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method)]
internal sealed class CheckStacksAfterEachTestAttribute : BeforeAfterTestAttribute
{
    public override void After(MethodInfo methodUnderTest) => StackHealth.AssertProcessClean();
}
