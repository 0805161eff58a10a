using Rnnx.Benchmarks.Kernels;

namespace Rnnx.Tests.Benchmarks;

/// <summary>The bandwidth command's lower bound of one LSTM series' inference, and its refusals.</summary>
public class StreamBoundTests
{
    private static readonly Dictionary<int, double> Rates = new() { [64] = 120, [256] = 110, [1024] = 90, [4096] = 80 };

    [Test]
    public void OneThread_StreamsBothLayersKernelsEveryStep_AndProjectsAtThePeak()
    {
        // 128 units: R is 128 x 512 floats = 256 KiB, read by each of 2 layers at each of 50 steps
        var b = StreamBound.OneSeries(units: 128, steps: 50, threads: 1, peakGflops: 100, Rates);
        Assert.That(b.KernelBytesPerThread, Is.EqualTo(256 * 1024));
        Assert.That(b.WorkingSetKiB, Is.EqualTo(256));
        Assert.That(b.StreamedBytes, Is.EqualTo(2.0 * 50 * 256 * 1024));
        Assert.That(b.StreamMs, Is.EqualTo(2.0 * 50 * 256 * 1024 / 110e9 * 1e3).Within(1e-12));
        // x·W of the second layer: T x U times U x 4U, 2 flops per multiply-add
        Assert.That(b.ProjectionMs, Is.EqualTo(2.0 * 50 * 128 * 4 * 128 / 100e9 * 1e3).Within(1e-12));
        Assert.That(b.BoundMs, Is.EqualTo(b.StreamMs + b.ProjectionMs));
    }

    [Test]
    public void Threads_SplitTheKernel_AndTheRateIsTheSmallestWorkingSetThatHoldsAPart()
    {
        // 256 units: 1 MiB per kernel; on 3 threads 349,526 bytes each, held by the 1024 KiB set, not the 256 KiB one
        var b = StreamBound.OneSeries(units: 256, steps: 10, threads: 3, peakGflops: 300, Rates);
        Assert.That(b.KernelBytesPerThread, Is.EqualTo((1024 * 1024 + 2) / 3));
        Assert.That(b.WorkingSetKiB, Is.EqualTo(1024));
        Assert.That(b.StreamMs, Is.EqualTo(2.0 * 10 * 1024 * 1024 / 90e9 * 1e3).Within(1e-12));
        // beyond the largest measured set: its rate, the closest measured
        Assert.That(StreamBound.OneSeries(1024, 10, 1, 100, Rates).WorkingSetKiB, Is.EqualTo(4096));
    }

    [Test]
    public void BadInputs_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamBound.OneSeries(0, 10, 1, 100, Rates));
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamBound.OneSeries(8, 10, 0, 100, Rates));
        Assert.Throws<ArgumentException>(() => StreamBound.OneSeries(8, 10, 1, 0, Rates));
        Assert.Throws<ArgumentException>(() => StreamBound.OneSeries(8, 10, 1, 100, new Dictionary<int, double>()));
    }

    [TestCase("--threads", "0", "must be 1..")]
    [TestCase("--threads", "4096", "must be 1..")]
    [TestCase("--threads", "x", "is not an option")]
    [TestCase("--samples", "0", "--samples at least 1")]
    [TestCase("--bogus", "1", "is not an option")]
    [TestCase("--threads", null, "has no value")]
    public void BadArguments_AreRefusedWithExitCode2(string option, string? value, string message)
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try
        {
            string[] args = value is null ? [option] : [option, value];
            Assert.That(StreamBound.Run(args), Is.EqualTo(2));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.That(err.ToString(), Does.Contain(message));
    }
}
