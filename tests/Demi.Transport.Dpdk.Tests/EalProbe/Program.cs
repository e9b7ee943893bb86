using Demi.Transport.Dpdk;

// Usage: probe <mode> [args...]
//   eal ARG...              start the EAL with exactly these arguments (argv0 first)
//   twice                   start the default EAL, then ask for one with other arguments
//   vdev NETNS DEVARGS      start the default EAL, then attach DEVARGS inside NETNS
//   doctor                  run `demi doctor`'s DPDK report (it starts the EAL), then print
//                           "verdict <available> eal <initialised>" and the report before "ok"
// Prints "ok" or "error <errno> <message>" and exits 0 or 1.
try
{
    switch (args[0])
    {
        case "eal":
            DpdkEal.Initialize(args[1..]);
            break;
        case "twice":
            DpdkEal.Initialize(new DpdkOptions().BuildEalArguments());
            DpdkEal.Initialize(new DpdkOptions { MemoryMegabytes = 128 }.BuildEalArguments());
            break;
        case "vdev":
            DpdkEal.Initialize(new DpdkOptions().BuildEalArguments());
            DpdkEal.AttachVdev(args[2], args[1]);
            break;
        case "doctor":
            var report = DpdkDoctor.Run(startEal: true);
            Console.WriteLine($"verdict {report.Available} eal {DpdkEal.IsInitialized}");
            Console.Write(Demi.Transport.Xdp.MachineDoctor.Format([report]));
            break;
        default:
            Console.WriteLine($"error 22 unknown mode {args[0]}");
            return 1;
    }
    Console.WriteLine("ok");
    return 0;
}
catch (DpdkException e)
{
    Console.WriteLine($"error {e.Errno} {e.Message}");
    return 1;
}
