namespace Demi.Cli.CommandLine;

/// <summary>
/// A mistake the user can fix on the command line, found after parsing (e.g. no server answers
/// at <c>--server</c>). The message is one line that names the option; the exit code is 2.
/// </summary>
internal sealed class UsageException(string message) : Exception(message);
