namespace Demi.Transport.Xdp;

/// <summary>How a command run by <see cref="VethNamespaces"/> ended.</summary>
/// <param name="ExitCode">The exit code, or -1 when it was killed on timeout.</param>
/// <param name="StandardOutput">Everything it wrote to stdout.</param>
/// <param name="StandardError">Everything it wrote to stderr.</param>
/// <param name="TimedOut">Whether it was killed because it ran past its time limit.</param>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, bool TimedOut)
{
    /// <summary>Exit code 0 and no timeout.</summary>
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>Throws an <see cref="XdpException"/> with the output when the command failed.</summary>
    public CommandResult EnsureSuccess(string what)
    {
        if (!Succeeded)
            throw new XdpException($"{what} failed (exit {ExitCode}{(TimedOut ? ", timed out" : "")}): {StandardError.Trim()} {StandardOutput.Trim()}");
        return this;
    }
}
