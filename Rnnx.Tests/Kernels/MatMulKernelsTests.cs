using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using Rnnx.Tests.TestUtilities;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

[TestFixture]
public class MatMulKernelsTests
{
    private const int Guard = 37;

    /// <summary>
    /// Runs Gemm and the reference on the same random inputs (ld = minimum + pad) and compares; C's padding
    /// columns and a guard zone after C must be left untouched.
    /// </summary>
    private static void Check<T>(System.Random rng, bool transA, bool transB, int m, int n, int k, int pad, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        int aRows = transA ? k : m, bRows = transB ? n : k;
        T[] a = Random<T>(rng, Math.Max(aRows * lda, 0));
        T[] b = Random<T>(rng, Math.Max(bRows * ldb, 0));
        T[] c0 = Random<T>(rng, m * ldc + Guard);
        T[] expected = (T[])c0.Clone();
        T[] actual = (T[])c0.Clone();
        ReferenceMatMul.Gemm(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
        MatMulKernels.Gemm(transA, transB, m, n, k, a, lda, b, ldb, actual, ldc, accumulate);

        T[] scale = Abs(c0);
        if (!accumulate)
            Array.Clear(scale, 0, m * ldc);
        ReferenceMatMul.Gemm(transA, transB, m, n, k, Abs(a), lda, Abs(b), ldb, scale, ldc, true);
        // Padding columns and the guard zone: the kernel must not write there (scale 0 => exact equality).
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                scale[i * ldc + j] = T.Zero;
        for (int i = m * ldc; i < scale.Length; i++)
            scale[i] = T.Zero;
        AssertClose<T>(actual, expected, scale,
            $"{typeof(T).Name} transA={transA} transB={transB} m={m} n={n} k={k} pad={pad} acc={accumulate}");
    }

    private static void AllVariants<T>(int seed, int m, int n, int k, int pad) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        foreach (bool acc in new[] { false, true })
            Check<T>(rng, ta, tb, m, n, k, pad, acc);
    }

    [Test]
    public void SweepN([Values] Precision p, [Values(0, 3)] int pad)
    {
        for (int n = 0; n <= 257; n++)
            Dispatch(p, _ => AllVariants<float>(n, 3, n, 5, pad), _ => AllVariants<double>(n, 3, n, 5, pad));
    }

    [Test]
    public void SweepM([Values] Precision p, [Values(0, 3)] int pad, [Values(2, 17)] int n)
    {
        for (int m = 0; m <= 257; m++)
            Dispatch(p, _ => AllVariants<float>(m, m, n, 3, pad), _ => AllVariants<double>(m, m, n, 3, pad));
    }

    [Test]
    public void SweepK([Values] Precision p, [Values(3)] int pad)
    {
        for (int k = 0; k <= 257; k++)
            Dispatch(p, _ => AllVariants<float>(k, 5, 19, k, pad), _ => AllVariants<double>(k, 5, 19, k, pad));
    }

    [Test]
    public void OddShapes([Values] Precision p)
    {
        int[] sizes = { 1, 3, 7, 17, 33 };
        foreach (int m in sizes)
        foreach (int n in sizes)
        foreach (int k in sizes)
            Dispatch(p, _ => AllVariants<float>(m * 1000 + n * 10 + k, m, n, k, 1),
                _ => AllVariants<double>(m * 1000 + n * 10 + k, m, n, k, 1));
    }

    // The recurrent shapes: forward gate products, their backward counterparts, weight gradients over all
    // time steps, and a large square one that exercises k blocking (k > GemmCore.KBlock) and full tiles.
    [TestCase(32, 80, 21)]
    [TestCase(32, 80, 20)]
    [TestCase(16, 80, 20)]
    [TestCase(32, 20, 80)]
    [TestCase(64, 70, 300)]
    public void RecurrentShapes(int m, int n, int k)
    {
        AllVariants<float>(1, m, n, k, 0);
        AllVariants<double>(2, m, n, k, 0);
        AllVariants<float>(3, m, n, k, 2);
    }

    // Weight gradients over all time steps: X^T * dGates with X [1600 x 20] (transA), plus the NN layout.
    [TestCase(20, 80, 1600)]
    [TestCase(21, 80, 1600)]
    public void LongReductionShapes(int m, int n, int k)
    {
        var rng = new System.Random(m);
        foreach (bool acc in new[] { false, true })
        {
            Check<float>(rng, true, false, m, n, k, 0, acc);
            Check<double>(rng, true, false, m, n, k, 0, acc);
            Check<float>(rng, false, false, m, n, k, 1, acc);
        }
    }

    // The 16-register tile plan (4x2 tiles, the last three vectors in one 4x3 tile) on narrow products (n = 17..24:
    // one 3-vector tile of 256-bit vectors, with an overlapped tail below 24) and wider ones (2 + 3, 2 + 2 + 3, ...
    // vectors): bit for bit the engine's order of operations (the reference twin ReferenceMatMul.GemmInEngineOrder),
    // for the public entry point and the unpacked engine, across k blocks.
    [Test]
    public void NarrowTiles_AreBitIdenticalToTheEngineOrder([Values(17, 20, 23, 24, 25, 40, 44, 56, 80, 84)] int n,
        [Values(1, 80, 300)] int k, [Values] bool transA, [Values] bool transB)
    {
        var rng = new System.Random(n * 1000 + k);
        foreach (int m in new[] { 2, 3, 4, 5, 9, 32 })
        foreach (bool acc in new[] { false, true })
        {
            int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3;
            float[] a = Random<float>(rng, (transA ? k : m) * lda);
            float[] b = Random<float>(rng, (transB ? n : k) * ldb);
            float[] c0 = Random<float>(rng, m * ldc);
            float[] expected = (float[])c0.Clone(), packed = (float[])c0.Clone(), unpacked = (float[])c0.Clone();
            ReferenceMatMul.GemmInEngineOrder<float>(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, acc);
            MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b, ldb, packed, ldc, acc);
            MatMulKernels.GemmUnpacked<float>(transA, transB, m, n, k, a, lda, b, ldb, unpacked, ldc, acc);
            string what = $"m={m} n={n} k={k} transA={transA} transB={transB} acc={acc}";
            Assert.That(unpacked, Is.EqualTo(expected), "unpacked " + what);
            Assert.That(packed, Is.EqualTo(expected), "Gemm " + what);
        }
    }

    // One row (the matrix-vector kernel GemvCore): every n across the vector-width tails, k across KBlock.
    [Test]
    public void OneRow([Values] Precision p, [Values(1, 5, 20, 300)] int k, [Values(0, 2)] int pad)
    {
        for (int n = 0; n <= 257; n++)
            Dispatch(p, _ => AllVariants<float>(n + k, 1, n, k, pad), _ => AllVariants<double>(n + k, 1, n, k, pad));
    }

    // One column over many rows (the eight-row dot kernel and its M % 8 remainder).
    [Test]
    public void OneColumn([Values] Precision p, [Values(1, 7, 8, 9, 16, 50, 300)] int k, [Values(0, 3)] int pad)
    {
        for (int m = 0; m <= 70; m++)
            Dispatch(p, _ => AllVariants<float>(m + k, m, 1, k, pad), _ => AllVariants<double>(m + k, m, 1, k, pad));
    }

    // A row computed alone (M = 1 path) equals the same row inside a batch bit for bit, so a series predicted on its own
    // gets exactly the numbers it gets in a batch.
    [Test]
    public void OneRow_IsBitIdenticalToTheSameRowInABatch([Values(1, 2, 3, 7, 8, 20, 80, 81, 200)] int n, [Values(1, 20, 300)] int k,
        [Values] bool accumulate, [Values] bool transA)
    {
        BitIdentical<float>(n, k, accumulate, transA);
        BitIdentical<double>(n, k, accumulate, transA);
    }

    private static void BitIdentical<T>(int n, int k, bool accumulate, bool transA) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int m = 5;
        var rng = new System.Random(n * 1000 + k);
        T[] a = Random<T>(rng, m * k), b = Random<T>(rng, k * n), c0 = Random<T>(rng, m * n);
        int lda = transA ? m : k;
        T[] batch = (T[])c0.Clone();
        MatMulKernels.Gemm<T>(transA, false, m, n, k, a, lda, b, n, batch, n, accumulate);
        for (int i = 0; i < m; i++)
        {
            T[] row = c0.AsSpan(i * n, n).ToArray();
            ReadOnlySpan<T> ai = transA ? a.AsSpan(i) : a.AsSpan(i * k, k);
            MatMulKernels.Gemm<T>(transA, false, 1, n, k, ai, lda, b, n, row, n, accumulate);
            Assert.That(row, Is.EqualTo(batch.AsSpan(i * n, n).ToArray()), $"{typeof(T).Name} row {i} n={n} k={k} acc={accumulate} transA={transA}");
        }
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void Square256(bool transA, bool transB)
    {
        Check<float>(new System.Random(9), transA, transB, 256, 256, 256, 0, true);
    }

    [Test]
    public void ConvenienceOverloads([Values] Precision p, [Values] bool accumulate)
    {
        Dispatch(p, _ => Convenience<float>(accumulate), _ => Convenience<double>(accumulate));
    }

    private static void Convenience<T>(bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(42);
        foreach (var (m, k, n) in new[] { (32, 20, 80), (3, 5, 7), (16, 1, 33), (1, 40, 10) })
        {
            T[] a = Random<T>(rng, m * k), b = Random<T>(rng, k * n), c0 = Random<T>(rng, m * n);
            T[] bt = Random<T>(rng, n * k), at = Random<T>(rng, k * m);
            T[] scaleBase = accumulate ? Abs(c0) : new T[m * n];

            T[] e = (T[])c0.Clone(), r = (T[])c0.Clone(), s = (T[])scaleBase.Clone();
            ReferenceMatMul.MatMul<T>(a, b, e, m, k, n, accumulate);
            MatMulKernels.MatMul<T>(a, b, r, m, k, n, accumulate);
            ReferenceMatMul.MatMul<T>(Abs(a), Abs(b), s, m, k, n, true);
            AssertClose<T>(r, e, s, $"MatMul {m}x{k}x{n}");

            e = (T[])c0.Clone(); r = (T[])c0.Clone(); s = (T[])scaleBase.Clone();
            ReferenceMatMul.MatMulTransB<T>(a, bt, e, m, k, n, accumulate);
            MatMulKernels.MatMulTransB<T>(a, bt, r, m, k, n, accumulate);
            ReferenceMatMul.MatMulTransB<T>(Abs(a), Abs(bt), s, m, k, n, true);
            AssertClose<T>(r, e, s, $"MatMulTransB {m}x{k}x{n}");

            e = (T[])c0.Clone(); r = (T[])c0.Clone(); s = (T[])scaleBase.Clone();
            ReferenceMatMul.MatMulTransA<T>(at, b, e, m, k, n, accumulate);
            MatMulKernels.MatMulTransA<T>(at, b, r, m, k, n, accumulate);
            ReferenceMatMul.MatMulTransA<T>(Abs(at), Abs(b), s, m, k, n, true);
            AssertClose<T>(r, e, s, $"MatMulTransA {m}x{k}x{n}");
        }
    }

    [Test]
    public void ZeroK_ClearsOrKeeps()
    {
        float[] c = { 1, 2, 3, 4, 5, 6 };
        MatMulKernels.Gemm<float>(false, false, 2, 2, 0, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 2, c, 3, true);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        MatMulKernels.Gemm<float>(false, false, 2, 2, 0, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 2, c, 3, false);
        Assert.That(c, Is.EqualTo(new float[] { 0, 0, 3, 0, 0, 6 }));
    }

    [Test]
    public void SmallExact()
    {
        // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
        double[] c = new double[4];
        MatMulKernels.MatMul<double>(new double[] { 1, 2, 3, 4 }, new double[] { 5, 6, 7, 8 }, c, 2, 2, 2);
        Assert.That(c, Is.EqualTo(new double[] { 19, 22, 43, 50 }));
    }

    /// <summary>
    /// The public GEMM checks its spans in Release too: a short span would otherwise be read or written past its end
    /// (C in particular, overwriting the caller's memory). Each refusal names the argument and leaves C unchanged.
    /// </summary>
    [Test]
    public void ShortSpansAndStrides_AreRefusedNamingTheArgument(
        [Values(false, true)] bool transA, [Values(false, true)] bool transB)
    {
        const int m = 3, n = 20, k = 10;
        int lda = transA ? m : k, ldb = transB ? k : n;
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        void Refused<TException>(string param, Action call) where TException : ArgumentException
        {
            var e = Assert.Throws<TException>(() => call())!;
            Assert.That(e.ParamName, Is.EqualTo(param));
            Assert.That(e.Message, Does.StartWith("MatMulKernels.Gemm"));
        }
        Refused<ArgumentException>("a", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a.AsSpan(1), lda, b, ldb, c, n, false));
        Refused<ArgumentException>("b", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b.AsSpan(1), ldb, c, n, false));
        Refused<ArgumentException>("c", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b, ldb, c.AsSpan(1), n, false));
        Refused<ArgumentException>("c", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b, ldb, c, n + 1, true));
        Refused<ArgumentOutOfRangeException>("lda", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda - 1, b, ldb, c, n, false));
        Refused<ArgumentOutOfRangeException>("ldb", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b, ldb - 1, c, n, false));
        Refused<ArgumentOutOfRangeException>("ldc", () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b, ldb, c, n - 1, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMulKernels.Gemm<float>(transA, transB, -1, n, k, a, lda, b, ldb, c, n, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMulKernels.Gemm<float>(transA, transB, m, n, -1, a, lda, b, ldb, c, n, false));
        Assert.Throws<ArgumentException>(() => MatMulKernels.MatMul<float>(a, b, c.AsSpan(0, m * n - 1), m, k, n));
        Assert.That(c, Is.All.EqualTo(0f), "a refused product leaves C unchanged");
    }

    [Test]
    public void DoesNotAllocateAfterWarmup()
    {
        var rng = new System.Random(5);
        float[] a = Random<float>(rng, 32 * 80), b = Random<float>(rng, 20 * 80), c = new float[32 * 20];
        void Step()
        {
            MatMulKernels.MatMulTransB<float>(a, b, c, 32, 80, 20);
            MatMulKernels.MatMul<float>(a, b, c, 32, 20, 20);
            MatMulKernels.MatMulTransA<float>(a, b, c, 20, 32, 20);
        }
        // The first run sizes the thread's packing scratch; nothing after it may allocate.
        Assert.That(SteadyStateAllocation.BytesPerRun(Step, warmUps: 1, measured: 10), Is.All.EqualTo(0));
    }
}
