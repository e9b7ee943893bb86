using System.Text.Json.Serialization;

namespace Demi.Cli.Echo;

/// <summary>
/// The <c>--json</c> output of <c>demi echo demo</c>, source-generated so the CLI needs no reflection
/// (and so publishes with NativeAOT); the same shape the reflection serializer wrote.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(List<EchoResult>))]
internal sealed partial class EchoJsonContext : JsonSerializerContext;
