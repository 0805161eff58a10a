using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="LstmKernels.BackwardStep"/> writing dz over the gate activations it reads (the LSTM sequence op's backward
/// does, to keep no separate dZ of the whole sequence) gives the same dz as writing it elsewhere, on every SIMD path
/// (unit counts cover the 8-lane, 4-lane and scalar parts of a row; .ci/run repeats this with the wide paths off).
/// </summary>
public class LstmBackwardInPlaceTests
{
    [Test]
    public void DzOverTheGates_EqualsDzElsewhere([Values(1, 4, 5, 8, 13, 20)] int u, [Values(false, true)] bool peephole, [Values(false, true)] bool useDouble)
    {
        if (useDouble) Check<double>(u, peephole); else Check<float>(u, peephole);
    }

    private static void Check<T>(int u, bool withPeephole) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int rows = 3;
        int lda = 4 * u + 3, ldh = u + 2;   // strided rows, as in the (batch, time) layout
        var gates = KernelTestUtil.Uniform<T>(1 + u, rows * lda, 0.05, 0.95);
        var tc = KernelTestUtil.Uniform<T>(2 + u, rows * ldh, -0.9, 0.9);
        var cPrev = KernelTestUtil.Uniform<T>(3 + u, rows * ldh, -2, 2);
        var dH = KernelTestUtil.Uniform<T>(4 + u, rows * ldh, -1, 1);
        var dC = KernelTestUtil.Uniform<T>(5 + u, rows * ldh, -1, 1);
        var dhNext = KernelTestUtil.Uniform<T>(6 + u, rows * u, -1, 1);
        var dc0 = KernelTestUtil.Uniform<T>(7 + u, rows * u, -1, 1);
        T[] p = withPeephole ? KernelTestUtil.Uniform<T>(8 + u, 3 * u, -0.5, 0.5) : [];

        var dz = KernelTestUtil.Uniform<T>(9 + u, rows * lda, -1, 1);   // the padding between rows must stay as it was
        var dzPadding = dz.ToArray();
        var dcApart = dc0.ToArray();
        LstmKernels.BackwardStep<T>(rows, u, dH, ldh, dC, dhNext, dcApart, gates, lda, tc, cPrev, ldh, dz, p);

        var inPlace = gates.ToArray();
        var dcInPlace = dc0.ToArray();
        LstmKernels.BackwardStep<T>(rows, u, dH, ldh, dC, dhNext, dcInPlace, inPlace, lda, tc, cPrev, ldh, inPlace, p);

        for (int r = 0; r < rows; r++)
            for (int j = 0; j < lda; j++)
            {
                int i = r * lda + j;
                if (j < 4 * u) Assert.That(inPlace[i], Is.EqualTo(dz[i]), $"dz row {r} column {j}");
                else
                {
                    Assert.That(inPlace[i], Is.EqualTo(gates[i]), "beyond 4U the gate rows are left alone");
                    Assert.That(dz[i], Is.EqualTo(dzPadding[i]));
                }
            }
        Assert.That(dcInPlace, Is.EqualTo(dcApart), "dc_next");
        Assert.That(dz.Take(4 * u), Is.Not.EqualTo(gates.Take(4 * u)), "dz differs from the gates it replaces");
    }
}
