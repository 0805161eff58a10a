using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="PackedGemmSum"/> (an LSTM step's x_t·W + h·R tile by tile) against its twin (the engine-order reference
/// storing A1·B1, then adding A2·B2) and against the two packed products it replaces, bit for bit (signed zeros
/// included), with strides above the row lengths and C's padding untouched: the shapes it fuses (every tile height,
/// partial last panels) and those it hands to the two products (two rows or fewer, a panel pair beyond L1, a k block
/// beyond 256, narrow n, a team). .ci/run repeats it with the 512-bit, 256-bit and all SIMD paths switched off.
/// </summary>
public class PackedGemmSumTests
{
    private static T[] Pack<T>(int k, int n, T[] b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var packed = new T[PackedGemm.PackedLength<T>(k, n)];
        PackedGemm.Pack<T>(false, k, n, b, n, packed);
        return packed;
    }

    private static void Check<T>(int m, int n, int k1, int k2, int team = 1) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(m * 7919 + n * 31 + k1 * 7 + k2);
        int lda1 = k1 + 3, lda2 = k2 + 1, ldc = n + 2;
        T[] a1 = Random<T>(rng, m * lda1), a2 = Random<T>(rng, m * lda2), b1 = Random<T>(rng, k1 * n), b2 = Random<T>(rng, k2 * n);
        a1[0] = T.NegativeZero;
        T[] p1 = Pack(k1, n, b1), p2 = Pack(k2, n, b2);
        T[] c0 = Random<T>(rng, m * ldc);
        var twin = (T[])c0.Clone();
        ReferenceMatMul.GemmInEngineOrder<T>(false, false, m, n, k1, a1, lda1, b1, n, twin, ldc, false);
        ReferenceMatMul.GemmInEngineOrder<T>(false, false, m, n, k2, a2, lda2, b2, n, twin, ldc, true);
        var two = (T[])c0.Clone();
        PackedGemm.Gemm<T>(false, m, n, k1, a1, lda1, p1, two, ldc, false);
        PackedGemm.Gemm<T>(false, m, n, k2, a2, lda2, p2, two, ldc, true);
        var sum = (T[])c0.Clone();
        if (team == 1) PackedGemmSum.Gemm<T>(m, n, k1, a1, lda1, p1, k2, a2, lda2, p2, sum, ldc);
        else ParallelGemmTests.InTeam(team, 1, () => PackedGemmSum.Gemm<T>(m, n, k1, a1, lda1, p1, k2, a2, lda2, p2, sum, ldc));
        string context = $"{typeof(T).Name} m={m} n={n} k1={k1} k2={k2} team {team}";
        Assert.That(Bits(sum), Is.EqualTo(Bits(twin)), $"{context}: twin");
        Assert.That(Bits(sum), Is.EqualTo(Bits(two)), $"{context}: two packed products");
    }

    [TestCase(12, 512, 128, 128)] // the second layer's step chunk at U = 128 (F = U)
    [TestCase(12, 512, 32, 128)]  // 32 features, U = 128
    [TestCase(24, 256, 64, 64)]   // U = 64
    [TestCase(13, 100, 5, 7)]     // partial last panel, tiles of 5 and 4 rows
    [TestCase(3, 80, 1, 3)]       // one 3-row tile, k = 1
    [TestCase(6, 40, 17, 2)]
    public void FusedShapes_EqualTheTwinAndTheTwoProducts(int m, int n, int k1, int k2)
    {
        Assert.That(PackedGemmSum.Fuses<float>(m, n, k1, k2), Is.EqualTo(PackedGemmCore.PanelWidth<float>(n) != 0), "float runs tile by tile where the layout is packed");
        Check<float>(m, n, k1, k2);
        Check<double>(m, n, k1, k2);
    }

    [TestCase(2, 64, 4, 4)]       // two rows: the one-row kernel of the packed engine
    [TestCase(7, 1024, 256, 256)] // U = 256: the panel pair does not fit L1
    [TestCase(9, 40, 300, 20)]    // a k block beyond 256
    [TestCase(5, 12, 3, 3)]       // narrow: row-major layout
    public void OtherShapes_RunAsTwoProductsWithTheSameBits(int m, int n, int k1, int k2)
    {
        // the panel pair of U = 256 fits L1 only with 128-bit panels (half as wide)
        if (PackedGemmCore.Width<float>() != 4 || n != 1024)
            Assert.That(PackedGemmSum.Fuses<float>(m, n, k1, k2), Is.False);
        Check<float>(m, n, k1, k2);
        Check<double>(m, n, k1, k2);
    }

    [Test]
    public void InATeam_TheProductsAreSplitWithTheSameBits()
    {
        Check<float>(48, 512, 128, 128, team: 2);
        Check<float>(12, 512, 32, 128, team: 3);
    }

    [Test]
    public void SpansTooShort_AreRefusedNamingTheKernel()
    {
        // without SIMD the layout is row-major and the two products refuse the spans themselves (PackedGemm.Gemm)
        var p = new float[PackedGemm.PackedLength<float>(8, 64)];
        var ex = Assert.Throws<ArgumentException>(() => PackedGemmSum.Gemm<float>(12, 64, 8, new float[12 * 8], 8, p, 8, new float[12 * 8], 8, p, new float[11 * 64], 64));
        Assert.That(ex!.Message, Does.Contain(PackedGemmSum.Fuses<float>(12, 64, 8, 8) ? "PackedGemmSum.Gemm" : "PackedGemm.Gemm"));
        ex = Assert.Throws<ArgumentException>(() => PackedGemmSum.Gemm<float>(12, 64, 8, new float[12 * 8], 8, p[..10], 8, new float[12 * 8], 8, p, new float[12 * 64], 64));
        Assert.That(ex!.Message, Does.Contain("packed"));
    }
}
