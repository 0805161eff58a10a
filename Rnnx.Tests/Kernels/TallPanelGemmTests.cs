using System.Numerics;
using System.Runtime.Intrinsics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The 6-row panel engine gives exactly the bits of the register-blocked engine (and of its scalar twin) on the same plan:
/// one 2-vector panel of a convolution's forward or input-gradient product, with grouped rows, two-level and collapsed
/// reductions, k blocks, row tails of 1..5 rows, overwritten and accumulated C.
/// </summary>
[TestFixture]
public unsafe class TallPanelGemmTests
{
    /// <summary>
    /// A plan shaped like a convolution's panel product: <paramref name="Items"/> groups of <paramref name="Rows"/> rows
    /// (input rows <paramref name="Length"/> apart), reduction over <paramref name="Taps"/> taps <paramref name="Dilation"/>
    /// rows apart x <paramref name="Cin"/> channels, B a packed panel of two vectors.
    /// </summary>
    private sealed record Shape(int Items, int Rows, int Length, int Taps, int Dilation, int Cin, bool Accumulate)
    {
        public int XLength => (Items * Length + Taps * Dilation) * Cin;
    }

    private static IEnumerable<Shape> Shapes()
    {
        yield return new(4, 46, 50, 2, 4, 64, false);   // a WaveNet layer's forward: two taps, dilation 4
        yield return new(3, 47, 50, 2, 1, 64, true);    // dilation 1: the two levels collapse into one
        yield return new(2, 13, 20, 2, 8, 7, true);     // 26 rows: tail of 2 rows; 7 channels
        yield return new(1, 17, 17, 3, 2, 5, false);    // one group, tail of 5 rows, three taps
        yield return new(5, 4, 9, 1, 1, 300, true);     // single level longer than one k block (256)
        yield return new(2, 1, 3, 2, 1, 3, false);      // one row per group
        yield return new(1, 9, 12, 4, 1, 1, true);      // one channel, dilation 1: the taps collapse into one level
        yield return new(2, 9, 14, 3, 2, 1, false);     // one channel, dilation 2: the taps become the inner level
    }

    private static GemmPlan<T> Plan<T>(Shape s, int n, T* x, T* b, T* c) where T : unmanaged => new()
    {
        M = s.Items * s.Rows, N = n, RowsPerGroup = s.Rows,
        A = x, ARow = s.Cin, AGroup = (nint)s.Length * s.Cin,
        C = c, CRow = n, CGroup = (nint)s.Rows * n,
        B = b, K = new KLoop(s.Taps, (nint)s.Dilation * s.Cin, (nint)s.Cin * n, s.Cin, 1, n),
        Accumulate = s.Accumulate,
    };

    private static int PanelWidth<T>() where T : unmanaged =>
        2 * (Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128.IsHardwareAccelerated ? Vector128<T>.Count : 4);

    private static void Check<T>(Shape s) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = PanelWidth<T>();
        var rng = new System.Random(s.GetHashCode() & 0xffff);
        T[] x = Random<T>(rng, s.XLength), b = Random<T>(rng, s.Taps * s.Cin * n), c0 = Random<T>(rng, s.Items * s.Rows * n);
        T[] engine = (T[])c0.Clone(), twin = (T[])c0.Clone(), tall = (T[])c0.Clone();
        fixed (T* px = x)
        fixed (T* pb = b)
        fixed (T* pe = engine)
        fixed (T* pt = twin)
        fixed (T* pc = tall)
        {
            GemmCore.Run(Plan(s, n, px, pb, pe));
            ReferenceGemmPlan.Run(Plan(s, n, px, pb, pt));
            var plan = Plan(s, n, px, pb, pc);
            if (!Vector128.IsHardwareAccelerated)
            {
                // no vector path: the panel engine declines and the register-blocked engine still equals the twin
                Assert.That(TallPanelGemm.Supports(plan), Is.False, $"{s}: no vector path");
                Assert.That(engine, Is.EqualTo(twin), $"{typeof(T).Name} {s}: register-blocked engine vs scalar twin");
                return;
            }
            Assert.That(TallPanelGemm.Supports(plan), Is.True, $"{s}: the panel engine takes the plan");
            TallPanelGemm.Run(plan);
        }
        Assert.That(tall, Is.EqualTo(engine), $"{typeof(T).Name} {s}: panel engine vs register-blocked engine");
        Assert.That(tall, Is.EqualTo(twin), $"{typeof(T).Name} {s}: panel engine vs scalar twin");
        CheckFromZero<T>(s, n, x, b);
    }

    /// <summary>
    /// From zero, C full of NaN: every element written, with the bits of the register-blocked engine adding into a zeroed C
    /// (compared bit for bit, so +0 and -0 are told apart).
    /// </summary>
    private static void CheckFromZero<T>(Shape s, int n, T[] x, T[] b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[] zeroed = new T[s.Items * s.Rows * n], overwritten = new T[zeroed.Length];
        Array.Fill(overwritten, T.NaN);
        fixed (T* px = x)
        fixed (T* pb = b)
        fixed (T* pz = zeroed)
        fixed (T* po = overwritten)
        {
            GemmCore.Run(Plan(s, n, px, pb, pz) with { Accumulate = true });
            TallPanelGemm.Run(Plan(s, n, px, pb, po) with { Accumulate = true }, fromZero: true);
        }
        var za = System.Runtime.InteropServices.MemoryMarshal.AsBytes(zeroed.AsSpan()).ToArray();
        var oa = System.Runtime.InteropServices.MemoryMarshal.AsBytes(overwritten.AsSpan()).ToArray();
        Assert.That(oa, Is.EqualTo(za), $"{typeof(T).Name} {s}: from zero vs adding into zeros");
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
        int n = PanelWidth<float>();
        float probe = 0;
        if (!Vector128.IsHardwareAccelerated)
        {
            // no vector path: the panel engine never runs (its callers take the register-blocked engine)
            Assert.That(TallPanelGemm.Supports(Plan(new Shape(1, 8, 8, 1, 1, 1, false), n, &probe, &probe, &probe)), Is.False);
            return;
        }
        foreach (var s in new[] { new Shape(32, 46, 50, 2, 4, 64, false), new Shape(1, 3000, 3000, 2, 2, 16, true) })
        {
            var rng = new System.Random(11);
            float[] x = Random<float>(rng, s.XLength), b = Random<float>(rng, s.Taps * s.Cin * n), c0 = Random<float>(rng, s.Items * s.Rows * n);
            float[] alone = (float[])c0.Clone();
            fixed (float* px = x)
            fixed (float* pb = b)
            fixed (float* pa = alone)
                TallPanelGemm.Run(Plan(s, n, px, pb, pa));
            foreach (var (size, helpers) in new[] { (2, 1), (3, 2), (16, 0) })
            {
                float[] split = (float[])c0.Clone();
                ParallelGemmTests.InTeam(size, helpers, () =>
                {
                    fixed (float* px = x)
                    fixed (float* pb = b)
                    fixed (float* ps = split)
                        TallPanelGemm.RunParallel(Plan(s, n, px, pb, ps));
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
        int n = PanelWidth<float>();
        var ok = Plan(new Shape(2, 10, 12, 2, 1, 8, true), n, p, p, p);
        Assert.That(TallPanelGemm.Supports(ok), Is.EqualTo(Vector128.IsHardwareAccelerated), "exactly two vectors");
        Assert.That(TallPanelGemm.Supports(ok with { N = n + 1 }), Is.False, "more than one panel");
        Assert.That(TallPanelGemm.Supports(ok with { N = n / 2 }), Is.False, "one vector");
    }
}
