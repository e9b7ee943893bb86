// Hosts pin shards, open AF_XDP sockets and build namespaces: one test at a time on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
