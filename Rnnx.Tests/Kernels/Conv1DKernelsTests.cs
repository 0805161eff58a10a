using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using Rnnx.Tests.TestUtilities;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

[TestFixture]
public class Conv1DKernelsTests
{
    private static readonly int[] Channels = { 1, 3, 20, 17 };

    /// <summary>Checks forward (both accumulate modes), backward-input and backward-weight against the reference.</summary>
    private static void CheckAll<T>(System.Random rng, int batch, int cin, int cout, in Conv1DGeometry g)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        string ctx = $"{typeof(T).Name} {g} batch={batch} cin={cin} cout={cout}";
        int l = g.InputLength, lout = g.OutputLength, kk = g.KernelSize;
        T[] x = Random<T>(rng, batch * l * cin);
        T[] w = Random<T>(rng, kk * cin * cout);
        T[] dy = Random<T>(rng, batch * lout * cout);
        T[] ax = Abs(x), aw = Abs(w), ady = Abs(dy);

        foreach (bool acc in new[] { false, true })
        {
            T[] y0 = Random<T>(rng, batch * lout * cout);
            T[] e = (T[])y0.Clone(), r = (T[])y0.Clone();
            ReferenceConv1D.Forward<T>(x, w, e, batch, cin, cout, g, acc);
            Conv1DKernels.Forward<T>(x, w, r, batch, cin, cout, g, acc);
            T[] s = acc ? Abs(y0) : new T[y0.Length];
            ReferenceConv1D.Forward<T>(ax, aw, s, batch, cin, cout, g, true);
            AssertClose<T>(r, e, s, $"Forward acc={acc} {ctx}");
        }

        {
            T[] dx0 = Random<T>(rng, batch * l * cin);
            T[] e = (T[])dx0.Clone(), r = (T[])dx0.Clone(), s = Abs(dx0);
            ReferenceConv1D.BackwardInput<T>(dy, w, e, batch, cin, cout, g);
            Conv1DKernels.BackwardInput<T>(dy, w, r, batch, cin, cout, g);
            ReferenceConv1D.BackwardInput<T>(ady, aw, s, batch, cin, cout, g);
            AssertClose<T>(r, e, s, $"BackwardInput {ctx}");
            AssertOverwriteMatchesZeroed<T>(dy, w, batch, cin, cout, g, ctx);
        }

        {
            T[] dw0 = Random<T>(rng, kk * cin * cout);
            T[] e = (T[])dw0.Clone(), r = (T[])dw0.Clone(), s = Abs(dw0);
            ReferenceConv1D.BackwardWeight<T>(x, dy, e, batch, cin, cout, g);
            Conv1DKernels.BackwardWeight<T>(x, dy, r, batch, cin, cout, g);
            ReferenceConv1D.BackwardWeight<T>(ax, ady, s, batch, cin, cout, g);
            AssertClose<T>(r, e, s, $"BackwardWeight {ctx}");
        }
    }

    /// <summary>
    /// BackwardInput with overwrite on a dx full of NaN gives bit for bit what accumulating into a zeroed dx gives (-0 and
    /// +0 told apart): every element written, none read.
    /// </summary>
    private static void AssertOverwriteMatchesZeroed<T>(T[] dy, T[] w, int batch, int cin, int cout, in Conv1DGeometry g, string ctx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int length = batch * g.InputLength * cin;
        T[] zeroed = new T[length], overwritten = new T[length];
        Array.Fill(overwritten, T.NaN);
        Conv1DKernels.BackwardInput<T>(dy, w, zeroed, batch, cin, cout, g);
        Conv1DKernels.BackwardInput<T>(dy, w, overwritten, batch, cin, cout, g, overwrite: true);
        int first = FirstBitDifference(overwritten, zeroed);
        Assert.That(first, Is.EqualTo(-1), first < 0 ? "" : $"BackwardInput overwrite {ctx}: element {first}: {overwritten[first]} != {zeroed[first]}");
    }

    private static int FirstBitDifference<T>(T[] a, T[] b) where T : unmanaged
    {
        var ab = System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan());
        var bb = System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan());
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        for (int i = 0; i < a.Length; i++)
            if (!ab.Slice(i * size, size).SequenceEqual(bb.Slice(i * size, size)))
                return i;
        return -1;
    }

    /// <summary>
    /// The overwriting input gradient on channel counts that run the 6-row panel engine (whole 2-vector panels) or leave a
    /// wider last panel to the register-blocked engine, across paddings, dilations and lengths shorter than the receptive
    /// field, alone and in a team.
    /// </summary>
    [Test]
    public void BackwardInput_Overwrite_SameBitsAsAccumulatingIntoZeros([Values] Precision p)
    {
        var rng = new System.Random(31);
        foreach (var (cin, cout) in new[] { (64, 64), (32, 16), (40, 24), (128, 10) })
        foreach (var (k, s, d, padding) in new[] { (2, 1, 4, Conv1DPadding.Causal), (2, 1, 1, Conv1DPadding.Causal), (3, 1, 2, Conv1DPadding.Same), (3, 1, 1, Conv1DPadding.Valid), (2, 2, 1, Conv1DPadding.Causal) })
        foreach (int l in new[] { 1, 5, 37 })
        {
            if (!TryGeometry(l, k, s, d, padding, out var g))
                continue;
            const int batch = 3;
            string ctx = $"{p} {g} cin={cin} cout={cout}";
            if (p == Precision.Float)
            {
                float[] dy = Random<float>(rng, batch * g.OutputLength * cout), w = Random<float>(rng, k * cin * cout);
                AssertOverwriteMatchesZeroed<float>(dy, w, batch, cin, cout, g, ctx);
                float[] alone = new float[batch * l * cin], team = new float[alone.Length];
                Conv1DKernels.BackwardInput<float>(dy, w, alone, batch, cin, cout, g, overwrite: true);
                Array.Fill(team, float.NaN);
                ParallelGemmTests.InTeam(2, 1, () => Conv1DKernels.BackwardInput<float>(dy, w, team, batch, cin, cout, g, overwrite: true));
                Assert.That(FirstBitDifference(team, alone), Is.EqualTo(-1), $"team {ctx}");
            }
            else
            {
                double[] dy = Random<double>(rng, batch * g.OutputLength * cout), w = Random<double>(rng, k * cin * cout);
                AssertOverwriteMatchesZeroed<double>(dy, w, batch, cin, cout, g, ctx);
            }
        }
    }

    private static bool TryGeometry(int l, int k, int s, int d, Conv1DPadding p, out Conv1DGeometry g)
    {
        // 'valid' rejects inputs shorter than the receptive field; everything else must succeed.
        if (p == Conv1DPadding.Valid && l < d * (k - 1) + 1)
        {
            Assert.Throws<ArgumentException>(() => Conv1DGeometry.Create(l, k, s, d, p));
            g = default;
            return false;
        }
        g = Conv1DGeometry.Create(l, k, s, d, p);
        return true;
    }

    /// <summary>
    /// Every stride / dilation / padding, kernel sizes 1..4 and lengths 1..60 (many shorter than the receptive
    /// field); the channel pair cycles through {1,3,20,17}^2 so that all pairs meet every kernel size.
    /// </summary>
    [Test]
    public void Sweep([Values(1, 2, 3)] int stride, [Values(1, 2, 4, 8)] int dilation, [Values] Conv1DPadding padding,
        [Values] Precision p)
    {
        var rng = new System.Random(stride * 100 + dilation * 10 + (int)padding);
        for (int k = 1; k <= 4; k++)
        for (int l = 1; l <= 60; l++)
        {
            // Every kernel size meets every short length (all the input-shorter-than-receptive-field cases);
            // longer inputs only differ in the number of interior rows, so they cycle through the kernel sizes.
            // double re-runs the same code paths as float with other lane counts: a third of the lengths.
            // Both keep the debug-build suite fast.
            if (l > 20 && (l + k) % 4 != 0)
                continue;
            if (p == Precision.Double && l > 12 && l % 3 != 0)
                continue;
            if (!TryGeometry(l, k, stride, dilation, padding, out var g))
                continue;
            int pair = (l + 5 * k + stride + dilation) % 16;
            int cin = Channels[pair / 4], cout = Channels[pair % 4];
            int batch = l % 7 == 0 ? 2 : 1; // batch folding is also covered by ChannelPairs / BenchmarkShapes
            if (p == Precision.Float)
                CheckAll<float>(rng, batch, cin, cout, g);
            else
                CheckAll<double>(rng, batch, cin, cout, g);
        }
    }

    /// <summary>All channel pairs on a few representative geometries.</summary>
    [Test]
    public void ChannelPairs([Values] Conv1DPadding padding, [Values] Precision p)
    {
        var rng = new System.Random(7 + (int)padding);
        foreach (var (l, k, s, d) in new[] { (50, 4, 1, 1), (50, 2, 2, 8), (9, 3, 1, 4), (1, 4, 3, 2), (33, 1, 1, 1) })
        {
            if (!TryGeometry(l, k, s, d, padding, out var g))
                continue;
            foreach (int cin in Channels)
            foreach (int cout in Channels)
            {
                if (p == Precision.Float)
                    CheckAll<float>(rng, 3, cin, cout, g);
                else
                    CheckAll<double>(rng, 3, cin, cout, g);
            }
        }
    }

    /// <summary>The benchmark configuration (L 50, cout 20; batch 8 instead of 32 to keep the suite fast).</summary>
    [Test]
    public void BenchmarkShapes([Values(1, 20)] int cin, [Values(2, 4)] int k, [Values(1, 8)] int d, [Values(1, 2)] int s)
    {
        var rng = new System.Random(cin + k + d + s);
        CheckAll<float>(rng, 8, cin, 20, Conv1DGeometry.Create(50, k, s, d, Conv1DPadding.Causal));
    }

    [Test]
    public void HandComputedCausal()
    {
        // x = [1,2,3,4], k = 2, d = 2, causal (padLeft 2), kernel [a, b] -> [b, 2b, a+3b, 2a+4b].
        const double a = 10, b = 100;
        var g = Conv1DGeometry.Create(4, 2, 1, 2, Conv1DPadding.Causal);
        double[] y = new double[4];
        Conv1DKernels.Forward<double>(new double[] { 1, 2, 3, 4 }, new[] { a, b }, y, 1, 1, 1, g);
        Assert.That(y, Is.EqualTo(new[] { b, 2 * b, a + 3 * b, 2 * a + 4 * b }));

        float[] yf = new float[4];
        Conv1DKernels.Forward<float>(new float[] { 1, 2, 3, 4 }, new[] { (float)a, (float)b }, yf, 1, 1, 1, g);
        Assert.That(yf, Is.EqualTo(new[] { (float)b, 2 * (float)b, (float)(a + 3 * b), (float)(2 * a + 4 * b) }));
    }

    [Test]
    public void DoesNotAllocateAfterWarmup()
    {
        var rng = new System.Random(3);
        var g = Conv1DGeometry.Create(50, 4, 1, 2, Conv1DPadding.Causal);
        float[] x = Random<float>(rng, 32 * 50 * 20), w = Random<float>(rng, 4 * 20 * 20), y = new float[32 * 50 * 20];
        float[] dx = new float[x.Length], dw = new float[w.Length];
        void Step()
        {
            Conv1DKernels.Forward<float>(x, w, y, 32, 20, 20, g);
            Conv1DKernels.BackwardInput<float>(y, w, dx, 32, 20, 20, g);
            Conv1DKernels.BackwardWeight<float>(x, y, dw, 32, 20, 20, g);
        }
        // The first run sizes the thread's packing scratch; nothing after it may allocate.
        Assert.That(SteadyStateAllocation.BytesPerRun(Step, warmUps: 1, measured: 3), Is.All.EqualTo(0));
    }

    /// <summary>
    /// A one-filter convolution (the batch folded into the rows of a matrix-vector product) gives a sample exactly the
    /// same outputs alone as inside a batch: every row goes through the same reduction whatever the row count.
    /// (Found in review: the 8-row dot kernel used to serve only single-group plans, so batch 1 and batch 2 differed in
    /// the last bit.)
    /// </summary>
    [Test, Combinatorial]
    public void OneFilter_SampleAloneEqualsSampleInBatch([Values(1, 2)] int dilation, [Values(3, 8, 20)] int cin, [Values(1, 2, 4)] int kk,
        [Values(1, 2, 9)] int batch)
    {
        var rng = new System.Random(cin * 100 + kk * 10 + dilation);
        const int l = 40;
        var g = Conv1DGeometry.Create(l, kk, 1, dilation, Conv1DPadding.Causal);
        int lout = g.OutputLength;
        float[] xs = Random<float>(rng, (batch + 1) * l * cin), w = Random<float>(rng, kk * cin);
        float[] all = new float[(batch + 1) * lout];
        Conv1DKernels.Forward<float>(xs, w, all, batch + 1, cin, 1, g);
        for (int b = 0; b <= batch; b++)
        {
            float[] alone = new float[lout];
            Conv1DKernels.Forward<float>(xs.AsSpan(b * l * cin, l * cin), w, alone, 1, cin, 1, g);
            Assert.That(alone, Is.EqualTo(all.AsSpan(b * lout, lout).ToArray()), $"sample {b} of {batch + 1}");
        }
    }

    /// <summary>
    /// Channel counts of the scaling grid's models (64, 128) and ragged ones around the packed panels' width (32, 40, 70:
    /// the last panel takes the remainder), against the reference, on every padding and with stride and dilation.
    /// </summary>
    [Test]
    public void WideChannels([Values] Conv1DPadding padding, [Values] Precision p)
    {
        var rng = new System.Random(11 + (int)padding);
        foreach (var (cin, cout) in new[] { (64, 64), (32, 40), (70, 33), (1, 128), (128, 10), (40, 70) })
        foreach (var (l, k, s, d) in new[] { (37, 2, 1, 4), (21, 3, 2, 1) })
        {
            var g = Conv1DGeometry.Create(l, k, s, d, padding);
            if (p == Precision.Float)
                CheckAll<float>(rng, 3, cin, cout, g);
            else
                CheckAll<double>(rng, 3, cin, cout, g);
        }
    }

    /// <summary>
    /// Reductions longer than the weight gradient's cache budget (cut into batch blocks, and a series longer than the
    /// budget cut into row runs), and enough rows that the forward and input-gradient passes run in row blocks.
    /// </summary>
    [Test]
    public void LongSeries([Values(1, 3)] int batch, [Values(600, 1400)] int l, [Values] Precision p)
    {
        var rng = new System.Random(batch * 7 + l);
        var g = Conv1DGeometry.Create(l, 2, 1, 4, Conv1DPadding.Causal);
        if (p == Precision.Float)
            CheckAll<float>(rng, batch, 16, 64, g);
        else
            CheckAll<double>(rng, batch, 16, 64, g);
    }

    /// <summary>
    /// The packed panels and row blocks change only the memory layout: with every row interior ('valid') and a reduction
    /// within one k block, the convolution equals, bit for bit, the engine's plain GEMM of the unfolded input (row j:
    /// the K taps' input rows side by side) by the kernel as a (K*cin x cout) matrix.
    /// </summary>
    [Test]
    public void Forward_EqualsTheGemmOfTheUnfoldedInputBitForBit([Values(1, 3)] int dilation, [Values(32, 64, 70)] int cout,
        [Values] Precision p)
    {
        if (p == Precision.Float)
            ForwardEqualsUnfoldedGemm<float>(dilation, cout);
        else
            ForwardEqualsUnfoldedGemm<double>(dilation, cout);
    }

    private static void ForwardEqualsUnfoldedGemm<T>(int dilation, int cout) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(dilation * 100 + cout);
        // two series of 700 rows: longer than one row block, so also cut into row runs
        const int batch = 2, l = 700, cin = 64, kk = 2;
        var g = Conv1DGeometry.Create(l, kk, 1, dilation, Conv1DPadding.Valid);
        int lout = g.OutputLength;
        T[] x = Random<T>(rng, batch * l * cin), w = Random<T>(rng, kk * cin * cout);
        T[] unfolded = new T[batch * lout * kk * cin];
        for (int b = 0; b < batch; b++)
        for (int j = 0; j < lout; j++)
        for (int i = 0; i < kk; i++)
            x.AsSpan((b * l + j + i * dilation) * cin, cin).CopyTo(unfolded.AsSpan(((b * lout + j) * kk + i) * cin, cin));
        T[] expected = new T[batch * lout * cout], actual = new T[expected.Length];
        MatMulKernels.Gemm<T>(false, false, batch * lout, cout, kk * cin, unfolded, kk * cin, w, cout, expected, cout, false);
        Conv1DKernels.Forward<T>(x, w, actual, batch, cin, cout, g);
        int first = FirstDifference(actual, expected);
        Assert.That(first, Is.EqualTo(-1), first < 0 ? "" : $"element {first}: {actual[first]} != {expected[first]}");
    }

    private static int FirstDifference<T>(T[] a, T[] b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < a.Length; i++)
            if (!a[i].Equals(b[i]))
                return i;
        return -1;
    }

    [Test]
    public void WideChannels_DoNotAllocateAfterWarmup()
    {
        var rng = new System.Random(5);
        var g = Conv1DGeometry.Create(200, 2, 1, 4, Conv1DPadding.Causal);
        const int batch = 8, c = 64;
        float[] x = Random<float>(rng, batch * 200 * c), w = Random<float>(rng, 2 * c * c), y = new float[x.Length];
        float[] dx = new float[x.Length], dw = new float[w.Length];
        void Step()
        {
            Conv1DKernels.Forward<float>(x, w, y, batch, c, c, g);
            Conv1DKernels.BackwardInput<float>(y, w, dx, batch, c, c, g);
            Conv1DKernels.BackwardWeight<float>(x, y, dw, batch, c, c, g);
        }
        Assert.That(SteadyStateAllocation.BytesPerRun(Step, warmUps: 1, measured: 3), Is.All.EqualTo(0));
    }

    /// <summary>Every entry point refuses spans too short for its sizes (in Release too: the loops run on raw pointers), leaving the output untouched.</summary>
    [Test]
    public void ShortSpans_AreRefusedNamingTheSizes([Values("x", "w", "y")] string which, [Values(0, 1, 2)] int entry)
    {
        const int batch = 2, cin = 3, cout = 4;
        var g = Conv1DGeometry.Create(10, 2, 1, 2, Conv1DPadding.Causal);
        var x = new float[batch * 10 * cin - (which == "x" ? 1 : 0)];
        var w = new float[2 * cin * cout - (which == "w" ? 1 : 0)];
        var y = new float[batch * g.OutputLength * cout - (which == "y" ? 1 : 0)];
        Array.Fill(x, 1f); Array.Fill(w, 1f); Array.Fill(y, 7f);
        var before = (float[])(entry == 0 ? y : entry == 1 ? x : w).Clone();
        var e = Assert.Throws<ArgumentException>(() =>
        {
            if (entry == 0) Conv1DKernels.Forward<float>(x, w, y, batch, cin, cout, g);
            else if (entry == 1) Conv1DKernels.BackwardInput<float>(y, w, x, batch, cin, cout, g);
            else Conv1DKernels.BackwardWeight<float>(x, y, w, batch, cin, cout, g);
        });
        Assert.That(e!.Message, Does.Contain("holds").And.Contain("needed"));
        Assert.That(entry == 0 ? y : entry == 1 ? x : w, Is.EqualTo(before), "the output is unchanged");
    }
}
