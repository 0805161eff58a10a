using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rnnx.Random;

namespace Rnnx.Kernels;

/// <summary>
/// Fills counter-based noise (spans and integers): element j of row r depends only on the key, r and j. Scalar loops
/// only (a hash per element has no SIMD path), so they are their own reference.
/// </summary>
internal static class NoiseKernels
{
    /// <summary>
    /// Inverted dropout: each element is 0 with probability <paramref name="rate"/>, else 1 / (1 − rate): kept when
    /// <see cref="CounterRandom.Uniform"/> of its bits is at least the rate. That uniform is n · 2⁻⁵³ (n the top 53 bits,
    /// exactly), so the test is n ≥ ⌈rate · 2⁵³⌉ on integers (<see cref="KeepThreshold"/>), the same decisions without a
    /// conversion to double, and the value is picked without a branch (a fifth of the elements dropped at random would
    /// mispredict one).
    /// </summary>
    public static void DropoutMask<T>(Span<T> dst, int rows, int rowLength, NoiseKey key, double rate) where T : IBinaryFloatingPointIeee754<T>
    {
        T keep = T.CreateTruncating(1.0 / (1.0 - rate));
        ulong threshold = KeepThreshold(rate);
        for (int r = 0; r < rows; r++)
        {
            ulong h = CounterRandom.RowHash(key, r);
            var row = dst.Slice(r * rowLength, rowLength);
            if (typeof(T) == typeof(float))
            {
                int keepBits = BitConverter.SingleToInt32Bits(float.CreateTruncating(keep));
                var f = MemoryMarshal.CreateSpan(ref Unsafe.As<T, int>(ref MemoryMarshal.GetReference(row)), row.Length);
                for (int j = 0; j < f.Length; j++)
                    f[j] = keepBits & (int)KeptBits(CounterRandom.ElementBits(h, j), threshold);
            }
            else if (typeof(T) == typeof(double))
            {
                long keepBits = BitConverter.DoubleToInt64Bits(double.CreateTruncating(keep));
                var d = MemoryMarshal.CreateSpan(ref Unsafe.As<T, long>(ref MemoryMarshal.GetReference(row)), row.Length);
                for (int j = 0; j < d.Length; j++)
                    d[j] = keepBits & (long)KeptBits(CounterRandom.ElementBits(h, j), threshold);
            }
            else
            {
                for (int j = 0; j < row.Length; j++)
                    row[j] = CounterRandom.Uniform(CounterRandom.ElementBits(h, j)) >= rate ? keep : T.Zero;
            }
        }
    }

    /// <summary>⌈rate · 2⁵³⌉: the top 53 bits n of an element are kept when n ≥ this (exact: rate · 2⁵³ only scales by a power of two).</summary>
    internal static ulong KeepThreshold(double rate) => rate <= 0 ? 0 : (ulong)Math.Ceiling(rate * (1UL << 53));

    /// <summary>All ones when the top 53 of <paramref name="bits"/> are at least <paramref name="threshold"/>, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong KeptBits(ulong bits, ulong threshold) =>
        // threshold − 1 − n is negative (as a two's-complement value: both are below 2⁵⁴) exactly when n ≥ threshold
        (ulong)((long)(threshold - 1 - (bits >> 11)) >> 63);

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
