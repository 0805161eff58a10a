namespace Rnnx.Tests.TestUtilities;

/// <summary>The allocation probe the steady-state tests rely on sees what a step allocates, and only that.</summary>
[NonParallelizable]
public class SteadyStateAllocationTests
{
    private static object? s_sink;

    [Test]
    public void CountsEveryRunsOwnAllocation()
    {
        long[] bytes = SteadyStateAllocation.BytesPerRun(() => s_sink = new byte[1000], warmUps: 1, measured: 5);
        Assert.That(bytes, Has.Length.EqualTo(5));
        Assert.That(bytes, Is.All.InRange(1000, 1100));
    }

    [Test]
    public void CountsNothingForAStepThatAllocatesNothing()
    {
        var buffer = new int[64];
        long[] bytes = SteadyStateAllocation.BytesPerRun(() => Array.Fill(buffer, 3), warmUps: 1, measured: 5);
        Assert.That(bytes, Is.All.EqualTo(0));
    }

    [Test]
    public void AFailingStepIsReportedWithItsCause()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            SteadyStateAllocation.BytesPerRun(() => throw new ArgumentException("bad step"), warmUps: 0, measured: 1))!;
        Assert.That(e.Message, Does.Contain("bad step"));
    }
}
