using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Random;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="NoiseKernels.DropoutMask{T}"/> decides on integers (the top 53 bits against ⌈rate · 2⁵³⌉) what the
/// definition decides on doubles (<see cref="CounterRandom.Uniform"/> of the bits ≥ rate): the same masks, element for
/// element, so that every model's dropout draws stay what they were.
/// </summary>
public class NoiseKernelsTests
{
    private static readonly double[] Rates = [0.0, 0.2, 0.25, 0.5, 0.3333333333333333, 0.999, 1e-17, 4.9e-324, 1.0 - 1.0 / (1UL << 53)];

    [Test]
    public void KeepThreshold_DecidesAsTheUniformDoes_AtItsEdges()
    {
        foreach (double rate in Rates)
        {
            ulong t = NoiseKernels.KeepThreshold(rate);
            for (long d = -2; d <= 2; d++)
            {
                long n = (long)t + d;
                if (n < 0 || n >= 1L << 53) continue;
                bool byDouble = CounterRandom.Uniform((ulong)n << 11) >= rate;
                Assert.That((ulong)n >= t, Is.EqualTo(byDouble), $"rate {rate:R}, n = threshold {d:+0;-0;+0}");
            }
        }
    }

    [Test]
    public void DropoutMask_IsTheUniformDefinition([Values(false, true)] bool useDouble)
    {
        if (useDouble) Mask<double>(); else Mask<float>();
    }

    private static void Mask<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var key = new NoiseKey(CounterRandom.Stream(7, 3), 5, 11);
        foreach (double rate in Rates)
        {
            const int rows = 9, length = 37;
            var mask = new T[rows * length];
            NoiseKernels.DropoutMask<T>(mask, rows, length, key, rate);
            T keep = T.CreateTruncating(1.0 / (1.0 - rate));
            int dropped = 0;
            for (int r = 0; r < rows; r++)
            {
                ulong h = CounterRandom.RowHash(key, r);
                for (int j = 0; j < length; j++)
                {
                    T expected = CounterRandom.Uniform(CounterRandom.ElementBits(h, j)) >= rate ? keep : T.Zero;
                    Assert.That(mask[r * length + j], Is.EqualTo(expected), $"rate {rate:R}, row {r}, element {j}");
                    if (T.IsZero(expected)) dropped++;
                }
            }
            if (rate == 0.5) Assert.That(dropped, Is.InRange(rows * length / 4, rows * length * 3 / 4), "about half dropped at rate 0.5");
        }
    }
}
