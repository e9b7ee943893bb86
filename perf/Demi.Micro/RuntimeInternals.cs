using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using Demi.Runtime;

namespace Demi.Micro;

/// <summary>
/// Direct calls into the runtime's internal completion path, so that publishing a completion and
/// redeeming a token can be timed without a shard in between. Bound once at set-up (an
/// <see cref="UnsafeAccessorAttribute"/> and a compiled expression); the calls themselves are plain
/// calls, no reflection per operation.
/// </summary>
public static class RuntimeInternals
{
    /// <summary><c>LibOS.Complete(actor, result)</c>: Rx subscribers first, then the token's waiter.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Complete")]
    public static extern void Complete(LibOS libos, QueueActor actor, in QResult result);

    /// <summary>
    /// Returns a function that takes a token from <paramref name="libos"/>'s token table the way
    /// <c>Submit</c> does for a waitable operation, or 0 when full. (Post* operations take no token.)
    /// </summary>
    public static Func<ulong> TokenAllocator(LibOS libos)
    {
        const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        var tokensField = typeof(LibOS).GetField("_tokens", Any) ?? throw Missing("LibOS._tokens");
        var tableType = tokensField.FieldType;
        var tryAllocate = tableType.GetMethod("TryAllocate", Any, [typeof(bool), tableType.Assembly.GetType("Demi.Internal.TokenSlot")!.MakeByRefType()])
            ?? throw Missing("TokenTable.TryAllocate(bool, out TokenSlot)");
        var slotType = tryAllocate.GetParameters()[1].ParameterType.GetElementType()!;
        var slot = Expression.Variable(slotType, "slot");
        var table = Expression.Field(Expression.Constant(libos), tokensField);
        // return table.TryAllocate(false, out slot) ? slot.Token : 0;
        var body = Expression.Block([slot],
            Expression.Condition(
                Expression.Call(table, tryAllocate, Expression.Constant(false), slot),
                Expression.Property(slot, "Token"),
                Expression.Constant(0UL)));
        return Expression.Lambda<Func<ulong>>(body).Compile();
    }

    private static InvalidOperationException Missing(string what) => new($"{what} changed: update RuntimeInternals.");
}
