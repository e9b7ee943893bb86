using System.CommandLine;
using Demi.Transport.Dpdk;
using Demi.Transport.Xdp;

namespace Demi.Cli.Commands;

/// <summary><c>demi doctor</c>: what this machine can run.</summary>
internal sealed class DoctorCommand : Command
{
    public DoctorCommand()
        : base("doctor", "Reports which backends this machine can run (kernel sockets, AF_XDP, DPDK) and why not.")
    {
        SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.Write(MachineDoctor.Format([.. MachineDoctor.Run(), DpdkDoctor.Run(startEal: true)]));
            return 0;
        });
    }
}
