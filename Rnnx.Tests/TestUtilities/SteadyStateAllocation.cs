namespace Rnnx.Tests.TestUtilities;

/// <summary>
/// Measures how many managed bytes a repeated operation allocates once warm, without outside interference:
/// <list type="bullet">
/// <item>It runs on a thread of its own. <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts that thread alone, and
/// a fresh thread carries no thread-local state (active tapes, scratch buffers, pools) left by earlier tests.</item>
/// <item>A run during which a garbage collection happened does not count: the per-thread counter is only exact
/// between collections (a collection that retires the thread's allocation context can add a few kilobytes that were
/// never allocated: dotnet/runtime#13502, dotnet/coreclr#10207). In a full test run other threads trigger collections
/// at any time. Such a run is repeated; a real per-run allocation shows in every run, with or without a collection.</item>
/// </list>
/// </summary>
internal static class SteadyStateAllocation
{
    /// <summary>
    /// Runs <paramref name="step"/> <paramref name="warmUps"/> times, then until <paramref name="measured"/> runs
    /// completed without a garbage collection, and returns the bytes each of those allocated (every one must meet the
    /// test's limit, not only their average).
    /// </summary>
    /// <exception cref="InvalidOperationException">The step failed, or collections kept interrupting the runs.</exception>
    public static long[] BytesPerRun(Action step, int warmUps, int measured)
    {
        var bytes = new List<long>(measured);
        int disturbed = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < warmUps; i++) step();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                while (bytes.Count < measured && disturbed <= 4 * measured)
                {
                    int collections = GC.CollectionCount(0);
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    step();
                    long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                    if (GC.CollectionCount(0) == collections) bytes.Add(allocated);
                    else disturbed++;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, maxStackSize: 16 << 20) { Name = "steady-state allocation", IsBackground = true };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException($"the measured operation failed: {failure.Message}", failure);
        if (bytes.Count < measured)
            throw new InvalidOperationException(
                $"only {bytes.Count} of {measured} runs finished without a garbage collection ({disturbed} were interrupted): the step allocates enough to trigger collections itself");
        return [.. bytes];
    }
}
