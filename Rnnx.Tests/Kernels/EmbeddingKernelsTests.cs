using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="EmbeddingKernels"/> against its scalar twin, bit for bit (whole-row copies and element-wise adds in the
/// same order), on widths that cover the vector lanes and their tails, with repeated ids; and the packed-step
/// kernels of masked sequences against their definitions.
/// </summary>
public class EmbeddingKernelsTests
{
    [Test]
    public void GatherAndScatterAdd_MatchTheScalarTwin([Values(1, 3, 8, 13, 37)] int width)
    {
        var rng = new System.Random(width);
        const int count = 9;
        int[] ids = [4, 0, 8, 4, 4, 1, 0, 7];
        var table = Enumerable.Range(0, count * width).Select(_ => (float)rng.NextDouble()).ToArray();
        var g = Enumerable.Range(0, ids.Length * width).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] got = new float[ids.Length * width], want = new float[ids.Length * width];
        EmbeddingKernels.Gather<float>(table, width, ids, got);
        ReferenceEmbedding.Gather<float>(table, width, ids, want);
        Assert.That(got, Is.EqualTo(want));
        float[] gotG = (float[])table.Clone(), wantG = (float[])table.Clone();
        EmbeddingKernels.ScatterAdd<float>(g, width, ids, gotG);
        ReferenceEmbedding.ScatterAdd<float>(g, width, ids, wantG);
        Assert.That(gotG, Is.EqualTo(wantG));
        double[] gotD = table.Select(v => (double)v).ToArray(), wantD = (double[])gotD.Clone();
        EmbeddingKernels.ScatterAdd<double>(g.Select(v => (double)v).ToArray(), width, ids, gotD);
        ReferenceEmbedding.ScatterAdd<double>(g.Select(v => (double)v).ToArray(), width, ids, wantD);
        Assert.That(gotD, Is.EqualTo(wantD));
    }

    [Test]
    public void PackedPlan_ListsActiveRowsPerProcessingStep([Values(false, true)] bool goBackwards)
    {
        // (batch 3, steps 4): row 0 active at t 0, 1; row 1 at t 1, 3; row 2 never.
        double[] mask = [1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        int[] rows = new int[12], offsets = new int[5];
        int n = PackedStepKernels.Plan<double>(mask, 3, 4, goBackwards, rows, offsets);
        Assert.That(n, Is.EqualTo(4));
        var perStep = Enumerable.Range(0, 4).Select(k => rows[offsets[k]..offsets[k + 1]]).ToArray();
        var expected = new[] { new[] { 0 }, new[] { 0, 1 }, Array.Empty<int>(), new[] { 1 } };
        Assert.That(perStep, Is.EqualTo(goBackwards ? expected.Reverse().ToArray() : expected));

        // Outputs: inactive rows repeat the previous step (zeros at step 0).
        var h = new double[3 * 4 * 2];
        for (int k = 0; k < 4; k++)
        {
            var active = rows.AsSpan(offsets[k], offsets[k + 1] - offsets[k]);
            var packed = Enumerable.Range(0, active.Length * 2).Select(i => 10.0 * (k + 1) + i).ToArray();
            PackedStepKernels.WriteStepOutputs<double>(packed, active, 3, 4, 2, k, h);
        }
        Assert.That(h[16..24], Is.EqualTo(new double[8]), "a never-active row outputs zeros");
        double[] Row0(int k) => h[(k * 2)..(k * 2 + 2)];
        if (!goBackwards)
        {
            Assert.That(Row0(1), Is.Not.EqualTo(new double[2]));
            Assert.That(Row0(3), Is.EqualTo(Row0(1)), "steps 2 and 3 of row 0 are masked: its step-1 output repeats");
        }
        else
        {
            Assert.That(Row0(0).Concat(Row0(1)), Is.EqualTo(new double[4]), "row 0's first processed steps are masked: zeros");
            Assert.That(Row0(2), Is.Not.EqualTo(new double[2]));
        }
    }

    /// <summary>Gather, Scatter and ClearRows move runs of consecutive rows as blocks: the same as row by row.</summary>
    [Test]
    public void PackedRowMoves_EqualRowByRow([Values(1, 2, 3)] int width, [Values(false, true)] bool strided)
    {
        int ld = strided ? width + 2 : width;
        const int batch = 9;
        var src = Enumerable.Range(0, batch * ld).Select(i => 1.0 + i).ToArray();
        // Runs of several lengths, a lone row, rows out of order and a run that ends the batch.
        int[][] rowSets = [[0, 1, 2, 5, 7, 8], [3], [4, 2, 3, 0], [], [0, 1, 2, 3, 4, 5, 6, 7, 8], [6, 7, 8, 1]];
        foreach (var rows in rowSets)
        {
            var got = new double[rows.Length * width];
            PackedStepKernels.Gather<double>(src, ld, rows, width, got);
            var want = rows.SelectMany(b => src.AsSpan(b * ld, width).ToArray()).ToArray();
            Assert.That(got, Is.EqualTo(want), $"gather [{string.Join(",", rows)}]");

            var packed = Enumerable.Range(0, rows.Length * width).Select(i => -1.0 - i).ToArray();
            var dst = (double[])src.Clone();
            PackedStepKernels.Scatter<double>(packed, rows, width, dst, ld);
            var wantDst = (double[])src.Clone();
            for (int i = 0; i < rows.Length; i++) packed.AsSpan(i * width, width).CopyTo(wantDst.AsSpan(rows[i] * ld, width));
            Assert.That(dst, Is.EqualTo(wantDst), $"scatter [{string.Join(",", rows)}]");

            PackedStepKernels.ClearRows<double>(rows, width, dst, ld);
            foreach (int b in rows) wantDst.AsSpan(b * ld, width).Clear();
            Assert.That(dst, Is.EqualTo(wantDst), $"clear [{string.Join(",", rows)}]");
        }
    }
}
