using Demi.Fuzz;

// Demi.Fuzz TARGET                 : serve inputs to libFuzzer (fuzz/run.sh starts it under the driver)
// Demi.Fuzz TARGET --replay PATH.. : run each file (folders: every file in them) once, report failures
// Demi.Fuzz --list                 : the target names
// Demi.Fuzz --write-seeds DIR      : write the seed inputs (DIR/TARGET/seed-*)
if (args.Length == 2 && args[0] == "--write-seeds")
{
    Seeds.Write(args[1]);
    return 0;
}
if (args.Length == 1 && args[0] == "--list")
{
    foreach (var name in FuzzTargets.Names)
        Console.WriteLine(name);
    return 0;
}
if (args.Length == 0 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: Demi.Fuzz TARGET [--replay PATH...]; targets: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}
if (args.Length > 1 && args[1] == "--replay")
{
    FuzzTargets.TryGet(args[0], out var target);
    int failures = 0, runs = 0;
    foreach (var file in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal))
    {
        runs++;
        try
        {
            target(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failures++;
            Console.Error.WriteLine($"{file}: {e}");
        }
    }
    Console.WriteLine($"{args[0]}: {runs} inputs, {failures} failed");
    return failures == 0 ? 0 : 1;
}
// Created on the first input: instrumented code may only run once SharpFuzz has mapped the coverage memory.
FuzzTarget? fuzzed = null;
SharpFuzz.Fuzzer.LibFuzzer.Run(span =>
{
    if (fuzzed is null)
        FuzzTargets.TryGet(args[0], out fuzzed);
    fuzzed(span);
});
return 0;
