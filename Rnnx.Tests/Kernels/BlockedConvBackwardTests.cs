using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The activation's derivative with the bias gradient's column sums in one pass (<see cref="ActivationGradientKernels"/>),
/// and the convolution's backward run block by block behind it (<see cref="Conv1DKernels.Backward{T, TPrologue}"/>): the
/// same bits as the separate passes they replace (derivative, <see cref="ReductionKernels.SumRows{T}"/>, the input and
/// weight gradient kernels on the whole output gradient), and as the scalar twin.
/// </summary>
[TestFixture]
public class BlockedConvBackwardTests
{
    public enum Act { Relu, Tanh, Sigmoid }

    private static void RowsWithSums<T>(Act act, Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int firstRow, int rows, int cols, Span<T> even, Span<T> odd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (act)
        {
            case Act.Relu: ActivationGradientKernels.RowsWithColumnSums<T, Elementwise.ReluGrad<T>>(dz, g, y, firstRow, rows, cols, even, odd); break;
            case Act.Tanh: ActivationGradientKernels.RowsWithColumnSums<T, Elementwise.TanhGrad<T>>(dz, g, y, firstRow, rows, cols, even, odd); break;
            default: ActivationGradientKernels.RowsWithColumnSums<T, Elementwise.SigmoidGrad<T>>(dz, g, y, firstRow, rows, cols, even, odd); break;
        }
    }

    private static void SeparatePasses<T>(Act act, Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int rows, int cols, Span<T> bias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (act)
        {
            case Act.Relu: Elementwise.ReluBackward(dz, g, y); break;
            case Act.Tanh: Elementwise.TanhBackward(dz, g, y); break;
            default: Elementwise.SigmoidBackward(dz, g, y); break;
        }
        ReductionKernels.SumRows<T>(dz, bias, rows, cols, accumulate: true);
    }

    /// <summary>Runs the kernel over the rows in blocks of the given sizes (cycled), dz written over y.</summary>
    private static (T[] Dz, T[] Bias) Blocked<T>(Act act, T[] g, T[] y, T[] bias0, int rows, int cols, int[] blockSizes)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[] dz = (T[])y.Clone(), bias = (T[])bias0.Clone();
        var even = new T[cols];
        var odd = new T[cols];
        for (int r0 = 0, k = 0; r0 < rows; k++)
        {
            int n = Math.Min(blockSizes[k % blockSizes.Length], rows - r0);
            RowsWithSums<T>(act, dz.AsSpan(r0 * cols, n * cols), g.AsSpan(r0 * cols, n * cols), dz.AsSpan(r0 * cols, n * cols), r0, n, cols, even, odd);
            r0 += n;
        }
        ActivationGradientKernels.AddColumnSums<T>(even, odd, bias);
        return (dz, bias);
    }

    private static void CheckRowsWithSums<T>(Act act, int rows, int cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(rows * 131 + cols);
        T[] g = Random<T>(rng, rows * cols), y = Random<T>(rng, rows * cols), bias0 = Random<T>(rng, cols);
        if (act != Act.Relu)
            for (int i = 0; i < y.Length; i++) y[i] = T.Abs(y[i]);   // outputs of tanh / sigmoid range
        for (int i = 0; i < y.Length; i += 7) y[i] = T.Zero;          // relu's boundary
        T[] dz = new T[y.Length], bias = (T[])bias0.Clone();
        SeparatePasses<T>(act, dz, g, y, rows, cols, bias);
        T[] rdz = new T[y.Length], rbias = (T[])bias0.Clone();
        ReferenceActivationGradient.WithBiasGradient<T>(rdz, g, y, rows, cols, rbias, (ReferenceActivationGradient.Derivative)act);
        string ctx = $"{typeof(T).Name} {act} {rows} x {cols}";
        Assert.That(Bits(rdz), Is.EqualTo(Bits(dz)), $"{ctx}: the twin's dz against the separate passes");
        Assert.That(Bits(rbias), Is.EqualTo(Bits(bias)), $"{ctx}: the twin's bias against SumRows");
        foreach (int[] blocks in new[] { new[] { rows }, new[] { 1 }, new[] { 3, 2 }, new[] { 5 } })
        {
            var (bdz, bbias) = Blocked<T>(act, g, y, bias0, rows, cols, blocks);
            Assert.That(Bits(bdz), Is.EqualTo(Bits(dz)), $"{ctx} blocks {string.Join("+", blocks)}: dz");
            Assert.That(Bits(bbias), Is.EqualTo(Bits(bias)), $"{ctx} blocks {string.Join("+", blocks)}: bias gradient");
        }
    }

    [Test]
    public void ActivationGradientWithColumnSums_SameBitsAsSeparatePassesAndTheTwin([Values] Act act,
        [Values(0, 1, 2, 7, 34)] int rows, [Values(1, 3, 8, 20, 64, 67)] int cols, [Values] Precision p)
    {
        if (p == Precision.Float) CheckRowsWithSums<float>(act, rows, cols);
        else CheckRowsWithSums<double>(act, rows, cols);
    }

    [Test]
    public void ActivationGradientWithColumnSums_RefusesShortSpans()
    {
        var a = new float[10];
        var ex = Assert.Throws<ArgumentException>(() =>
            ActivationGradientKernels.RowsWithColumnSums<float, Elementwise.ReluGrad<float>>(a, a, new float[9], 0, 2, 5, new float[5], new float[5]));
        Assert.That(ex!.Message, Does.Contain("2 x 5").And.Contain("y 9"));
        Assert.Throws<ArgumentException>(() => ActivationGradientKernels.AddColumnSums<float>(new float[4], new float[5], new float[5]));
    }

    /// <summary>A relu derivative on dy's rows when asked, recording the rows asked for.</summary>
    private struct ReluRows<T>(T[] dy, T[] g, T[] y, int cols, List<(int, int)> asked) : IRowsPrologue
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public readonly void Prepare(int firstRow, int count)
        {
            asked.Add((firstRow, count));
            Elementwise.ReluBackward<T>(dy.AsSpan(firstRow * cols, count * cols), g.AsSpan(firstRow * cols, count * cols), y.AsSpan(firstRow * cols, count * cols));
        }
    }

    private static void CheckBlockedBackward<T>(int batch, int length, int cin, int cout, int kernel, int stride, int dilation,
        Conv1DPadding padding, bool overwrite) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var geo = Conv1DGeometry.Create(length, kernel, stride, dilation, padding);
        var rng = new System.Random(length + cin * 7 + cout * 13 + dilation);
        int lout = geo.OutputLength;
        T[] x = Random<T>(rng, batch * length * cin), w = Random<T>(rng, kernel * cin * cout);
        T[] g = Random<T>(rng, batch * lout * cout), y = Random<T>(rng, batch * lout * cout);
        T[] dx0 = Random<T>(rng, batch * length * cin), dw0 = Random<T>(rng, kernel * cin * cout);
        if (overwrite) Array.Fill(dx0, T.NaN);

        // the passes one after another on the whole output gradient
        T[] dz = new T[g.Length];
        Elementwise.ReluBackward<T>(dz, g, y);
        T[] dx = (T[])dx0.Clone(), dw = (T[])dw0.Clone();
        Conv1DKernels.BackwardInput<T>(dz, w, dx, batch, cin, cout, geo, overwrite);
        Conv1DKernels.BackwardWeight<T>(x, dz, dw, batch, cin, cout, geo);

        T[] bdy = new T[g.Length], bdx = (T[])dx0.Clone(), bdw = (T[])dw0.Clone();
        var asked = new List<(int, int)>();
        var prologue = new ReluRows<T>(bdy, g, y, cout, asked);
        Conv1DKernels.Backward<T, ReluRows<T>>(x, bdy, w, bdx, true, overwrite, bdw, true, batch, cin, cout, geo, ref prologue);
        string ctx = $"{typeof(T).Name} batch {batch} length {length} cin {cin} cout {cout} k {kernel} s {stride} d {dilation} {padding} overwrite {overwrite}";
        Assert.That(Bits(bdy), Is.EqualTo(Bits(dz)), $"{ctx}: dy");
        Assert.That(Bits(bdx), Is.EqualTo(Bits(dx)), $"{ctx}: dx");
        Assert.That(Bits(bdw), Is.EqualTo(Bits(dw)), $"{ctx}: dw");
        int next = 0;
        foreach (var (first, count) in asked)
        {
            Assert.That(first, Is.EqualTo(next), $"{ctx}: rows asked in order, each once");
            next += count;
        }
        Assert.That(next, Is.EqualTo(batch * lout), $"{ctx}: every row asked for");
        if (batch > 1 && (long)batch * length * (cin + cout) * 4 > 2_000_000)
            Assert.That(asked, Has.Count.GreaterThan(1), $"{ctx}: past L2 the rows come in several blocks");

        // only one gradient wanted
        T[] odx = (T[])dx0.Clone(), ody = new T[g.Length];
        var prologue2 = new ReluRows<T>(ody, g, y, cout, []);
        Conv1DKernels.Backward<T, ReluRows<T>>(x, ody, w, odx, true, overwrite, default, false, batch, cin, cout, geo, ref prologue2);
        Assert.That(Bits(odx), Is.EqualTo(Bits(dx)), $"{ctx}: dx alone");
        T[] odw = (T[])dw0.Clone(), wdy = new T[g.Length];
        var prologue3 = new ReluRows<T>(wdy, g, y, cout, []);
        Conv1DKernels.Backward<T, ReluRows<T>>(x, wdy, w, default, false, false, odw, true, batch, cin, cout, geo, ref prologue3);
        Assert.That(Bits(odw), Is.EqualTo(Bits(dw)), $"{ctx}: dw alone");
    }

    /// <summary>
    /// WaveNet's layers past L2 (one batch item per block, 64 and 128 channels: the 6-row panel engine and the
    /// L1-chunked weight gradient; at 128 channels a row run within an item), a shape that fits in one block, narrow
    /// channels (the engines that accumulate into C), strides and paddings with boundary rows.
    /// </summary>
    [Test]
    public void BlockedBackward_SameBitsAsTheSeparateKernels([Values] Precision p, [Values(false, true)] bool overwrite,
        [Values(0, 1, 2, 3, 4)] int shape)
    {
        (int batch, int length, int cin, int cout, int kernel, int stride, int dilation, Conv1DPadding padding) = shape switch
        {
            0 => (3, 1000, 64, 64, 2, 1, 4, Conv1DPadding.Causal),
            1 => (2, 900, 128, 128, 2, 1, 8, Conv1DPadding.Causal),
            2 => (5, 60, 20, 20, 2, 1, 2, Conv1DPadding.Causal),
            3 => (4, 700, 48, 80, 3, 2, 1, Conv1DPadding.Same),
            _ => (3, 500, 16, 96, 3, 1, 2, Conv1DPadding.Valid),
        };
        if (p == Precision.Float) CheckBlockedBackward<float>(batch, length, cin, cout, kernel, stride, dilation, padding, overwrite);
        else CheckBlockedBackward<double>(batch, length, cin, cout, kernel, stride, dilation, padding, overwrite);
    }

    [Test]
    public void BlockedBackward_EmptyBatch_AsksForNoRows()
    {
        var geo = Conv1DGeometry.Create(10, 2, 1, 1, Conv1DPadding.Causal);
        var asked = new List<(int, int)>();
        var prologue = new ReluRows<float>([], [], [], 4, asked);
        Conv1DKernels.Backward<float, ReluRows<float>>([], [], new float[2 * 3 * 4], [], true, true, new float[24], true, 0, 3, 4, geo, ref prologue);
        Assert.That(asked.Sum(a => a.Item2), Is.EqualTo(0));
    }
}
