namespace Rnnx.Tests.TestUtilities;

/// <summary>
/// Measures how many managed bytes a repeated operation allocates once warm. The measurement runs on a thread of its
/// own: <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts that thread alone, and a fresh thread carries no
/// thread-local state (active tapes, scratch buffers, pools) left behind by earlier tests on the runner's thread, nor
/// work the runner schedules there, so nothing but the operation itself is counted.
/// </summary>
internal static class SteadyStateAllocation
{
    /// <summary>
    /// Runs <paramref name="step"/> <paramref name="warmUps"/> times, then <paramref name="measured"/> more times and
    /// returns the bytes allocated by each measured run (every one must meet the test's limit, not only their average).
    /// </summary>
    public static long[] BytesPerRun(Action step, int warmUps, int measured)
    {
        var bytes = new long[measured];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < warmUps; i++) step();
                for (int i = 0; i < measured; i++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    step();
                    bytes[i] = GC.GetAllocatedBytesForCurrentThread() - before;
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
        return bytes;
    }
}
