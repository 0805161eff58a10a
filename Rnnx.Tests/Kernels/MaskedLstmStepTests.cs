using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="LstmKernels.ForwardStepMaskedRows{T}"/> (the LSTM step that also writes the next step's recurrent-dropout
/// rows h ⊙ m_g) against its scalar twin, bit for bit, and against the plain step followed by the masked copy it
/// replaces (<see cref="MaskedRowKernels.MultiplyGates{T}"/>). Unit counts cover the 8-lane, paired 4-lane, 4-lane and
/// scalar parts of a row; .ci/run repeats these with 512-, 256-bit and all SIMD disabled.
/// </summary>
public class MaskedLstmStepTests
{
    private static readonly int[] Units = [1, 3, 4, 5, 8, 13, 20];
    private static readonly int[] RowCounts = [1, 2, 3, 4, 32];

    private static T[] Rand<T>(int seed, int n, double scale = 2.0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    /// <summary>Dropout masks: 0 or 1 / (1 − 0.2) at random, a fifth dropped.</summary>
    private static T[] Masks<T>(int seed, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var m = new T[n];
        for (int i = 0; i < n; i++) m[i] = rng.NextDouble() < 0.2 ? T.Zero : T.CreateTruncating(1 / 0.8);
        return m;
    }

    private static void Same<T>(T[] got, T[] expected, string what) where T : unmanaged
        => Assert.That(KernelTestUtil.Bits(got), Is.EqualTo(KernelTestUtil.Bits(expected)), what);

    [Test]
    public void StepWithMaskedRowsMatchesTheReferenceAndThePlainStepThenTheCopy([Values(false, true)] bool useDouble, [Values(false, true)] bool withPeephole)
    {
        if (useDouble) Check<double>(withPeephole); else Check<float>(withPeephole);
    }

    private static void Check<T>(bool withPeephole) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            // the op's layout: gate rows and h rows strided by the time axis, the masked rows kept wider than 4U
            int g4 = 4 * u, lda = 2 * g4 + 1, ldh = 3 * u + 2, ldPrev = u + 1, ldm = g4, ldhm = 2 * g4 + 3;
            var a0 = Rand<T>(20 + u, rows * lda, 4);
            var bias = Rand<T>(21 + u, g4);
            var cPrev = Rand<T>(22 + u, rows * ldPrev);
            var masks = Masks<T>(23 + u, rows * ldm);
            var peephole = withPeephole ? Rand<T>(24 + u, 3 * u) : [];
            string at = $"u={u} rows={rows}";

            T[] a = a0.ToArray(), c = new T[rows * ldh], tc = new T[rows * ldh], h = new T[rows * ldh], hm = new T[rows * ldhm];
            LstmKernels.ForwardStepMaskedRows<T>(rows, u, a, lda, bias, cPrev, ldPrev, c, tc, h, ldh, masks, ldm, hm, ldhm, peephole);
            T[] aR = a0.ToArray(), cR = new T[rows * ldh], tcR = new T[rows * ldh], hR = new T[rows * ldh], hmR = new T[rows * ldhm];
            ReferenceRecurrent.LstmForwardStepMaskedRows<T>(rows, u, aR, lda, bias, cPrev, ldPrev, cR, tcR, hR, ldh, masks, ldm, hmR, ldhm, peephole);
            Same(a, aR, $"gates {at}");
            Same(c, cR, $"c {at}");
            Same(tc, tcR, $"tanh c {at}");
            Same(h, hR, $"h {at}");
            Same(hm, hmR, $"masked rows {at}");

            // what the op did before: the plain step, then the masked copy of the h it stored
            T[] aP = a0.ToArray(), cP = new T[rows * ldh], hP = new T[rows * ldh], hmP = new T[rows * ldhm];
            LstmKernels.ForwardStep<T>(rows, u, aP, lda, bias, cPrev, ldPrev, cP, default, hP, ldh, peephole);
            MaskedRowKernels.MultiplyGates<T>(hP, ldh, rows, u, 4, masks, ldm, 1, hmP, ldhm, u);
            T[] aN = a0.ToArray(), cN = new T[rows * ldh], hN = new T[rows * ldh], hmN = new T[rows * ldhm];
            LstmKernels.ForwardStepMaskedRows<T>(rows, u, aN, lda, bias, cPrev, ldPrev, cN, default, hN, ldh, masks, ldm, hmN, ldhm, peephole);
            Same(aN, aP, $"gates without tc, against the plain step {at}");
            Same(hN, hP, $"h without tc, against the plain step {at}");
            Same(hmN, hmP, $"masked rows against the plain step's copy {at}");
            Assert.That(hm.Count(v => v.Equals(T.Zero)), Is.GreaterThan(0), $"some masked rows dropped {at}");
        }
    }

    [Test]
    public void ShortMaskedRowsAreRefused()
    {
        int rows = 3, u = 5, g4 = 4 * u;
        var ex = Assert.Throws<ArgumentException>(() => LstmKernels.ForwardStepMaskedRows<float>(rows, u, new float[rows * g4], g4, new float[g4],
            new float[rows * u], u, new float[rows * u], default, new float[rows * u], u, new float[rows * g4], g4, new float[(rows - 1) * g4 + g4 - 1], g4));
        Assert.That(ex!.Message, Does.Contain("ForwardStepMaskedRows"));
    }
}
