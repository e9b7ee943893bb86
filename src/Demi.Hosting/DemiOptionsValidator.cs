using Demi.Runtime;
using Microsoft.Extensions.Options;

namespace Demi.Hosting;

/// <summary>Validates <see cref="DemiOptions"/> at host start; every message names its configuration key.</summary>
internal sealed class DemiOptionsValidator(IEnumerable<IDemiBackendProvider> providers, DemiSection section) : IValidateOptions<DemiOptions>
{
    public ValidateOptionsResult Validate(string? name, DemiOptions options)
    {
        var errors = new List<string>();
        string s = section.Path;
        var provider = providers.LastOrDefault(p => string.Equals(p.Name, options.Backend, StringComparison.OrdinalIgnoreCase));
        if (provider is null)
        {
            var known = string.Join(", ", providers.Select(p => p.Name).Distinct());
            errors.Add($"{s}:{nameof(DemiOptions.Backend)} '{options.Backend}' is not an available backend (available: {known}; another transport registers its own with AddDemiBackend).");
        }
        else
        {
            errors.AddRange(provider.Validate(options, s));
        }
        if (options.Cores is { } cores)
        {
            try
            {
                var parsed = CpuSet.Parse(cores);
                var allowed = CpuSet.AllowedCores();
                var missing = parsed.Where(c => !allowed.Contains(c)).ToArray();
                if (missing.Length > 0)
                    errors.Add($"{s}:{nameof(DemiOptions.Cores)} '{cores}' names cores this process may not run on: {string.Join(",", missing)} (allowed: {string.Join(",", allowed)}).");
            }
            catch (ArgumentException e)
            {
                errors.Add($"{s}:{nameof(DemiOptions.Cores)} '{cores}' is not a CPU list such as 0-1 or 0,2: {e.Message}");
            }
        }
        AtLeast(errors, s, nameof(DemiOptions.ShardCount), options.ShardCount, 1);
        AtLeast(errors, s, nameof(DemiOptions.MailboxCapacity), options.MailboxCapacity, 1);
        AtLeast(errors, s, nameof(DemiOptions.MaxTokens), options.MaxTokens, 1);
        AtLeast(errors, s, nameof(DemiOptions.MaxDescriptors), options.MaxDescriptors, 1);
        AtLeast(errors, s, nameof(DemiOptions.BufferCount), options.BufferCount, 1);
        AtLeast(errors, s, nameof(DemiOptions.BufferSize), options.BufferSize, 512);
        if (options.ShardIdle is not ("spin-then-park" or "spin" or "park"))
            errors.Add($"{s}:{nameof(DemiOptions.ShardIdle)} must be spin-then-park, spin or park (was '{options.ShardIdle}').");
        if (options.DrainTimeout < TimeSpan.Zero)
            errors.Add($"{s}:{nameof(DemiOptions.DrainTimeout)} must not be negative (was {options.DrainTimeout}).");
        if (options.DropSummaryInterval <= TimeSpan.Zero)
            errors.Add($"{s}:{nameof(DemiOptions.DropSummaryInterval)} must be positive (was {options.DropSummaryInterval}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void AtLeast(List<string> errors, string section, string key, int value, int minimum)
    {
        if (value < minimum)
            errors.Add($"{section}:{key} must be at least {minimum} (was {value}).");
    }
}

/// <summary>The configuration path options were bound from, for messages ("Demi" when configured in code).</summary>
internal sealed record DemiSection(string Path);
