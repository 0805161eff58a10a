using System.Numerics;
using Rnnx.Random;

namespace Rnnx.Kernels;

/// <summary>
/// Fills counter-based noise (spans and integers): element j of row r depends only on the key, r and j. Scalar loops
/// only (a hash per element has no SIMD path), so they are their own reference.
/// </summary>
internal static class NoiseKernels
{
    /// <summary>Inverted dropout: each element is 0 with probability <paramref name="rate"/>, else 1 / (1 − rate).</summary>
    public static void DropoutMask<T>(Span<T> dst, int rows, int rowLength, NoiseKey key, double rate) where T : IBinaryFloatingPointIeee754<T>
    {
        T keep = T.CreateTruncating(1.0 / (1.0 - rate));
        for (int r = 0; r < rows; r++)
        {
            ulong h = CounterRandom.RowHash(key, r);
            var row = dst.Slice(r * rowLength, rowLength);
            for (int j = 0; j < row.Length; j++)
                row[j] = CounterRandom.Uniform(CounterRandom.ElementBits(h, j)) >= rate ? keep : T.Zero;
        }
    }

    /// <summary>Normal noise with mean 0 and standard deviation <paramref name="stddev"/>.</summary>
    public static void Gaussian<T>(Span<T> dst, int rows, int rowLength, NoiseKey key, double stddev) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            ulong h = CounterRandom.RowHash(key, r);
            var row = dst.Slice(r * rowLength, rowLength);
            for (int j = 0; j < row.Length; j++) row[j] = T.CreateTruncating(stddev * CounterRandom.Normal(h, j));
        }
    }
}
