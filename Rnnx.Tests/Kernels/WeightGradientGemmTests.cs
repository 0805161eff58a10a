using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="WeightGradientGemm"/> (dZ packed once per k block for two Aᵀ·dZ products and the column sums) gives bit
/// for bit what the separate calls give — <see cref="MatMulKernels.Gemm{T}"/> per product and
/// <see cref="RecurrentKernels.AddColumnSums{T}"/> — and what their scalar twins give: row counts with and without a
/// remainder of four, one and several k blocks, panel tails, narrow n kept row-major, products that are not shared
/// (m = 1: the matrix-vector path; m below the panel threshold), any subset of the outputs, float and double, teams of
/// 1 and 2 (.ci/run reruns this fixture with the 512-bit, 256-bit and all SIMD paths switched off).
/// </summary>
[TestFixture]
public class WeightGradientGemmTests
{
    private static void Check<T>(int k, int n, int m1, int m2, int pad, bool want1, bool want2, bool wantSums, int team)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(k * 7919 + n * 31 + m1 * 7 + m2 * 3 + pad);
        int ldz = n + pad, lda1 = m1 + pad, lda2 = m2 + 2 * pad;
        T[] dz = Random<T>(rng, k * ldz), a1 = Random<T>(rng, k * lda1), a2 = Random<T>(rng, k * lda2);
        T[] c1 = Random<T>(rng, m1 * n), c2 = Random<T>(rng, m2 * n), sums = Random<T>(rng, n);

        T[] e1 = (T[])c1.Clone(), e2 = (T[])c2.Clone(), eSums = (T[])sums.Clone();
        if (want1) MatMulKernels.Gemm(true, false, m1, n, k, a1, lda1, dz, ldz, e1, n, true);
        if (want2) MatMulKernels.Gemm(true, false, m2, n, k, a2, lda2, dz, ldz, e2, n, true);
        if (wantSums) RecurrentKernels.AddColumnSums<T>(dz, k, n, ldz, eSums);

        T[] r1 = (T[])c1.Clone(), r2 = (T[])c2.Clone(), rSums = (T[])sums.Clone();
        if (want1) ReferenceMatMul.GemmInEngineOrder(true, false, m1, n, k, a1, lda1, dz, ldz, r1, n, true);
        if (want2) ReferenceMatMul.GemmInEngineOrder(true, false, m2, n, k, a2, lda2, dz, ldz, r2, n, true);
        if (wantSums) ReferenceRecurrent.AddColumnSums<T>(dz, k, n, ldz, rSums);

        T[] g1 = (T[])c1.Clone(), g2 = (T[])c2.Clone(), gSums = (T[])sums.Clone();
        void Run() => WeightGradientGemm.Run<T>(k, n, dz, ldz, m1, a1, lda1, want1 ? g1 : default, m2, a2, lda2, want2 ? g2 : default,
            wantSums ? gSums : default);
        if (team > 1) ParallelGemmTests.InTeam(team, 1, Run);
        else Run();

        string context = $"{typeof(T).Name} k={k} n={n} m1={m1} m2={m2} pad={pad} outputs={want1}/{want2}/{wantSums} team {team}";
        Assert.That(g1, Is.EqualTo(e1), $"{context}: first product against MatMulKernels.Gemm");
        Assert.That(g2, Is.EqualTo(e2), $"{context}: second product against MatMulKernels.Gemm");
        Assert.That(gSums, Is.EqualTo(eSums), $"{context}: column sums against AddColumnSums");
        // the engine is single-rounding FMA only where FMA exists; the twin follows the same rule, m ≥ 2 (its contract)
        if (m1 >= 2) Assert.That(g1, Is.EqualTo(r1), $"{context}: first product against the scalar twin");
        if (m2 >= 2) Assert.That(g2, Is.EqualTo(r2), $"{context}: second product against the scalar twin");
        Assert.That(gSums, Is.EqualTo(rSums), $"{context}: column sums against the scalar twin");
    }

    [Test]
    public void SharedPackingAndColumnSums_AreBitIdenticalToSeparateCalls(
        [Values(1, 3, 37, 256, 515)] int k, [Values(16, 20, 76, 256)] int n)
    {
        foreach (var (m1, m2) in new[] { (32, 64), (64, 33), (1, 40), (5, 32), (3, 7) })
        {
            Check<float>(k, n, m1, m2, 0, true, true, true, 1);
            Check<double>(k, n, m1, m2, 3, true, true, true, 1);
        }
    }

    [Test]
    public void AnySubsetOfOutputs_IsBitIdenticalToSeparateCalls(
        [Values(false, true)] bool want1, [Values(false, true)] bool want2, [Values(false, true)] bool wantSums)
    {
        Check<float>(300, 64, 40, 32, 1, want1, want2, wantSums, 1);
        Check<double>(300, 48, 32, 36, 0, want1, want2, wantSums, 1);
    }

    [Test]
    public void ATeamOfTwo_GivesTheSameBits([Values(800, 1600)] int k)
    {
        Check<float>(k, 256, 64, 64, 0, true, true, true, 2);
        Check<float>(k, 512, 128, 128, 2, true, true, true, 2);
        Check<double>(k, 128, 32, 32, 0, true, true, true, 2);
    }

    /// <summary>More than one row block of A per k block (above 21 tiles of 6 rows at k ≥ 256), every tile height.</summary>
    [Test]
    public void SeveralRowBlocks_AreBitIdenticalToSeparateCalls([Values(127, 200, 203)] int m)
    {
        Check<float>(600, 48, m, m - 7, 1, true, true, true, 1);
        Check<double>(300, 40, m, 64, 0, true, true, true, 1);
    }

    /// <summary>
    /// Three products over column ranges of dz (the GRU's reset-before layout: x over all 3U columns, the previous
    /// states over [0, 2U), r ⊙ h over [2U, 3U), the recurrent kernel's gradient strided by 3U) against one
    /// <see cref="MatMulKernels.Gemm{T}"/> per product on its columns: ranges on panel boundaries share the packed blocks,
    /// others (U = 20, 8: 2U not a whole number of panels; a range starting mid-panel) run on their own.
    /// </summary>
    private static void CheckRanges<T>(int k, int u, int features, (int Start, int End)[] ranges, int team)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = 3 * u;
        var rng = new System.Random(k * 131 + u * 17 + features + ranges.Length);
        T[] dz = Random<T>(rng, k * n), x = Random<T>(rng, k * features), hPrev = Random<T>(rng, k * u), rh = Random<T>(rng, k * u);
        T[] gw = Random<T>(rng, features * n), gr = Random<T>(rng, u * n), sums = Random<T>(rng, n);
        T[] ew = (T[])gw.Clone(), er = (T[])gr.Clone(), eSums = (T[])sums.Clone();
        T[] rw = (T[])gw.Clone(), rr = (T[])gr.Clone(), rSums = (T[])sums.Clone();
        var (s1, e1) = ranges[0];
        var (s2, e2) = ranges[1];
        var (s3, e3) = ranges[2];
        MatMulKernels.Gemm(true, false, features, e1 - s1, k, x, features, dz.AsSpan(s1), n, ew.AsSpan(s1), n, true);
        MatMulKernels.Gemm(true, false, u, e2 - s2, k, hPrev, u, dz.AsSpan(s2), n, er.AsSpan(s2), n, true);
        MatMulKernels.Gemm(true, false, u, e3 - s3, k, rh, u, dz.AsSpan(s3), n, er.AsSpan(s3), n, true);
        RecurrentKernels.AddColumnSums<T>(dz, k, n, n, eSums);
        ReferenceMatMul.GemmInEngineOrder(true, false, features, e1 - s1, k, x, features, dz.AsSpan(s1), n, rw.AsSpan(s1), n, true);
        ReferenceMatMul.GemmInEngineOrder(true, false, u, e2 - s2, k, hPrev, u, dz.AsSpan(s2), n, rr.AsSpan(s2), n, true);
        ReferenceMatMul.GemmInEngineOrder(true, false, u, e3 - s3, k, rh, u, dz.AsSpan(s3), n, rr.AsSpan(s3), n, true);
        ReferenceRecurrent.AddColumnSums<T>(dz, k, n, n, rSums);

        void Run() => WeightGradientGemm.Run<T>(k, n, dz, n,
            new WeightProduct<T>(features, x, features, gw.AsSpan(s1), n, s1, e1),
            new WeightProduct<T>(u, hPrev, u, gr.AsSpan(s2), n, s2, e2),
            new WeightProduct<T>(u, rh, u, gr.AsSpan(s3), n, s3, e3), sums);
        if (team > 1) ParallelGemmTests.InTeam(team, 1, Run);
        else Run();

        string context = $"{typeof(T).Name} k={k} u={u} features={features} ranges {string.Join(" ", ranges)} team {team}";
        Assert.That(gw, Is.EqualTo(ew), $"{context}: kernel gradient against MatMulKernels.Gemm");
        Assert.That(gr, Is.EqualTo(er), $"{context}: recurrent gradient against MatMulKernels.Gemm");
        Assert.That(sums, Is.EqualTo(eSums), $"{context}: column sums against AddColumnSums");
        if (features >= 2) Assert.That(gw, Is.EqualTo(rw), $"{context}: kernel gradient against the scalar twin");
        Assert.That(gr, Is.EqualTo(rr), $"{context}: recurrent gradient against the scalar twin");
        Assert.That(sums, Is.EqualTo(rSums), $"{context}: column sums against the scalar twin");
    }

    [Test]
    public void ProductsOverColumnRanges_AreBitIdenticalToSeparateCallsOnTheirColumns(
        [Values(3, 300, 515)] int k, [Values(8, 20, 64, 128)] int u)
    {
        var gru = new[] { (0, 3 * u), (0, 2 * u), (2 * u, 3 * u) };
        Check(gru, 1);
        Check(gru, 40);
        Check(new[] { (u, 3 * u), (8, 2 * u), (2 * u + 8, 3 * u) }, u);
        void Check((int, int)[] ranges, int features)
        {
            CheckRanges<float>(k, u, features, ranges, 1);
            CheckRanges<double>(k, u, features, ranges, 1);
        }
    }

    [Test]
    public void ProductsOverColumnRanges_InATeamOfTwo_GiveTheSameBits()
    {
        CheckRanges<float>(1600, 256, 256, new[] { (0, 768), (0, 512), (512, 768) }, 2);
        CheckRanges<double>(800, 64, 32, new[] { (0, 192), (0, 128), (128, 192) }, 2);
    }

    [Test]
    public void AColumnRangeOutsideDz_IsRefusedNamingTheProduct_AndLeavesTheOutputsUnchanged()
    {
        float[] dz = new float[10 * 48], a = new float[10 * 32], c = new float[32 * 48], sums = new float[48];
        Array.Fill(c, 1f);
        var ex = Assert.Throws<ArgumentException>(() => WeightGradientGemm.Run<float>(10, 48, dz, 48,
            new WeightProduct<float>(32, a, 32, c, 48, 0, 48), new WeightProduct<float>(32, a, 32, c, 48, 32, 64), default, sums));
        Assert.That(ex!.ParamName, Is.EqualTo("p2"));
        Assert.That(ex.Message, Does.Contain("[32, 64)").And.Contain("48 columns"));
        ex = Assert.Throws<ArgumentException>(() => WeightGradientGemm.Run<float>(10, 48, dz, 48,
            default, default, new WeightProduct<float>(32, a, 32, c.AsSpan(0, 40), 48, 0, 16), sums));
        Assert.That(ex!.ParamName, Is.EqualTo("p3"));
        Assert.That(c, Is.All.EqualTo(1f));
        Assert.That(sums, Is.All.EqualTo(0f));
    }

    [Test]
    public void BadArguments_AreRefusedNamingTheArgument_AndLeaveTheOutputsUnchanged()
    {
        float[] dz = new float[10 * 16], a = new float[10 * 32], c = new float[32 * 16], sums = new float[16];
        Array.Fill(c, 1f);
        var ex = Assert.Throws<ArgumentException>(() => WeightGradientGemm.Run<float>(10, 16, dz, 16, 32, a.AsSpan(0, 100), 32, c, 0, default, 0, default, sums));
        Assert.That(ex!.ParamName, Is.EqualTo("a1"));
        ex = Assert.Throws<ArgumentException>(() => WeightGradientGemm.Run<float>(10, 16, dz, 16, 32, a, 32, c, 0, default, 0, default, sums.AsSpan(0, 8)));
        Assert.That(ex!.ParamName, Is.EqualTo("columnSums"));
        ex = Assert.Throws<ArgumentException>(() => WeightGradientGemm.Run<float>(10, 16, dz.AsSpan(0, 50), 16, 32, a, 32, c, 0, default, 0, default, sums));
        Assert.That(ex!.ParamName, Is.EqualTo("dz"));
        Assert.That(c, Is.All.EqualTo(1f));
        Assert.That(sums, Is.All.EqualTo(0f));
    }
}
