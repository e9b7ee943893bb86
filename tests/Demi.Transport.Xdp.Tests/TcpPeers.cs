using System.Diagnostics;
using System.Security.Cryptography;

namespace Demi.Transport.Xdp.Tests;

/// <summary>TCP endpoints used by the interop tests: python3 kernel clients and Demi-side echo server and bulk client.</summary>
internal static class TcpPeers
{
    /// <summary>
    /// argv: server ip, port, bytes, seed, timeout. Sends pseudo-random bytes (one thread) while reading
    /// the echo (another), half-closes after the last byte, reads to EOF; prints
    /// "sent SHA received SHA BYTES SECONDS" (a reset raises, which fails the run).
    /// </summary>
    public const string KernelBulkEchoClient = """
import hashlib, random, socket, sys, threading, time
ip, port, total, seed, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rnd = random.Random(seed)
data = rnd.randbytes(total)
s = socket.create_connection((ip, port), timeout=timeout)
s.settimeout(timeout)
err = []
def send():
    try:
        view = memoryview(data); off = 0
        while off < total:
            off += s.send(view[off:off + 65536])
        s.shutdown(socket.SHUT_WR)
    except Exception as e:
        err.append(repr(e))
t0 = time.monotonic()
th = threading.Thread(target=send); th.start()
h = hashlib.sha256(); got = 0
while True:
    d = s.recv(1 << 20)
    if not d: break
    h.update(d); got += len(d)
th.join()
dt = time.monotonic() - t0
s.close()
if err: print('send error', err[0], file=sys.stderr); sys.exit(2)
print(hashlib.sha256(data).hexdigest(), h.hexdigest(), got, '%.3f' % dt, flush=True)
""";

    /// <summary>The bytes the python client sends for (total, seed): Python's random.Random(seed).randbytes(total) cannot be reproduced here, so tests compare the two hashes python prints.</summary>
    public static string[] ParseClient(CommandResult r)
    {
        Assert.True(r.Succeeded, $"python client failed (exit {r.ExitCode}): {r.StandardError} {r.StandardOutput}");
        var parts = r.StandardOutput.Trim().Split(' ');
        Assert.Equal(4, parts.Length);
        return parts;
    }

    /// <summary>
    /// A Demi TCP echo server: accepts one connection on <paramref name="listenQd"/>, echoes every
    /// popped segment with a fire-and-forget push (zero-copy: the received frame is sent back), and
    /// closes on end of stream. Returns bytes echoed, or throws.
    /// </summary>
    public static EchoRun EchoOneConnection(LibOS libOS, int listenQd, TimeSpan timeout)
        => new(() =>
        {
            Check(libOS.Accept(out var aqt, listenQd), "accept");
            var accepted = DemiOverVeth.WaitOk(libOS, aqt, timeout);
            int qd = accepted.AcceptedQd;
            long echoed = 0;
            while (true)
            {
                Check(libOS.Pop(out var pqt, qd), "pop");
                var r = DemiOverVeth.WaitOk(libOS, pqt, timeout);
                if (r.Sga.Length == 0)
                {
                    libOS.SgaFree(r.Sga);
                    break;
                }
                echoed += r.Sga.Length;
                Check(libOS.Push(out var sqt, qd, r.Sga), "push");
                DemiOverVeth.WaitOk(libOS, sqt, timeout);
                libOS.SgaFree(r.Sga);
            }
            Check(libOS.Close(qd), "close");
            return echoed;
        });

    /// <summary>A server body on its own thread, with its result or exception.</summary>
    public sealed class EchoRun
    {
        private readonly Thread _thread;
        private long _result;
        private Exception? _error;

        public EchoRun(Func<long> body)
        {
            _thread = new Thread(() =>
            {
                try { _result = body(); }
                catch (Exception e) { _error = e; }
            }) { IsBackground = true, Name = "tcp-echo-server" };
            _thread.Start();
        }

        /// <summary>Waits for the body; false on timeout; rethrows its failure.</summary>
        public bool Wait(TimeSpan timeout)
        {
            if (!_thread.Join(timeout))
                return false;
            if (_error is not null)
                throw new Xunit.Sdk.XunitException("echo server failed: " + _error);
            return true;
        }

        public long Result => _result;
    }

    /// <summary>
    /// A Demi TCP client on a connected <paramref name="qd"/>: pushes <paramref name="data"/> in
    /// <paramref name="chunk"/>-byte buffers from one thread while another pops the echo; returns the
    /// SHA-256 of what came back once <c>data.Length</c> bytes arrived, and the elapsed time.
    /// </summary>
    public static (byte[] Hash, long Bytes, TimeSpan Elapsed) BulkThroughEcho(LibOS libOS, int qd, byte[] data, int chunk, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        Exception? sendError = null;
        var sender = new Thread(() =>
        {
            try
            {
                for (int off = 0; off < data.Length; off += chunk)
                {
                    int n = Math.Min(chunk, data.Length - off);
                    var sga = libOS.SgaAlloc(n);
                    Assert.True(sga.IsAllocated, "SgaAlloc failed");
                    data.AsSpan(off, n).CopyTo(sga.Span);
                    Check(libOS.Push(out var qt, qd, sga), "push");
                    DemiOverVeth.WaitOk(libOS, qt, timeout);
                    libOS.SgaFree(sga);
                }
            }
            catch (Exception e)
            {
                sendError = e;
            }
        }) { IsBackground = true, Name = "tcp-bulk-send" };
        sender.Start();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long got = 0;
        while (got < data.Length)
        {
            Check(libOS.Pop(out var pqt, qd), "pop");
            var r = DemiOverVeth.WaitOk(libOS, pqt, timeout);
            Assert.True(r.Sga.Length > 0, $"end of stream after {got} of {data.Length} bytes");
            sha.AppendData(r.Sga.Span);
            got += r.Sga.Length;
            libOS.SgaFree(r.Sga);
        }
        sw.Stop();
        Assert.True(sender.Join(timeout), "sender did not finish");
        if (sendError is not null)
            throw new Xunit.Sdk.XunitException("sender failed: " + sendError);
        return (sha.GetHashAndReset(), got, sw.Elapsed);
    }

    public static void Check(int rc, string what)
    {
        if (rc != 0)
            throw new Xunit.Sdk.XunitException($"{what}: {Errno.Name(rc)}");
    }
}
