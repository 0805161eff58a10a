using System.Numerics;
using System.Runtime.Intrinsics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The L1-chunked weight-gradient engine gives exactly the bits of the register-blocked engine (and of its scalar twin)
/// on the same plan: chunk boundaries, k blocks, swapped and collapsed reduction loops, row tails and groups.
/// </summary>
[TestFixture]
public unsafe class LongReductionGemmTests
{
    /// <summary>A plan shaped like the convolution weight gradient: rows (tap, channel), reduction (item, row).</summary>
    private sealed record Shape(int Taps, int Cin, int Cout, int Items, int Rows, int Length, int Dilation, bool Accumulate, bool Collapse = false)
    {
        /// <summary>Input rows per item: the output rows plus the receptive field, or just the rows when the loops should collapse.</summary>
        public int XItemRows => Collapse ? Rows : Length + (Taps - 1) * Dilation;

        public int XLength => (Items * XItemRows + (Taps - 1) * Dilation) * Cin;
    }

    private static IEnumerable<Shape> Shapes()
    {
        yield return new(2, 64, 64, 25, 49, 50, 1, true);   // a WaveNet layer's reduction block
        yield return new(2, 16, 32, 3, 42, 50, 8, true);    // channels below one tile group, dilation 8
        yield return new(2, 7, 16, 5, 9, 12, 2, false);     // row tail (14 rows = 6 + 6 + 2), C overwritten
        yield return new(1, 13, 48, 1, 700, 700, 1, true);  // one item: k blocks of 256 steps (inner loop only)
        yield return new(3, 5, 16, 40, 6, 9, 1, true);      // fewer rows than items: the loops swap
        yield return new(2, 9, 32, 4, 300, 300, 1, false, Collapse: true); // the two levels collapse into one (k blocks of 256)
        yield return new(2, 6, 16, 1, 1, 2, 1, true);       // a single step
    }

    private static GemmPlan<T> Plan<T>(Shape s, T* x, T* dy, T* dw) where T : unmanaged => new()
    {
        M = s.Taps * s.Cin, N = s.Cout, RowsPerGroup = s.Cin,
        A = x, ARow = 1, AGroup = (nint)s.Dilation * s.Cin,
        C = dw, CRow = s.Cout, CGroup = (nint)s.Cin * s.Cout,
        B = dy,
        K = new KLoop(s.Items, (nint)s.XItemRows * s.Cin, (nint)(s.Collapse ? s.Rows : s.Length) * s.Cout, s.Rows, s.Cin, s.Cout),
        Accumulate = s.Accumulate,
    };

    private static void Check<T>(Shape s) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(s.GetHashCode() & 0xffff);
        T[] x = Random<T>(rng, s.XLength), dy = Random<T>(rng, s.Items * s.Length * s.Cout);
        T[] dw0 = Random<T>(rng, s.Taps * s.Cin * s.Cout);
        T[] engine = (T[])dw0.Clone(), twin = (T[])dw0.Clone(), chunked = (T[])dw0.Clone();
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pe = engine)
        fixed (T* pt = twin)
        fixed (T* pc = chunked)
        {
            var plan = Plan(s, px, pdy, pc);
            GemmCore.Run(Plan(s, px, pdy, pe));
            ReferenceGemmPlan.Run(Plan(s, px, pdy, pt));
            KLoop k = GemmCore.Normalize(plan.K);
            if (s.Collapse)
                Assert.That((k.Outer, k.Inner), Is.EqualTo((1, s.Items * s.Rows)), $"{s}: one reduction level");
            if (s.Rows < s.Items)
                Assert.That(k.Outer, Is.EqualTo(s.Rows), $"{s}: rows outside");
            if (!Vector128.IsHardwareAccelerated)
            {
                // no vector path: the chunked engine declines and the register-blocked engine still equals the twin
                Assert.That(LongReductionGemm.Supports(plan), Is.False, $"{s}: no vector path");
                Assert.That(engine, Is.EqualTo(twin), $"{typeof(T).Name} {s}: register-blocked engine vs scalar twin");
                return;
            }
            Assert.That(LongReductionGemm.Supports(plan), Is.True, $"{s}: the chunked engine takes the plan");
            LongReductionGemm.Run(plan);
        }
        Assert.That(chunked, Is.EqualTo(engine), $"{typeof(T).Name} {s}: chunked vs register-blocked engine");
        Assert.That(chunked, Is.EqualTo(twin), $"{typeof(T).Name} {s}: chunked vs scalar twin");
    }

    [Test]
    public void SameBitsAsTheRegisterBlockedEngine_Float()
    {
        foreach (var s in Shapes())
            Check<float>(s);
    }

    [Test]
    public void SameBitsAsTheRegisterBlockedEngine_Double()
    {
        foreach (var s in Shapes())
            Check<double>(s);
    }

    [Test]
    public void SplitOverATeam_SameBitsAsAlone()
    {
        float probe = 0;
        bool vectors = LongReductionGemm.Supports(Plan(new Shape(2, 8, 32, 2, 10, 12, 1, true), &probe, &probe, &probe));
        Assert.That(vectors, Is.EqualTo(Vector128.IsHardwareAccelerated), "the chunked engine runs exactly when vectors exist");
        if (!vectors)
            return;
        foreach (var s in new[] { new Shape(2, 64, 64, 25, 49, 50, 1, true), new Shape(2, 20, 96, 7, 300, 310, 4, false) })
        {
            var rng = new System.Random(7);
            float[] x = Random<float>(rng, s.XLength), dy = Random<float>(rng, s.Items * s.Length * s.Cout);
            float[] dw0 = Random<float>(rng, s.Taps * s.Cin * s.Cout);
            float[] alone = (float[])dw0.Clone();
            fixed (float* px = x)
            fixed (float* pdy = dy)
            fixed (float* pa = alone)
                LongReductionGemm.Run(Plan(s, px, pdy, pa));
            foreach (var (size, helpers) in new[] { (2, 1), (3, 2), (16, 0) })
            {
                float[] split = (float[])dw0.Clone();
                ParallelGemmTests.InTeam(size, helpers, () =>
                {
                    fixed (float* px = x)
                    fixed (float* pdy = dy)
                    fixed (float* ps = split)
                        LongReductionGemm.RunParallel(Plan(s, px, pdy, ps));
                });
                Assert.That(split, Is.EqualTo(alone), $"{s}: team {size} with {helpers} helpers");
            }
        }
    }

    [Test]
    public void RefusesPlansOutsideItsLayout()
    {
        float dummy = 0;
        float* p = &dummy;
        var ok = Plan(new Shape(2, 8, 32, 2, 10, 12, 1, true), p, p, p);
        Assert.That(LongReductionGemm.Supports(ok), Is.EqualTo(Vector128.IsHardwareAccelerated));
        Assert.That(LongReductionGemm.Supports(ok with { N = 20 }), Is.False, "20 columns: not whole panels");
        Assert.That(LongReductionGemm.Supports(ok with { N = 10 }), Is.False, "10 columns");
        Assert.That(LongReductionGemm.Supports(ok with { K = new KLoop(0, 0, 0, 5, 1, 1) }), Is.False, "empty reduction");
        int rows = LongReductionGemm.MaxAccumulators / 16;
        Assert.That(LongReductionGemm.Supports(ok with { M = rows, N = 16 }), Is.EqualTo(Vector128.IsHardwareAccelerated), "the largest accumulators taken");
        Assert.That(LongReductionGemm.Supports(ok with { M = rows + 1, N = 16 }), Is.False, "accumulators beyond the measured sizes");
    }

    [TestCase(Conv1DPadding.Causal, 2, 1, 1, 32, 64, 64, 60)]  // WaveNet U=64: reduction blocks of whole items
    [TestCase(Conv1DPadding.Causal, 2, 1, 8, 6, 20, 32, 50)]   // 20 channels: row tail across the taps
    [TestCase(Conv1DPadding.Causal, 2, 1, 4, 2, 16, 16, 4000)] // long series: reduction blocks of row runs
    [TestCase(Conv1DPadding.Valid, 3, 2, 2, 5, 24, 48, 40)]
    [TestCase(Conv1DPadding.Same, 4, 1, 3, 7, 32, 16, 33)]
    [TestCase(Conv1DPadding.Valid, 1, 1, 1, 9, 64, 32, 30)]    // kernel 1: the interior loops collapse
    public void ConvolutionWeightGradient_SameBitsAloneAndInATeam(Conv1DPadding padding, int kernel, int stride, int dilation,
        int batch, int cin, int cout, int length)
    {
        // alone the weight gradient runs on the chunked engine when vectors exist (or the register-blocked one); in a
        // team, on the same engine split into column blocks: the same bits (the engines' equality: the tests above)
        var g = Conv1DGeometry.Create(length, kernel, stride, dilation, padding);
        var rng = new System.Random(kernel * 100 + dilation * 10 + stride);
        var x = Random<float>(rng, batch * length * cin);
        var dy = Random<float>(rng, batch * g.OutputLength * cout);
        var dw0 = Random<float>(rng, kernel * cin * cout);
        float[] alone = (float[])dw0.Clone(), team = (float[])dw0.Clone();
        Conv1DKernels.BackwardWeight<float>(x, dy, alone, batch, cin, cout, g);
        ParallelGemmTests.InTeam(2, 1, () => Conv1DKernels.BackwardWeight<float>(x, dy, team, batch, cin, cout, g));
        Assert.That(alone, Is.EqualTo(team), $"{g} batch={batch} cin={cin} cout={cout}");
        var reference = (float[])dw0.Clone();
        ReferenceConv1D.BackwardWeight<float>(x, dy, reference, batch, cin, cout, g);
        var scale = Abs(dw0);
        ReferenceConv1D.BackwardWeight<float>(Abs(x), Abs(dy), scale, batch, cin, cout, g);
        AssertClose<float>(alone, reference, scale, $"{g}: against the direct loops");
    }
}
