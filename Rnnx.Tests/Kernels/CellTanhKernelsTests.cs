using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// <see cref="CellTanhKernels.Tanh"/> against its scalar twin, and against the tanh(c) that <see cref="LstmKernels.ForwardStep"/>
/// writes (the LSTM backward recomputes tanh(C) with it instead of keeping it), bit for bit on every SIMD path (lengths
/// cover the 8-lane, 4-lane and scalar parts; .ci/run repeats this with the wide paths off).
/// </summary>
public class CellTanhKernelsTests
{
    [Test]
    public void MatchesTheTwin([Values(1, 3, 4, 5, 8, 13, 20, 1001)] int n, [Values(false, true)] bool useDouble)
    {
        if (useDouble) Twin<double>(n); else Twin<float>(n);
    }

    private static void Twin<T>(int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var x = KernelTestUtil.Uniform<T>(n, n, -9, 9);
        x[0] = T.CreateTruncating(0.0001);   // below FastMath's small-argument cut
        T[] y = new T[n], yRef = new T[n];
        CellTanhKernels.Tanh<T>(x, y);
        ReferenceRecurrent.CellTanh<T>(x, yRef);
        Assert.That(y, Is.EqualTo(yRef));
        var inPlace = x.ToArray();
        CellTanhKernels.Tanh<T>(inPlace, inPlace);
        Assert.That(inPlace, Is.EqualTo(yRef), "in place");
    }

    [Test]
    public void ReproducesTheLstmStepsTanhOfC([Values(1, 4, 5, 8, 13, 20)] int u, [Values(false, true)] bool useDouble)
    {
        if (useDouble) Step<double>(u); else Step<float>(u);
    }

    private static void Step<T>(int u) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int rows = 3;
        int lda = 4 * u, ldh = u;
        var a = KernelTestUtil.Uniform<T>(10 + u, rows * lda, -3, 3);
        var bias = KernelTestUtil.Uniform<T>(11 + u, 4 * u, -1, 1);
        var cPrev = KernelTestUtil.Uniform<T>(12 + u, rows * ldh, -4, 4);
        T[] c = new T[rows * ldh], tc = new T[rows * ldh], h = new T[rows * ldh], again = new T[rows * ldh];
        LstmKernels.ForwardStep<T>(rows, u, a, lda, bias, cPrev, ldh, c, tc, h, ldh);
        CellTanhKernels.Tanh<T>(c, again);
        Assert.That(again, Is.EqualTo(tc));
    }

    [Test]
    public void RowsInPlace_EachRowAsTheTwin_GapsUntouched([Values(1, 4, 5, 8, 13, 20)] int n, [Values(false, true)] bool useDouble)
    {
        if (useDouble) Rows<double>(n); else Rows<float>(n);
    }

    private static void Rows<T>(int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int rows = 5;
        int ld = 3 * n + 1;   // one step's cells of 5 series in a (5, 3, n) sequence, plus one element between rows
        var x = KernelTestUtil.Uniform<T>(20 + n, rows * ld, -9, 9);
        var expected = x.ToArray();
        for (int r = 0; r < rows; r++)
            ReferenceRecurrent.CellTanh<T>(x.AsSpan(r * ld + n, n), expected.AsSpan(r * ld + n, n));
        var got = x.ToArray();
        CellTanhKernels.TanhRowsInPlace<T>(got.AsSpan(n), rows, n, ld);
        Assert.That(got, Is.EqualTo(expected));
        Assert.Throws<ArgumentException>(() => CellTanhKernels.TanhRowsInPlace<T>(got.AsSpan(n), rows + 1, n, ld));
    }
}
