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
        // x·W of the second layer: T x U times U x 4U, 2 flops per multiply-add; with both layers' h·R, three times that
        Assert.That(b.ProjectionMs, Is.EqualTo(2.0 * 50 * 128 * 4 * 128 / 100e9 * 1e3).Within(1e-12));
        Assert.That(b.ComputeMs, Is.EqualTo((2 * 50 * 2.0 * 128 * 4 * 128 + 2.0 * 50 * 128 * 4 * 128) / 100e9 * 1e3).Within(1e-12));
        // here the stream takes longer (0.238 ms) than every product at the peak (0.197 ms): the stream is the bound
        Assert.That(b.BoundMs, Is.EqualTo(b.StreamMs));
        // an engine that projects between the recurrences: the stream, then the projection
        Assert.That(b.SequentialMs, Is.EqualTo((2.0 * 50 * 256 * 1024 / 110e9 + 2.0 * 50 * 128 * 4 * 128 / 100e9) * 1e3).Within(1e-12));
    }

    [Test]
    public void Bound_IsTheProductsAtThePeak_WhenTheyTakeLongerThanTheStream()
    {
        var b = StreamBound.OneSeries(units: 128, steps: 50, threads: 1, peakGflops: 10, Rates);
        Assert.That(b.ComputeMs, Is.GreaterThan(b.StreamMs));
        Assert.That(b.BoundMs, Is.EqualTo(b.ComputeMs));
    }

    [Test]
    public unsafe void ReadLoop_SumsEveryElementOnce_AtEveryWidth()
    {
        // 8 vectors of the widest width, twice: small integers, so every order of the sum is exact
        const int n = 2 * 8 * 16;
        float[] values = Enumerable.Range(0, n).Select(i => (float)(i % 7)).ToArray();
        float expected = values.Sum();
        fixed (float* p = values)
        {
            Assert.That(StreamBound.Sum<Rnnx.Simd.Simd512<float>>(p, n), Is.EqualTo(expected));
            Assert.That(StreamBound.Sum<Rnnx.Simd.Simd256<float>>(p, n), Is.EqualTo(expected));
            Assert.That(StreamBound.Sum<Rnnx.Simd.Simd128<float>>(p, n), Is.EqualTo(expected));
        }
    }

    [Test]
    public void Threads_SplitTheKernel_AndAPartStreamsAtTheFastestRateFromTheLargestSetNotAboveIt()
    {
        // 256 units: 1 MiB per kernel; on 3 threads 349,526 bytes (341 KiB) each: between the 256 and 1024 KiB sets, so
        // it may stream as fast as 256 KiB does
        var b = StreamBound.OneSeries(units: 256, steps: 10, threads: 3, peakGflops: 300, Rates);
        Assert.That(b.KernelBytesPerThread, Is.EqualTo((1024 * 1024 + 2) / 3));
        Assert.That(b.WorkingSetKiB, Is.EqualTo(256));
        Assert.That(b.StreamMs, Is.EqualTo(2.0 * 10 * 1024 * 1024 / 110e9 * 1e3).Within(1e-12));
        // a part of exactly 1024 KiB (U = 256, one thread): that set's rate, not the faster smaller ones
        Assert.That(StreamBound.OneSeries(256, 10, 1, 300, Rates).WorkingSetKiB, Is.EqualTo(1024));
        // a larger set measured faster (noise, or a prefetcher that likes it) gives the smaller, safer bound
        var bumpy = new Dictionary<int, double>(Rates) { [4096] = 95 };
        Assert.That(StreamBound.OneSeries(256, 10, 1, 300, bumpy).WorkingSetKiB, Is.EqualTo(4096));
        // beyond the largest measured set: its rate, the nearest measured; below the smallest: the fastest of all
        Assert.That(StreamBound.OneSeries(1024, 10, 1, 100, Rates).WorkingSetKiB, Is.EqualTo(4096));
        Assert.That(StreamBound.OneSeries(8, 10, 1, 100, Rates).WorkingSetKiB, Is.EqualTo(64));
    }

    [Test]
    public void BadInputs_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamBound.OneSeries(0, 10, 1, 100, Rates));
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamBound.OneSeries(8, 0, 1, 100, Rates));
        Assert.Throws<ArgumentOutOfRangeException>(() => StreamBound.OneSeries(8, 10, 0, 100, Rates));
        Assert.Throws<ArgumentException>(() => StreamBound.OneSeries(8, 10, 1, 0, Rates));
        Assert.Throws<ArgumentException>(() => StreamBound.OneSeries(8, 10, 1, 100, new Dictionary<int, double>()));
        Assert.Throws<ArgumentException>(() => StreamBound.OneSeries(8, 10, 1, 100, new Dictionary<int, double> { [64] = 0 }));
    }

    [TestCase("--threads", "0", "--threads 0 is outside 1..")]
    [TestCase("--threads", "4096", "--threads 4096 is outside 1..")]
    [TestCase("--threads", "x", "--threads needs a whole number, not 'x'")]
    [TestCase("--threads", "99999999999", "--threads needs a whole number")]
    [TestCase("--samples", "0", "--samples 0 is outside 1..1000")]
    [TestCase("--samples", "1001", "--samples 1001 is outside 1..1000")]
    [TestCase("--bogus", "1", "'--bogus' is not an option")]
    [TestCase("--help", null, "'--help' is not an option")]
    [TestCase("--threads", null, "--threads has no value")]
    [TestCase("--samples", "3 --samples 4", "--samples is given twice")]
    public void BadArguments_AreRefusedWithExitCode2(string option, string? value, string message)
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try
        {
            string[] args = value is null ? [option] : [option, .. value.Split(' ')];
            Assert.That(StreamBound.Run(args), Is.EqualTo(2));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.That(err.ToString(), Does.Contain(message));
    }
}
