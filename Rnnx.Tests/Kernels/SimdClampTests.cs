using System.Numerics;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// ISimdMath.Clamp (the activations' clamps, with the x86 max/min instructions) gives the bits of Min(Max(x, lo), hi)
/// at every width, for finite nonzero bounds and every kind of x: NaNs with payloads, infinities, signed zeros,
/// subnormals, the bounds themselves and their neighbours. .ci/run repeats it with 512-, 256-bit and all SIMD disabled.
/// </summary>
public class SimdClampTests
{
    private static T[] Values<T>(T lo, T hi) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var list = new List<T>
        {
            T.NaN, -T.NaN, T.PositiveInfinity, T.NegativeInfinity, T.Zero, T.NegativeZero, T.Epsilon, -T.Epsilon,
            T.One, -T.One, T.CreateTruncating(3.4e38), T.CreateTruncating(-3.4e38), lo, hi, T.BitIncrement(lo), T.BitDecrement(lo), T.BitIncrement(hi), T.BitDecrement(hi),
            -lo, -hi, T.CreateTruncating(0.5), T.CreateTruncating(-1e-3), T.CreateTruncating(1e30), T.CreateTruncating(-1e30),
        };
        // NaNs with payloads, quiet and signalling, both signs
        if (typeof(T) == typeof(float))
            foreach (uint bits in new uint[] { 0x7FC00001, 0xFFC12345, 0x7F800001, 0xFF812345 })
                list.Add((T)(object)BitConverter.UInt32BitsToSingle(bits));
        else
            foreach (ulong bits in new ulong[] { 0x7FF8000000000001, 0xFFF8000000012345, 0x7FF0000000000001, 0xFFF0000000012345 })
                list.Add((T)(object)BitConverter.UInt64BitsToDouble(bits));
        var rng = new System.Random(3);
        for (int i = 0; i < 200; i++) list.Add(T.CreateTruncating((rng.NextDouble() * 2 - 1) * 200));
        while (list.Count % 16 != 0) list.Add(T.One);
        return list.ToArray();
    }

    private static void Same<T, V>(T[] x, T lo, T hi) where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        T[] got = new T[x.Length], expected = new T[x.Length];
        T[] los = Enumerable.Repeat(lo, V.Count).ToArray(), his = Enumerable.Repeat(hi, V.Count).ToArray();
        var vlo = V.Load(ref los[0], 0);
        var vhi = V.Load(ref his[0], 0);
        for (int i = 0; i < x.Length; i += V.Count)
        {
            var v = V.Load(ref x[i], 0);
            V.Store(V.Clamp(v, vlo, vhi), ref got[i], 0);
            V.Store(V.Min(V.Max(v, vlo), vhi), ref expected[i], 0);
        }
        for (int i = 0; i < x.Length; i++)
            Assert.That(Bits(got[i]), Is.EqualTo(Bits(expected[i])), $"{typeof(V).Name} Clamp({x[i]}, {lo}, {hi}): {got[i]} vs {expected[i]}");
    }

    private static ulong Bits<T>(T v) where T : unmanaged =>
        typeof(T) == typeof(float) ? BitConverter.SingleToUInt32Bits((float)(object)v) : BitConverter.DoubleToUInt64Bits((double)(object)v);

    private static void AllWidths<T>(T lo, T hi) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var x = Values(lo, hi);
        // Scalar<T>'s Clamp is Min(Max) itself (no instruction to compare with), so only the vector widths are checked.
        Same<T, Simd128<T>>(x, lo, hi);
        Same<T, Simd256<T>>(x, lo, hi);
        Same<T, Simd512<T>>(x, lo, hi);
    }

    [Test]
    public void ClampEqualsMinOfMaxAtEveryWidth()
    {
        // the exp and tanh clamps of FastMath, and bounds close to zero and far apart
        AllWidths(-87.3365478515625f, 88.3762626647949f);
        AllWidths(-7.99881172180175781f, 7.99881172180175781f);
        AllWidths(-1e-30f, 1e-30f);
        AllWidths(-float.MaxValue, 3f);
        AllWidths(-87.3365478515625, 88.3762626647949);
        AllWidths(-1e-300, 2e-300);
        TestContext.Out.WriteLine($"accelerated: 128 {Vector128.IsHardwareAccelerated}, 256 {Vector256.IsHardwareAccelerated}, 512 {Vector512.IsHardwareAccelerated}");
    }
}
