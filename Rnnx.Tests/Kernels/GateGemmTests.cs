using System.Numerics;
using Rnnx.Autodiff.Ops;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="GateGemm"/> (all gates' masked products in one pass over shared panels) against its scalar twin
/// <see cref="ReferenceRecurrent.GateProduct{T}"/>, and the recurrent-dropout products built on it
/// (<see cref="SequenceMasks.MaskedGemm{T}"/>, <see cref="SequenceMasks.MaskedGemmInputGrad{T}"/>) against one GEMM per
/// gate on masked copies of the rows, the arithmetic they replace: bit for bit, so the fused recurrent ops with dropout
/// give the same numbers as before. Widths cover whole vectors, a part vector per gate and gates narrower than a vector;
/// .ci/run repeats these with 512-, 256-bit and all SIMD disabled (then the per-gate GEMMs run).
/// </summary>
public class GateGemmTests
{
    private static readonly (int Gates, int Red, int Width)[] Shapes =
        [(4, 20, 20), (4, 1, 20), (3, 20, 20), (4, 5, 5), (2, 13, 4), (4, 37, 33), (3, 64, 64), (4, 8, 16), (4, 20, 3), (2, 300, 8), (3, 7, 12), (4, 3, 17), (4, 6, 1)];

    private static readonly int[] RowCounts = [1, 2, 5, 7, 16, 33];

    private static T[] Rand<T>(int seed, int n, double scale = 2.0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    /// <summary>Inverted-dropout masks: 0 or 1 / (1 − 0.3).</summary>
    private static T[] Masks<T>(int seed, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var m = new T[n];
        for (int i = 0; i < n; i++) m[i] = rng.NextDouble() < 0.3 ? T.Zero : T.One / T.CreateTruncating(0.7);
        return m;
    }

    [Test]
    public void ProductMatchesTheScalarTwin([Values(false, true)] bool useDouble, [Values(false, true)] bool transposed)
    {
        if (useDouble) Product<double>(transposed); else Product<float>(transposed);
    }

    private static void Product<T>(bool transposed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int checkedShapes = 0;
        foreach (var (gates, red, width) in Shapes)
        {
            if (!GateGemm.Supports<T>(red, width)) continue;
            checkedShapes++;
            int ldb = transposed ? gates * red + 3 : gates * width + 3;
            var b = Rand<T>(red * 31 + width, (transposed ? width : red) * ldb);
            var packed = new T[GateGemm.PackedLength<T>(gates, red, width)];
            GateGemm.Pack<T>(gates, red, width, b, ldb, transposed, packed);
            int ldp = GateGemm.PaddedWidth<T>(gates, width), wp = GateGemm.PaddedGateWidth<T>(width);
            foreach (int rows in RowCounts)
                foreach (int used in new[] { gates, gates - 1 })
                {
                    // A's gate blocks strided wider than red, rows wider than the blocks
                    int stride = red + 2, lda = gates * stride + 1;
                    var a = Rand<T>(rows + 7 * red, rows * lda);
                    T[] p = new T[rows * ldp], pR = new T[rows * ldp];
                    GateGemm.Product<T>(gates, used, rows, red, width, a, lda, stride, packed, p, ldp);
                    ReferenceRecurrent.GateProduct<T>(used, rows, red, width, a, lda, stride, b, ldb, transposed, pR, ldp, wp);
                    for (int g = 0; g < used; g++)
                        for (int i = 0; i < rows; i++)
                            Assert.That(p.AsSpan(i * ldp + g * wp, width).ToArray(), Is.EqualTo(pR.AsSpan(i * ldp + g * wp, width).ToArray()),
                                $"{gates} gates {red} x {width}, {rows} rows, {used} used: gate {g} row {i}");

                    // into a gate layout (gate blocks of width side by side): whole vectors stored directly, part
                    // vectors merged; one addition per element when accumulating, the rest of C untouched
                    foreach (bool accumulate in new[] { false, true })
                    {
                        int ldc = gates * width + 5;
                        var c = Rand<T>(rows + width, rows * ldc);
                        var expected = c.ToArray();
                        for (int g = 0; g < used; g++)
                            for (int i = 0; i < rows; i++)
                                for (int j = 0; j < width; j++)
                                {
                                    T v = pR[i * ldp + g * wp + j];
                                    expected[i * ldc + g * width + j] = accumulate ? expected[i * ldc + g * width + j] + v : v;
                                }
                        GateGemm.Multiply<T>(gates, used, rows, red, width, a, lda, stride, packed, c, ldc, accumulate);
                        Assert.That(c, Is.EqualTo(expected), $"{gates} gates {red} x {width}, {rows} rows, {used} used, into C (accumulate {accumulate})");
                    }
                }
        }
        if (PackedGemmCore.Width<T>() > 0) Assert.That(checkedShapes, Is.GreaterThan(5));
    }

    [Test]
    public void MaskedProducts_AreThePerGateGemmsBitForBit([Values(false, true)] bool useDouble, [Values(false, true)] bool accumulate,
        [Values(1, 3, 50)] int rowsPerMask)
    {
        if (useDouble) MaskedProducts<double>(accumulate, rowsPerMask); else MaskedProducts<float>(accumulate, rowsPerMask);
    }

    private static void MaskedProducts<T>(bool accumulate, int rowsPerMask) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // 200 rows: the whole-sequence products run in chunks of whole mask rows (96 rows for rowsPerMask 1 and 3, 50 for
        // 50), the last one shorter)
        foreach (var (gates, k, n) in Shapes)
            foreach (int rows in RowCounts.Append(200))
                foreach (int used in new[] { gates, gates - 1 })
                {
                    string what = $"{gates} gates k={k} n={n}, {rows} rows, {used} used";
                    int lda = k + 3, ldb = gates * n, ldc = gates * n + 2, maskLd = gates * k;
                    var a = Rand<T>(rows + k, rows * lda);
                    var b = Rand<T>(n + 3 * k, k * ldb);
                    var masks = Masks<T>(rows * 3 + n, ((rows - 1) / rowsPerMask + 1) * maskLd);

                    // forward: c[:, g·n ..] (+)= (a ⊙ m_g)·b_g
                    var c0 = Rand<T>(5 + rows, rows * ldc);
                    T[] c = c0.ToArray(), expected = c0.ToArray(), masked = new T[rows * k];
                    var packed = new T[SequenceMasks.PackedGatesLength<T>(gates, k, n, false)];
                    SequenceMasks.PackGates<T>(gates, k, n, b, ldb, false, packed);
                    SequenceMasks.MaskedGemm<T>(gates, rows, n, k, a, lda, masks, rowsPerMask, packed, c, ldc, accumulate,
                        new T[SequenceMasks.GemmScratchLength<T>(gates, rows, n, k)], used);
                    for (int g = 0; g < used; g++)
                    {
                        ReferenceRecurrent.MaskedMultiply<T>(a, lda, rows, k, masks.AsSpan(g * k), maskLd, rowsPerMask, masked, k);
                        MatMulKernels.Gemm<T>(false, false, rows, n, k, masked, k, b.AsSpan(g * n), ldb, expected.AsSpan(g * n), ldc, accumulate);
                    }
                    Assert.That(c, Is.EqualTo(expected), $"forward, {what}");

                    // the masked rows kept (rows wider than the gate blocks), then the weight gradient from them: the
                    // same bits as the one that masks the rows again
                    if (used == gates && SequenceMasks.KeepsMaskedRows<T>(gates, n, k))
                    {
                        int ldKept = gates * k + 3;
                        var kept = new T[rows * ldKept];
                        T[] cKept = c0.ToArray();
                        SequenceMasks.MaskedGemm<T>(gates, rows, n, k, a, lda, masks, rowsPerMask, packed, cKept, ldc, accumulate, kept, keptLd: ldKept);
                        Assert.That(cKept, Is.EqualTo(expected), $"forward keeping the masked rows, {what}");
                        var dcw = Rand<T>(13 + rows, rows * ldc);
                        var db0 = Rand<T>(15 + k, k * ldb);
                        T[] db = db0.ToArray(), dbExpected = db0.ToArray();
                        SequenceMasks.KeptRowsWeightGrad<T>(gates, rows, n, k, kept, ldKept, dcw, ldc, db, ldb);
                        SequenceMasks.MaskedGemmWeightGrad<T>(gates, rows, n, k, a, lda, masks, rowsPerMask, dcw, ldc, dbExpected, ldb, new T[rows * k]);
                        Assert.That(db, Is.EqualTo(dbExpected), $"weight gradient from the kept rows, {what}");
                    }

                    // input gradient: da += Σ_g (dc[:, g·n ..]·b_gᵀ) ⊙ m_g, in gate order
                    int lddc = gates * n + 1, ldda = k + 2;
                    var dc = Rand<T>(9 + rows, rows * lddc);
                    var da0 = Rand<T>(11 + rows, rows * ldda);
                    T[] da = da0.ToArray(), daExpected = da0.ToArray(), product = new T[rows * k];
                    var packedT = new T[SequenceMasks.PackedGatesLength<T>(gates, k, n, true)];
                    SequenceMasks.PackGates<T>(gates, k, n, b, ldb, true, packedT);
                    SequenceMasks.MaskedGemmInputGrad<T>(gates, rows, n, k, dc, lddc, packedT, masks, rowsPerMask, da, ldda,
                        new T[SequenceMasks.InputGradScratchLength<T>(gates, rows, n, k)], used);
                    for (int g = 0; g < used; g++)
                    {
                        MatMulKernels.Gemm<T>(false, true, rows, k, n, dc.AsSpan(g * n), lddc, b.AsSpan(g * n), ldb, product, k, false);
                        ReferenceRecurrent.MaskedAddMultiplied<T>(product, k, rows, k, masks.AsSpan(g * k), maskLd, rowsPerMask, daExpected, ldda);
                    }
                    Assert.That(da, Is.EqualTo(daExpected), $"input gradient, {what}");
                }
    }

    /// <summary>
    /// The weight gradients from the kept rows of both products (h ⊙ m_g beside x ⊙ m_g, as the LSTM op keeps them), run
    /// a k block at a time for all gates, against one whole-reduction GEMM per gate on masked copies: bit for bit, over
    /// reductions shorter than, equal to and crossing the engine's k blocks (a one-column second product too, the
    /// one-feature first layer, whose gradient runs on the matrix-vector kernel).
    /// </summary>
    [Test]
    public void KeptRowsWeightGradients_OfBothProducts_AreTheWholeReductionGemms([Values(false, true)] bool useDouble)
    {
        if (useDouble) KeptRowsBoth<double>(); else KeptRowsBoth<float>();
    }

    private static void KeptRowsBoth<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int gates = 4;
        foreach (var (k, k2, n) in new[] { (20, 1, 20), (20, 20, 20), (7, 3, 12), (5, 0, 9), (0, 6, 8) })
            foreach (int rows in new[] { 1, 100, GemmCore.KBlock, 600, 1600 })
            {
                int rowsPerMask = 50, ldKept = gates * (k + k2) + 3, column2 = gates * k, ldc = gates * n + 1;
                var a = Rand<T>(rows + k, rows * (k + 1));
                var a2 = Rand<T>(rows + k2 + 1, rows * (k2 + 2));
                var masks = Masks<T>(rows + 5, ((rows - 1) / rowsPerMask + 1) * gates * k);
                var masks2 = Masks<T>(rows + 6, ((rows - 1) / rowsPerMask + 1) * gates * k2);
                var kept = new T[rows * ldKept];
                for (int g = 0; g < gates; g++)
                {
                    ReferenceRecurrent.MaskedMultiply<T>(a, k + 1, rows, k, masks.AsSpan(g * k), gates * k, rowsPerMask, kept.AsSpan(g * k), ldKept);
                    if (k2 > 0)
                        ReferenceRecurrent.MaskedMultiply<T>(a2, k2 + 2, rows, k2, masks2.AsSpan(g * k2), gates * k2, rowsPerMask, kept.AsSpan(column2 + g * k2), ldKept);
                }
                var dc = Rand<T>(rows + 9, rows * ldc);
                var db0 = Rand<T>(k + 15, Math.Max(k, 1) * gates * n);
                var db20 = Rand<T>(k2 + 16, Math.Max(k2, 1) * gates * n);
                T[] db = db0.ToArray(), db2 = db20.ToArray(), expected = db0.ToArray(), expected2 = db20.ToArray();
                SequenceMasks.KeptRowsWeightGrad<T>(gates, rows, n, k, kept, ldKept, dc, ldc, k > 0 ? db : default, gates * n, k2, column2, k2 > 0 ? db2 : default);
                if (k > 0)
                    SequenceMasks.MaskedGemmWeightGrad<T>(gates, rows, n, k, a, k + 1, masks, rowsPerMask, dc, ldc, expected, gates * n, new T[rows * k]);
                if (k2 > 0)
                    SequenceMasks.MaskedGemmWeightGrad<T>(gates, rows, n, k2, a2, k2 + 2, masks2, rowsPerMask, dc, ldc, expected2, gates * n, new T[rows * k2]);
                string what = $"k={k} k2={k2} n={n}, {rows} rows";
                Assert.That(db, Is.EqualTo(expected), $"first product, {what}");
                Assert.That(db2, Is.EqualTo(expected2), $"second product, {what}");
            }
    }
}
