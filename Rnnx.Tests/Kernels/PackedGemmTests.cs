using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="PackedGemm"/> gives bit for bit what the unpacked engine (<see cref="MatMulKernels.GemmUnpacked{T}"/>, never
/// the panels that <see cref="MatMulKernels.Gemm{T}"/> packs itself when that pays) gives on the unpacked matrix:
/// tails in m (every tile height), n (partial last panel, narrow matrices kept row-major) and k (k blocks of 256 with a
/// remainder), both storage orders of A and B, strides above the row length, accumulate on and off, float and double,
/// team sizes 1..16 (.ci/run reruns this fixture with the 512-bit, 256-bit and all SIMD paths switched off).
/// </summary>
[TestFixture]
public class PackedGemmTests
{
    private static T[] Unpacked<T>(bool transA, bool transB, int m, int n, int k, T[] a, int lda, T[] b, int ldb, T[] c0, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var c = (T[])c0.Clone();
        MatMulKernels.GemmUnpacked(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        return c;
    }

    private static T[] Packed<T>(bool transA, bool transB, int m, int n, int k, T[] a, int lda, T[] b, int ldb, T[] c0, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var packed = new T[PackedGemm.PackedLength<T>(k, n)];
        PackedGemm.Pack<T>(transB, k, n, b, ldb, packed);
        var c = (T[])c0.Clone();
        PackedGemm.Gemm<T>(transA, m, n, k, a, lda, packed, c, ldc, accumulate);
        return c;
    }

    private static void Check<T>(int m, int n, int k, int pad, int[] teams) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(m * 7919 + n * 31 + k * 3 + pad);
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        foreach (bool accumulate in new[] { false, true })
        {
            int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
            T[] a = Random<T>(rng, (transA ? k : m) * lda), b = Random<T>(rng, (transB ? n : k) * ldb);
            T[] c0 = Random<T>(rng, m * ldc);
            var expected = Unpacked(transA, transB, m, n, k, a, lda, b, ldb, c0, ldc, accumulate);
            string context = $"{typeof(T).Name} m={m} n={n} k={k} pad={pad} tA={transA} tB={transB} acc={accumulate}";
            Assert.That(Packed(transA, transB, m, n, k, a, lda, b, ldb, c0, ldc, accumulate), Is.EqualTo(expected), context);
            foreach (int size in teams)
            {
                T[] split = [];
                ParallelGemmTests.InTeam(size, Math.Min(size - 1, 3), () => split = Packed(transA, transB, m, n, k, a, lda, b, ldb, c0, ldc, accumulate));
                Assert.That(split, Is.EqualTo(expected), $"{context} team {size}");
            }
        }
    }

    [Test]
    public void TileHeightsAndPanelTails_AreBitIdenticalToTheUnpackedEngine(
        [Values(1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 16, 17, 32)] int m, [Values(1, 3, 7, 8, 15, 16, 17, 33, 48, 80)] int n)
    {
        Check<float>(m, n, 37, 0, []);
        Check<double>(m, n, 37, 3, []);
    }

    /// <summary>
    /// Partial last panels at n = 76 (last panel 12 of 16 floats with AVX2) and 100 (4 of 16): from 4 panels on
    /// (8 vectors) the layout is panels even when the last one is mostly padding; one and two rows take the
    /// row-run path, 7 and 16 rows the tiles; both storage orders of B, accumulate on and off (in <c>Check</c>).
    /// </summary>
    [Test]
    public void PartialLastPanels_AreBitIdenticalToTheUnpackedEngine([Values(1, 2, 7, 16)] int m, [Values(76, 100)] int n)
    {
        if (PackedGemmCore.Width<float>() == 8)
            Assert.That(PackedGemmCore.PanelWidth<float>(n), Is.EqualTo(16), "256-bit float layout: panels");
        Check<float>(m, n, 37, 0, [2]);
        Check<float>(m, n, 300, 1, []);
    }

    /// <summary>
    /// Below 8 vectors (4 panels) the layout stays row-major when the last panel would be at most half full (a 20-unit
    /// SimpleRNN with AVX2: 20 = 16 + 4); from 8 vectors on, or with a last panel more than half full, it is panels.
    /// </summary>
    [Test]
    public void NarrowMatricesWithAMostlyEmptyLastPanel_StayRowMajor()
    {
        int w = PackedGemmCore.Width<float>();
        (int N, bool RowMajor)[] cases =
        [
            (2 * w - 1, true), (2 * w, false), (3 * w, true), (3 * w + 1, false), (4 * w, false),
            (5 * w, true), (6 * w - 1, false), (7 * w, true), (7 * w + 1, false), (8 * w, false), (8 * w + 1, false),
            (9 * w, false), (12 * w + w / 2, false),
        ];
        foreach (var (n, rowMajor) in cases)
            Assert.That(PackedGemmCore.PanelWidth<float>(n), Is.EqualTo(rowMajor || w == 0 ? 0 : 2 * w), $"n={n} W={w}");
        if (w == 8)
            Assert.That(PackedGemmCore.PanelWidth<float>(20), Is.Zero, "20 floats: one full panel and a quarter");
    }

    [Test]
    public void KTails_AreBitIdenticalToTheUnpackedEngine([Values(1, 2, 255, 256, 257, 600)] int k)
    {
        Check<float>(13, 40, k, 1, []);
        Check<double>(13, 40, k, 0, []);
    }

    [TestCase(16, 1024, 256)]  // a training shard's recurrent step (U = 256): panel ranges
    [TestCase(32, 520, 130)]   // partial last panel in the last part
    [TestCase(256, 256, 64)]   // 256-series inference: row ranges
    [TestCase(403, 72, 300)]   // row ranges at tile multiples, k blocks with a remainder
    [TestCase(1, 2048, 512)]   // one series
    public void ModelShapes_AreBitIdenticalForEveryTeamSize(int m, int n, int k)
    {
        int[] teams = [1, 2, 3, 4, 5, 7, 8, 16];
        Check<float>(m, n, k, 0, teams);
        Check<double>(m, n, k, 2, [2, 16]);
    }

    /// <summary>MatMulKernels.Gemm packs B into panels itself when that pays: it must not change a bit.</summary>
    [TestCase(32, 64, 700)]    // the smallest untransposed batch that packs; three k blocks, the last partial
    [TestCase(31, 40, 256)]    // a partial last panel
    [TestCase(2, 50, 300)]     // B^T is packed from two rows on
    [TestCase(257, 1024, 64)]  // inference on 257 series
    [TestCase(130, 520, 1600)] // a weight gradient: long reduction
    public void GemmWithInternalPanels_IsBitIdenticalToTheUnpackedEngine(int m, int n, int k)
    {
        var rng = new System.Random(m + n + k);
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        foreach (bool accumulate in new[] { false, true })
        foreach (int size in new[] { 1, 2, 5, 16 })
        {
            int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3;
            float[] a = Random<float>(rng, (transA ? k : m) * lda), b = Random<float>(rng, (transB ? n : k) * ldb);
            float[] c = Random<float>(rng, m * ldc), expected = (float[])c.Clone();
            MatMulKernels.GemmUnpacked<float>(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
            ParallelGemmTests.InTeam(size, Math.Min(size - 1, 3), () => MatMulKernels.Gemm<float>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate));
            Assert.That(c, Is.EqualTo(expected), $"m={m} n={n} k={k} tA={transA} tB={transB} acc={accumulate} team {size}");
        }
    }

    [Test]
    public void EmptyProducts_ClearOrKeepC([Values(0, 1)] int m, [Values(0, 17)] int n, [Values(0, 5)] int k)
    {
        Check<float>(m, n, k, 0, [2]);
    }

    [Test]
    public void Products_AllocateNothingAfterWarmUp()
    {
        const int m = 16, n = 1024, k = 300;
        var rng = new System.Random(3);
        float[] a = Random<float>(rng, m * k), b = Random<float>(rng, k * n), c = new float[m * n];
        var packed = new float[PackedGemm.PackedLength<float>(k, n)];
        PackedGemm.Pack<float>(false, k, n, b, n, packed);
        float[] big = Random<float>(rng, 64 * k), bigC = new float[64 * n];
        void Run()
        {
            PackedGemm.Pack<float>(false, k, n, b, n, packed);
            PackedGemm.Gemm<float>(false, m, n, k, a, k, packed, c, n, false);
            PackedGemm.Gemm<float>(false, 1, n, k, a, k, packed, c, n, true);
            MatMulKernels.Gemm<float>(false, false, 64, n, k, big, k, b, n, bigC, n, false);
        }
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void BadArguments_AreRefusedNamingTheArgument()
    {
        var b = new float[10 * 20];
        var packed = new float[PackedGemm.PackedLength<float>(10, 20)];
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedGemm.PackedLength<float>(-1, 20));
        var e = Assert.Throws<ArgumentException>(() => PackedGemm.Pack<float>(false, 10, 20, b.AsSpan(1), 20, packed))!;
        Assert.That(e.ParamName, Is.EqualTo("b"));
        e = Assert.Throws<ArgumentOutOfRangeException>(() => PackedGemm.Pack<float>(false, 10, 20, b, 19, packed))!;
        Assert.That(e.ParamName, Is.EqualTo("ldb"));
        e = Assert.Throws<ArgumentException>(() => PackedGemm.Pack<float>(false, 10, 20, b, 20, packed.AsSpan(1)))!;
        Assert.That(e.ParamName, Is.EqualTo("packed"));
        PackedGemm.Pack<float>(false, 10, 20, b, 20, packed);
        var a = new float[3 * 10];
        var c = new float[3 * 20];
        e = Assert.Throws<ArgumentException>(() => PackedGemm.Gemm<float>(false, 3, 20, 10, a, 10, packed, c.AsSpan(1), 20, false))!;
        Assert.That(e.ParamName, Is.EqualTo("c"));
        e = Assert.Throws<ArgumentOutOfRangeException>(() => PackedGemm.Gemm<float>(true, 3, 20, 10, a, 2, packed, c, 20, false))!;
        Assert.That(e.ParamName, Is.EqualTo("lda"));
        e = Assert.Throws<ArgumentException>(() => PackedGemm.Gemm<float>(false, 3, 20, 10, a, 10, packed.AsSpan(0, 5), c, 20, false))!;
        Assert.That(e.ParamName, Is.EqualTo("packed"));
        Assert.That(c, Is.All.EqualTo(0f), "a refused product leaves C unchanged");
    }
}
