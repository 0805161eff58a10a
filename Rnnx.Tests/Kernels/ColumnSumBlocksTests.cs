using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// Column sums a block of rows at a time (<see cref="ColumnSumBlocks"/>) against the one-pass kernel and its scalar
/// twin, bit for bit: blocks of multiples of four rows with a last block of any length, widths covering whole
/// vectors and tails. .ci/run repeats these with 512-, 256-bit and all SIMD disabled.
/// </summary>
public class ColumnSumBlocksTests
{
    [Test]
    public void BlockSums_AreTheOnePassSums([Values(false, true)] bool useDouble)
    {
        if (useDouble) Check<double>(); else Check<float>();
    }

    private static void Check<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(5);
        foreach (int g in new[] { 1, 3, 8, 13, 80 })
            foreach (int rows in new[] { 1, 3, 4, 7, 256, 257, 1600 })
                foreach (int block in new[] { 4, 8, 256 })
                {
                    int ld = g + 3;
                    var z = new T[rows * ld];
                    for (int i = 0; i < z.Length; i++) z[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
                    var start = new T[g];
                    for (int j = 0; j < g; j++) start[j] = T.CreateTruncating(rng.NextDouble());
                    T[] got = start.ToArray(), onePass = start.ToArray(), twin = start.ToArray();
                    var acc = new T[4 * g];
                    for (int r0 = 0; r0 < rows; r0 += block)
                        ColumnSumBlocks.Add<T>(z.AsSpan(r0 * ld), Math.Min(block, rows - r0), g, ld, acc);
                    ColumnSumBlocks.Finish<T>(acc, g, got);
                    RecurrentKernels.AddColumnSums<T>(z, rows, g, ld, onePass);
                    ReferenceRecurrent.AddColumnSums<T>(z, rows, g, ld, twin);
                    string what = $"g={g} rows={rows} blocks of {block}";
                    Assert.That(KernelTestUtil.Bits(got), Is.EqualTo(KernelTestUtil.Bits(onePass)), $"against the one-pass kernel, {what}");
                    Assert.That(KernelTestUtil.Bits(got), Is.EqualTo(KernelTestUtil.Bits(twin)), $"against the scalar twin, {what}");
                }
    }

    /// <summary>The kept-rows weight gradients cut their rows into <see cref="GemmCore.KBlock"/> blocks and sum dZ's columns per block: the one pass's bits need every block but the last to be a multiple of four rows.</summary>
    [Test]
    public void TheWeightGradientsRowBlock_IsAMultipleOfFourRows() => Assert.That(GemmCore.KBlock % 4, Is.Zero);

    [Test]
    public void ShortSpansAreRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => ColumnSumBlocks.Add<float>(new float[10], 3, 4, 4, new float[16]));
        Assert.That(ex!.Message, Does.Contain("ColumnSumBlocks.Add"));
        ex = Assert.Throws<ArgumentException>(() => ColumnSumBlocks.Finish<float>(new float[15], 4, new float[4]));
        Assert.That(ex!.Message, Does.Contain("ColumnSumBlocks.Finish"));
    }
}
