using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>The vectorized activation-backward kernels against their scalar references, every length 0..257.</summary>
public class ElementwiseKernelsTests
{
    private delegate void Kernel<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y);

    private static void Sweep<T>(Kernel<T> vectorized, Kernel<T> reference, Func<double, T> conv) where T : struct
    {
        var rng = new System.Random(7);
        for (int n = 0; n <= 257; n++)
        {
            var g = new T[n]; var y = new T[n]; var d0 = new T[n];
            for (int i = 0; i < n; i++)
            {
                g[i] = conv(rng.NextDouble() * 2 - 1);
                y[i] = conv(i % 5 == 0 ? 0.0 : rng.NextDouble() * 2 - 1);   // exact zeros exercise relu's kink
                d0[i] = conv(rng.NextDouble());
            }
            var a = (T[])d0.Clone(); var b = (T[])d0.Clone();
            vectorized(a, g, y);
            reference(b, g, y);
            // Same formula, same operation order per element: results must be identical, bit for bit.
            Assert.That(a, Is.EqualTo(b), $"length {n}");
        }
    }

    [Test]
    public void TanhBackward_MatchesReference() { Sweep<float>(Elementwise.TanhBackwardAccumulate, ReferenceElementwise.TanhBackwardAccumulate, v => (float)v); Sweep<double>(Elementwise.TanhBackwardAccumulate, ReferenceElementwise.TanhBackwardAccumulate, v => v); }

    [Test]
    public void SigmoidBackward_MatchesReference() { Sweep<float>(Elementwise.SigmoidBackwardAccumulate, ReferenceElementwise.SigmoidBackwardAccumulate, v => (float)v); Sweep<double>(Elementwise.SigmoidBackwardAccumulate, ReferenceElementwise.SigmoidBackwardAccumulate, v => v); }

    [Test]
    public void ReluBackward_MatchesReference() { Sweep<float>(Elementwise.ReluBackwardAccumulate, ReferenceElementwise.ReluBackwardAccumulate, v => (float)v); Sweep<double>(Elementwise.ReluBackwardAccumulate, ReferenceElementwise.ReluBackwardAccumulate, v => v); }

    /// <summary>
    /// The overwriting forms against their references and against the accumulating form on a zeroed buffer (what the
    /// ops ran before), bit for bit, also written over y itself; g holds −0 and y exact zeros and negatives.
    /// </summary>
    private static void SweepOverwrite<T>(Kernel<T> overwrite, Kernel<T> reference, Kernel<T> accumulate, Func<double, T> conv, Func<T, long> bits)
        where T : struct
    {
        var rng = new System.Random(11);
        for (int n = 0; n <= 257; n++)
        {
            var g = new T[n]; var y = new T[n];
            for (int i = 0; i < n; i++)
            {
                g[i] = conv(i % 7 == 3 ? -0.0 : rng.NextDouble() * 2 - 1);
                y[i] = conv(i % 5 == 0 ? 0.0 : rng.NextDouble() * 2 - 1);
            }
            var zeroed = new T[n];
            accumulate(zeroed, g, y);
            var expected = zeroed.Select(bits).ToArray();
            var fresh = new T[n];
            for (int i = 0; i < n; i++) fresh[i] = conv(double.NaN);   // every element must be written
            overwrite(fresh, g, y);
            var oracle = new T[n];
            reference(oracle, g, y);
            var over = (T[])y.Clone();
            overwrite(over, g, over);
            Assert.That(fresh.Select(bits).ToArray(), Is.EqualTo(expected), $"length {n}: a separate buffer");
            Assert.That(oracle.Select(bits).ToArray(), Is.EqualTo(expected), $"length {n}: the scalar reference");
            Assert.That(over.Select(bits).ToArray(), Is.EqualTo(expected), $"length {n}: written over y");
        }
    }

    [Test]
    public void OverwritingActivationBackward_SameBitsAsAccumulatingIntoZeros()
    {
        SweepOverwrite<float>(Elementwise.ReluBackward, ReferenceElementwise.ReluBackward, Elementwise.ReluBackwardAccumulate, v => (float)v, v => BitConverter.SingleToInt32Bits(v));
        SweepOverwrite<double>(Elementwise.ReluBackward, ReferenceElementwise.ReluBackward, Elementwise.ReluBackwardAccumulate, v => v, BitConverter.DoubleToInt64Bits);
        SweepOverwrite<float>(Elementwise.TanhBackward, ReferenceElementwise.TanhBackward, Elementwise.TanhBackwardAccumulate, v => (float)v, v => BitConverter.SingleToInt32Bits(v));
        SweepOverwrite<double>(Elementwise.TanhBackward, ReferenceElementwise.TanhBackward, Elementwise.TanhBackwardAccumulate, v => v, BitConverter.DoubleToInt64Bits);
        SweepOverwrite<float>(Elementwise.SigmoidBackward, ReferenceElementwise.SigmoidBackward, Elementwise.SigmoidBackwardAccumulate, v => (float)v, v => BitConverter.SingleToInt32Bits(v));
        SweepOverwrite<double>(Elementwise.SigmoidBackward, ReferenceElementwise.SigmoidBackward, Elementwise.SigmoidBackwardAccumulate, v => v, BitConverter.DoubleToInt64Bits);
    }
}
