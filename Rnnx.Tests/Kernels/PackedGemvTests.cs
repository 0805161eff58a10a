using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The matrix-vector kernel from B packed once (<see cref="GemvCore.Pack{T}"/>, <see cref="GemvCore.RunPacked{T}"/>):
/// the bits of the unpacked kernel and (from a vector's width) of the scalar twin in the engine's order, for every column count across the
/// vector-width tails and the 8-vector blocks, reductions across <see cref="GemmCore.KBlock"/>, packed buffers at
/// every element offset, without writing past the packed length or y.
/// </summary>
[TestFixture]
public class PackedGemvTests
{
    private const int Guard = 19;

    [Test]
    public void PackedEqualsTheReferenceAndTheUnpackedKernel([Values] Precision p, [Values(1, 3, 20, 257, 300)] int k, [Values] bool accumulate)
    {
        for (int n = 1; n <= 140; n++)
            Dispatch(p, _ => Check<float>(n, k, accumulate, offset: n % 16), _ => Check<double>(n, k, accumulate, offset: n % 8));
    }

    [Test]
    public void TheRecurrentKernelsShapes([Values(64, 100, 256)] int units, [Values] bool accumulate)
    {
        // one series' products: all 4U gate columns at once, and one gate's columns of a part (a split series)
        Check<float>(4 * units, units, accumulate, offset: 0);
        Check<float>(units / 2, units, accumulate, offset: 5);
    }

    [Test]
    public void NothingToDo_LeavesYAloneOrClearsIt()
    {
        Assert.That(GemvCore.PackedLength<float>(0, 5), Is.EqualTo(0));
        Assert.That(GemvCore.PackedLength<float>(7, 0), Is.EqualTo(0));
        float[] y = [1f, 2f, 3f];
        unsafe
        {
            fixed (float* py = y)
            {
                GemvCore.RunPacked<float>(3, 0, null, 1, null, py, accumulate: true);
                Assert.That(y, Is.EqualTo(new[] { 1f, 2f, 3f }));
                GemvCore.RunPacked<float>(3, 0, null, 1, null, py, accumulate: false);
                Assert.That(y, Is.EqualTo(new[] { 0f, 0f, 0f }));
            }
        }
    }

    private static unsafe void Check<T>(int n, int k, bool accumulate, int offset) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(n * 7919 + k);
        int ldb = n + 3;
        T[] x = Random<T>(rng, k), b = Random<T>(rng, k * ldb), y0 = Random<T>(rng, n + Guard);
        long length = GemvCore.PackedLength<T>(n, k);
        Assert.That(length, Is.GreaterThanOrEqualTo((long)n * k), $"n={n} k={k}: every element of B is packed at least once");
        T[] packed = new T[offset + length + Guard];
        var sentinel = T.CreateTruncating(-12345.0);
        Array.Fill(packed, sentinel);

        T[] expected = (T[])y0.Clone(), unpacked = (T[])y0.Clone(), actual = (T[])y0.Clone();
        ReferenceMatMul.GemmInEngineOrder<T>(false, false, 1, n, k, x, k, b, ldb, expected, n, accumulate);
        fixed (T* px = x, pb = b, pp = packed, pu = unpacked, pa = actual)
        {
            GemvCore.Run(n, k, px, 1, pb, ldb, pu, accumulate);
            GemvCore.Pack(n, k, pb, ldb, pp + offset);
            GemvCore.RunPacked(n, k, px, 1, pp + offset, pa, accumulate);
        }
        string what = $"{typeof(T).Name} n={n} k={k} acc={accumulate} offset={offset}";
        Assert.That(actual, Is.EqualTo(unpacked), "packed vs unpacked, " + what);
        // the reference follows the engine's vector paths; with fewer columns than a vector the kernel runs scalar lanes
        // (ISimd<T, T>.MulAdd: a*b + c, unfused, as the engine's own narrow rows, which a batch's row equals:
        // MatMulKernelsTests.OneRow_IsBitIdenticalToTheSameRowInABatch), where the reference fuses when FMA exists;
        // 8 columns fill a vector on every SIMD path (4 floats or 2 doubles would do at 128 bits)
        if (n >= 8) Assert.That(actual, Is.EqualTo(expected), "packed vs reference, " + what);
        for (int i = 0; i < offset; i++)
            Assert.That(packed[i], Is.EqualTo(sentinel), $"written before the packed buffer at {i}, " + what);
        for (long i = offset + length; i < packed.Length; i++)
            Assert.That(packed[i], Is.EqualTo(sentinel), $"written past the packed length at {i - offset}, " + what);
    }
}
