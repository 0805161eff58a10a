using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// LstmBatchInference.RankOne (x_t·W for one feature) against its twin (ReferenceMatMul.GemmInEngineOrder with k = 1)
/// and against the packed engine's k = 1 product it replaces, bit for bit (signed zeros included), at widths with and
/// without tails. .ci/run repeats it with 512-, 256-bit and all SIMD disabled.
/// </summary>
public class LstmBatchInferenceTests
{
    private static T[] Values<T>(int seed, int count) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var v = new T[count];
        for (int i = 0; i < count; i++)
            v[i] = (i % 7) switch
            {
                0 => T.Zero,
                1 => T.NegativeZero,
                2 => T.CreateTruncating(1e-30),
                _ => T.CreateTruncating((rng.NextDouble() * 2 - 1) * 3),
            };
        return v;
    }

    private static void Check<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (int n in new[] { 4, 16, 20, 68, 80, 100, 268, 512 })
        foreach (int rows in new[] { 1, 5, 13 })
        {
            int ldx = 3, ldz = n + 5;
            var x = Values<T>(n + rows, (rows - 1) * ldx + 1);
            var w = Values<T>(2 * n + 1, n);
            var z = Values<T>(3, rows * ldz);
            var zRef = z.ToArray();
            LstmBatchInference.RankOne<T>(rows, n, x, ldx, w, z, ldz);
            ReferenceMatMul.GemmInEngineOrder<T>(false, false, rows, n, 1, x, ldx, w, n, zRef, ldz, false);
            Assert.That(Bits(z), Is.EqualTo(Bits(zRef)), $"{typeof(T).Name} n={n} rows={rows}: twin");
            if (PackedGemmCore.PanelWidth<T>(n) == 0) continue;
            var packed = new T[PackedGemm.PackedLength<T>(1, n)];
            PackedGemm.Pack<T>(false, 1, n, w, n, packed);
            var zGemm = Values<T>(3, rows * ldz);
            PackedGemm.Gemm<T>(false, rows, n, 1, x, ldx, packed, zGemm, ldz, false);
            Assert.That(Bits(z), Is.EqualTo(Bits(zGemm)), $"{typeof(T).Name} n={n} rows={rows}: packed k = 1 product");
        }
    }

    [Test]
    public void RankOneEqualsTheTwinAndThePackedProduct([Values(false, true)] bool useDouble)
    {
        if (useDouble) Check<double>(); else Check<float>();
    }

    /// <summary>
    /// A step whose h_k rows (written straight into a strided output) or h_{k-1} rows (read from one) would run past
    /// their spans is refused before anything is written.
    /// </summary>
    [Test]
    public void StepRefusesStridedRowsPastTheirSpans()
    {
        const int batch = 3, units = 16, g4 = 4 * units, ld = 2 * units;
        var packedR = new float[PackedGemm.PackedLength<float>(units, g4)];
        var packedW = new float[PackedGemm.PackedLength<float>(1, g4)];
        var scratch = new float[LstmBatchInference.ScratchLength<float>(batch, units)];
        var c = new float[batch * units];
        void Run(int hPrevLength, int hLength) => LstmBatchInference.Step<float>(batch, units, 1, new float[batch], 1, new float[g4], packedW, packedR,
            new float[g4], new float[hPrevLength], ld, new float[batch * units], c, new float[hLength], ld, scratch);
        Assert.DoesNotThrow(() => Run((batch - 1) * ld + units, (batch - 1) * ld + units));
        c.AsSpan().Fill(7f);
        var ex = Assert.Throws<ArgumentException>(() => Run((batch - 1) * ld + units, (batch - 1) * ld + units - 1));
        Assert.That(ex!.Message, Does.Contain("LstmBatchInference.Step"));
        Assert.Throws<ArgumentException>(() => Run(batch * units, (batch - 1) * ld + units));
        Assert.That(c, Is.All.EqualTo(7f), "nothing written");
    }

    [Test]
    public void RankOneRefusesSpansTooShort()
    {
        var ex = Assert.Throws<ArgumentException>(() => LstmBatchInference.RankOne<float>(3, 16, new float[4], 3, new float[16], new float[48], 16));
        Assert.That(ex!.Message, Does.Contain("RankOne"));
    }
}
