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
