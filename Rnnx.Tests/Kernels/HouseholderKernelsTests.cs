using System.Diagnostics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using Rnnx.Layers;
using Rnnx.Random;

namespace Rnnx.Tests.Kernels;

[TestFixture]
public class HouseholderKernelsTests
{
    private static (double[] Q, double[] R) Run(bool reference, double[] a, int m, int n)
    {
        var work = (double[])a.Clone();
        var q = new double[m * n + 7];
        Array.Fill(q, double.NaN);   // the kernel writes all of Q's m·n values and nothing past them
        if (reference) ReferenceHouseholder.ThinQ(work, m, n, q);
        else HouseholderKernels.ThinQ(work, m, n, q);
        return (q, work);
    }

    private static void AssertSameBits(double[] a, int m, int n, string what)
    {
        var (eq, er) = Run(true, a, m, n);
        var (q, r) = Run(false, a, m, n);
        for (int i = 0; i < m * n; i++)
        {
            Assert.That(BitConverter.DoubleToInt64Bits(q[i]), Is.EqualTo(BitConverter.DoubleToInt64Bits(eq[i])), $"{what}: Q[{i / n}, {i % n}] {q[i]:R} vs {eq[i]:R}");
            Assert.That(BitConverter.DoubleToInt64Bits(r[i]), Is.EqualTo(BitConverter.DoubleToInt64Bits(er[i])), $"{what}: R work[{i / n}, {i % n}]");
        }
        for (int i = m * n; i < q.Length; i++) Assert.That(q[i], Is.NaN, $"{what}: written past Q at {i}");
    }

    // widths below, at and past a vector, with tails; tall and square; the LSTM/GRU recurrent kernels' (4U, U) and (3U, U)
    [TestCase(1, 1)]
    [TestCase(3, 3)]
    [TestCase(5, 3)]
    [TestCase(7, 4)]
    [TestCase(9, 5)]
    [TestCase(33, 17)]
    [TestCase(64, 64)]
    [TestCase(80, 20)]
    [TestCase(60, 20)]
    [TestCase(256, 64)]
    [TestCase(131, 37)]
    public void NormalDraw_SameBitsAsTheColumnByColumnLoop(int m, int n)
    {
        var a = new double[m * n];
        new NumPyRandomState((uint)(m * 31 + n)).StandardNormal(a);
        AssertSameBits(a, m, n, $"{m}x{n}");
    }

    [Test]
    public void SkippedReflectionsAndZeroColumns_SameBitsAsTheColumnByColumnLoop()
    {
        // upper triangular: nothing below any diagonal, no reflection at all
        int m = 9, n = 6;
        var upper = new double[m * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) upper[i * n + j] = 1 + i - 0.5 * j;
        AssertSameBits(upper, m, n, "upper triangular");
        // a zero column (R[j, j] = 0: its Q column zeroed by sign 0), a repeated column, signed zeros and tiny values
        var a = new double[m * n];
        new NumPyRandomState(5).StandardNormal(a);
        for (int i = 0; i < m; i++)
        {
            a[i * n + 2] = 0;
            a[i * n + 4] = a[i * n + 1];
            a[i * n + 5] = i % 2 == 0 ? -0.0 : 1e-150 * (i + 1);
        }
        AssertSameBits(a, m, n, "degenerate columns");
    }

    [Test]
    public void BadShapesAndSpans_AreRefusedWithTheShape()
    {
        Assert.That(() => HouseholderKernels.ThinQ(new double[6], 2, 3, new double[6]), Throws.ArgumentException.With.Message.Contains("m = 2, n = 3"));
        Assert.That(() => HouseholderKernels.ThinQ(new double[5], 3, 2, new double[6]), Throws.ArgumentException.With.Message.Contains("3 x 2"));
        Assert.That(() => HouseholderKernels.ThinQ(new double[6], 3, 2, new double[5]), Throws.ArgumentException.With.Message.Contains("3 x 2"));
    }

    /// <summary>
    /// An LSTM(512)'s recurrent kernel (512 x 2048: the QR of a 2048 x 512 draw) took about 12.7 s on the 2-core machine
    /// when the reflections walked the row-major matrix column by column; row by row it takes 0.6 s (vectorized) and
    /// about 1 s on the scalar path. A wall-clock bound, so explicit: run it on a quiet machine (the suite runs tests in
    /// parallel, and its bit-for-bit tests above are what guard the kernel).
    /// </summary>
    [Test, Explicit("wall-clock bound: run alone on a quiet machine")]
    public void Lstm512_RecurrentKernelInitializesInSeconds()
    {
        var lstm = new LSTM(512);
        var clock = Stopwatch.StartNew();
        lstm.Build([null, 1], DType.Float32, new NumPyRandomState(3));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)));
        Assert.That(lstm.Weights[1].Shape, Is.EqualTo(new Shape(512, 2048)));
    }
}
