using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// Softmax / log-softmax kernels and their backward against the scalar references, for contiguous rows (the
/// vectorized path) and strided axes, every row length 1..70 plus long rows. The vectorized exp and sums round
/// differently from the scalar ones, so the comparison allows a few ulps (relative 2e-6 in float32, 1e-13 in float64).
/// </summary>
public class SoftmaxKernelsTests
{
    private delegate void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner);

    private delegate void Backward<T>(Span<T> dx, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int outer, int n, int inner);

    private static IEnumerable<(int Outer, int N, int Inner)> Geometries()
    {
        for (int n = 1; n <= 70; n++) yield return (2, n, 1);
        foreach (int n in new[] { 127, 128, 129, 1000 }) yield return (3, n, 1);
        foreach (int inner in new[] { 2, 3, 17 })
            foreach (int n in new[] { 1, 2, 5, 33 }) yield return (2, n, inner);
    }

    private static void Close<T>(T[] actual, T[] expected, double rtol, string what) where T : struct, IConvertible
    {
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i].ToDouble(null), e = expected[i].ToDouble(null);
            Assert.That(Math.Abs(a - e), Is.LessThanOrEqualTo(rtol * Math.Max(1, Math.Abs(e))), $"{what}, element {i}: {a} vs {e}");
        }
    }

    private static void CheckForward<T>(Forward<T> kernel, Forward<T> reference, Func<double, T> conv, double rtol, string name) where T : struct, IConvertible
    {
        var rng = new System.Random(11);
        foreach (var (outer, n, inner) in Geometries())
        {
            int size = outer * n * inner;
            var x = new T[size];
            for (int i = 0; i < size; i++) x[i] = conv(rng.NextDouble() * 20 - 10);
            var a = new T[size];
            var b = new T[size];
            kernel(x, a, outer, n, inner);
            reference(x, b, outer, n, inner);
            Close(a, b, rtol, $"{name} ({outer}, {n}, {inner})");
        }
    }

    private static void CheckBackward<T>(Backward<T> kernel, Backward<T> reference, Forward<T> forward, Func<double, T> conv, double rtol, string name)
        where T : struct, IConvertible
    {
        var rng = new System.Random(12);
        foreach (var (outer, n, inner) in Geometries())
        {
            int size = outer * n * inner;
            var x = new T[size];
            var g = new T[size];
            var d0 = new T[size];
            for (int i = 0; i < size; i++)
            {
                x[i] = conv(rng.NextDouble() * 6 - 3);
                g[i] = conv(rng.NextDouble() * 2 - 1);
                d0[i] = conv(rng.NextDouble());
            }
            var y = new T[size];
            forward(x, y, outer, n, inner);
            var a = (T[])d0.Clone();
            var b = (T[])d0.Clone();
            kernel(a, g, y, outer, n, inner);
            reference(b, g, y, outer, n, inner);
            Close(a, b, rtol, $"{name} ({outer}, {n}, {inner})");
        }
    }

    [Test]
    public void Softmax_MatchesReference()
    {
        CheckForward<float>(SoftmaxKernels.Softmax, ReferenceSoftmax.Softmax, v => (float)v, 2e-6, "float");
        CheckForward<double>(SoftmaxKernels.Softmax, ReferenceSoftmax.Softmax, v => v, 1e-13, "double");
    }

    [Test]
    public void LogSoftmax_MatchesReference()
    {
        CheckForward<float>(SoftmaxKernels.LogSoftmax, ReferenceSoftmax.LogSoftmax, v => (float)v, 2e-6, "float");
        CheckForward<double>(SoftmaxKernels.LogSoftmax, ReferenceSoftmax.LogSoftmax, v => v, 1e-13, "double");
    }

    [Test]
    public void SoftmaxBackward_MatchesReference()
    {
        CheckBackward<float>(SoftmaxKernels.SoftmaxBackwardAccumulate, ReferenceSoftmax.SoftmaxBackwardAccumulate, ReferenceSoftmax.Softmax, v => (float)v, 2e-6, "float");
        CheckBackward<double>(SoftmaxKernels.SoftmaxBackwardAccumulate, ReferenceSoftmax.SoftmaxBackwardAccumulate, ReferenceSoftmax.Softmax, v => v, 1e-13, "double");
    }

    [Test]
    public void LogSoftmaxBackward_MatchesReference()
    {
        CheckBackward<float>(SoftmaxKernels.LogSoftmaxBackwardAccumulate, ReferenceSoftmax.LogSoftmaxBackwardAccumulate, ReferenceSoftmax.LogSoftmax, v => (float)v, 2e-6, "float");
        CheckBackward<double>(SoftmaxKernels.LogSoftmaxBackwardAccumulate, ReferenceSoftmax.LogSoftmaxBackwardAccumulate, ReferenceSoftmax.LogSoftmax, v => v, 1e-13, "double");
    }

    [Test]
    public void Softmax_HugeLogits_StayFinite()
    {
        float[] x = [1e30f, -1e30f, 1e30f, 0f];
        var y = new float[4];
        var l = new float[4];
        SoftmaxKernels.Softmax<float>(x, y, 1, 4, 1);
        SoftmaxKernels.LogSoftmax<float>(x, l, 1, 4, 1);
        Assert.That(y, Is.EqualTo(new[] { 0.5f, 0f, 0.5f, 0f }));
        Assert.That(l[0], Is.EqualTo(-MathF.Log(2)).Within(1e-6f));
        Assert.That(l[1], Is.EqualTo(-2e30f).Within(1e25f), "log-softmax stays finite where the probability underflows");
    }

    [Test]
    public void Erf_MatchesKnownValues()
    {
        // Abramowitz & Stegun, Table 7.1 (erf to 15 places).
        Assert.That(ActivationKernels.Erf(0.5), Is.EqualTo(0.520499877813047).Within(1e-15));
        Assert.That(ActivationKernels.Erf(1.0), Is.EqualTo(0.842700792949715).Within(1e-15));
        Assert.That(ActivationKernels.Erf(2.0), Is.EqualTo(0.995322265018953).Within(1e-15));
        Assert.That(ActivationKernels.Erf(-1.5), Is.EqualTo(-0.966105146475311).Within(1e-15));
        Assert.That(ActivationKernels.Erf(0), Is.EqualTo(0));
        Assert.That(ActivationKernels.Erf(7), Is.EqualTo(1));
    }
}
