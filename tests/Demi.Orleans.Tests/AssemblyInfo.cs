// Each test runs a 2-silo cluster with a libOS per silo: one at a time on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
