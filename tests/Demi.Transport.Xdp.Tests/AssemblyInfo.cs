// Tests build namespaces, attach XDP programs and move threads between namespaces; with 2 cores and
// real kernel peers, running them one at a time keeps timings and counters meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
