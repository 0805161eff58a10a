using System.Numerics;
using System.Runtime.Intrinsics;
using Rnnx.Kernels;
using Rnnx.Simd;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// ISimdMath.Clamp (the activations' clamps, with the x86 max/min instructions) gives the bits of Min(Max(x, lo), hi)
/// at every width, for finite nonzero bounds and every kind of x: NaNs with payloads, infinities, signed zeros,
/// subnormals, the bounds themselves and their neighbours; a signalling NaN up to its quiet bit, which Min/Max set or
/// not by instruction set and the activations' arithmetic sets anyway. .ci/run repeats it with 512-, 256-bit and all SIMD disabled.
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
        {
            string what = $"{typeof(V).Name} Clamp({x[i]} = 0x{Bits(x[i]):X}, {lo}, {hi}): 0x{Bits(got[i]):X} vs 0x{Bits(expected[i]):X}";
            if (IsSignalling(x[i]))
            {
                // A signalling NaN passes MINPS/MAXPS as it is; .NET's Min/Max pass it as it is where they compile to
                // compare-and-blend (AVX2) and quiet it where AVX-512 computes them. Either way the same sign and
                // payload, and the first arithmetic after the clamp quiets it (SignallingNaNs_GiveTheActivationsTheQuietNaNsBits).
                Assert.That(T.IsNaN(got[i]) && T.IsNaN(expected[i]), Is.True, what);
                Assert.That(Bits(got[i]) | QuietBit<T>(), Is.EqualTo(Bits(expected[i]) | QuietBit<T>()), what);
            }
            else
            {
                Assert.That(Bits(got[i]), Is.EqualTo(Bits(expected[i])), what);
            }
        }
    }

    private static ulong QuietBit<T>() => typeof(T) == typeof(float) ? 1UL << 22 : 1UL << 51;

    private static bool IsSignalling<T>(T v) where T : unmanaged, IBinaryFloatingPointIeee754<T> => T.IsNaN(v) && (Bits(v) & QuietBit<T>()) == 0;

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

    [Test]
    public void SignallingNaNs_GiveTheActivationsTheQuietNaNsBits()
    {
        // what the clamps feed: exp, sigmoid and tanh of a signalling NaN equal, bit for bit, those of the same NaN quieted
        foreach (uint bits in new uint[] { 0x7F800001, 0xFF812345, 0x7FA00000 })
        {
            float sNaN = BitConverter.UInt32BitsToSingle(bits), qNaN = BitConverter.UInt32BitsToSingle(bits | (1u << 22));
            Activations<Simd128<float>>(sNaN, qNaN);
            Activations<Simd256<float>>(sNaN, qNaN);
            Activations<Simd512<float>>(sNaN, qNaN);
            Activations<Scalar<float>>(sNaN, qNaN);
        }
    }

    private static void Activations<V>(float sNaN, float qNaN) where V : struct, ISimdMath<V, float>
    {
        float[] s = Enumerable.Repeat(sNaN, V.Count).ToArray(), q = Enumerable.Repeat(qNaN, V.Count).ToArray();
        var vs = V.Load(ref s[0], 0);
        var vq = V.Load(ref q[0], 0);
        foreach (var (name, f) in new (string, Func<V, V>)[] { ("exp", v => FastMath.Exp(v)), ("sigmoid", v => FastMath.Sigmoid(v)), ("tanh", v => FastMath.Tanh(v)) })
        {
            float[] fromS = new float[V.Count], fromQ = new float[V.Count];
            V.Store(f(vs), ref fromS[0], 0);
            V.Store(f(vq), ref fromQ[0], 0);
            Assert.That(fromS.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(fromQ.Select(BitConverter.SingleToUInt32Bits)),
                $"{typeof(V).Name} {name}(0x{BitConverter.SingleToUInt32Bits(sNaN):X})");
        }
    }
}
