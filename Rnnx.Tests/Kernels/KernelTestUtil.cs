using System.Numerics;

namespace Rnnx.Tests.Kernels;

public enum Precision
{
    Float,
    Double,
}

/// <summary>Shared helpers for the kernel-vs-reference tests.</summary>
internal static class KernelTestUtil
{
    /// <summary>Each element's bit pattern (float or double), for bit-for-bit comparisons that also tell -0 from +0 and NaN payloads apart.</summary>
    public static ulong[] Bits<T>(T[] v) where T : unmanaged =>
        v.Select(e => typeof(T) == typeof(float) ? BitConverter.SingleToUInt32Bits((float)(object)e) : BitConverter.DoubleToUInt64Bits((double)(object)e)).ToArray();

    /// <summary>
    /// The one tolerance rule of the kernel suite. SIMD kernels reorder sums (k blocking, split accumulators,
    /// tree reductions) and use FMA, so results differ from the scalar reference by rounding only. A rounding
    /// error of a sum is bounded by (number of terms) * eps * sum(|terms|), so each element is compared with an
    /// absolute tolerance rel * (scale + 1e-30) where scale is the same computation on absolute values
    /// (sum of |a*b| plus |previous value| when accumulating) and rel is 1e-5 for float (eps 6e-8) and 1e-12 for
    /// double (eps 1.1e-16): loose enough for a few hundred terms, orders of magnitude tighter than any
    /// indexing bug (which is off by a whole term).
    /// </summary>
    public static void AssertClose<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected, ReadOnlySpan<T> scale, string context)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context);
        double rel = typeof(T) == typeof(float) ? 1e-5 : 1e-12;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            double e = double.CreateTruncating(expected[i]);
            double tol = rel * (double.Abs(double.CreateTruncating(scale[i])) + 1e-30);
            if (!(double.Abs(a - e) <= tol) && !(double.IsNaN(e) && double.IsNaN(a)))
                Assert.Fail($"{context}: element {i}: got {a:R}, expected {e:R} (|diff| {double.Abs(a - e):E3} > tol {tol:E3})");
        }
    }

    /// <summary>Deterministic values uniform in [-1, 1).</summary>
    public static T[] Random<T>(System.Random rng, int length) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = new T[length];
        for (int i = 0; i < length; i++)
            r[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return r;
    }

    /// <summary><paramref name="n"/> values uniform in [lo, hi) from System.Random(<paramref name="seed"/>).</summary>
    public static T[] Uniform<T>(int seed, int n, double lo, double hi) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(lo + rng.NextDouble() * (hi - lo));
        return a;
    }

    public static T[] Abs<T>(T[] x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = new T[x.Length];
        for (int i = 0; i < x.Length; i++)
            r[i] = T.Abs(x[i]);
        return r;
    }

    public static void Dispatch(Precision p, Action<float> f, Action<double> d)
    {
        if (p == Precision.Float)
            f(0f);
        else
            d(0d);
    }
}
