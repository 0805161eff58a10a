using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// The fused recurrent step kernels against their scalar twins in <see cref="ReferenceRecurrent"/>, bit for bit (the
/// kernels and twins perform the same IEEE operations per element; the float activations are one generic body at every
/// width). Unit counts cover the 8-lane, 4-lane and scalar parts of a row; rows are strided by leading dimensions
/// larger than a row, as in the (batch, time) layout. .ci/run repeats these with 512-, 256-bit and all SIMD disabled.
/// </summary>
public class RecurrentKernelsTests
{
    private static readonly int[] Units = [1, 3, 4, 5, 8, 13, 20, 29, 48];

    /// <summary>Odd and even row counts: the 4-unit chunk of two rows is evaluated in one 8-lane vector, an odd last row alone.</summary>
    private static readonly int[] RowCounts = [1, 2, 3, 4];

    private static T[] Rand<T>(int seed, int n, double scale = 2.0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    /// <summary>Values in (0, 1): saved gate activations.</summary>

    private static void Same<T>(T[] got, T[] expected, string what) where T : unmanaged
        => Assert.That(got, Is.EqualTo(expected), what);


    [Test]
    public void SimpleRnnStepsMatchTheReference([Values(CellActivation.Linear, CellActivation.Tanh, CellActivation.Relu, CellActivation.Sigmoid)] CellActivation act,
        [Values(false, true)] bool useDouble)
    {
        if (useDouble) SimpleRnn<double>(act); else SimpleRnn<float>(act);
    }

    private static void SimpleRnn<T>(CellActivation act) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            int ld = 2 * u + 3;
            var z = Rand<T>(1 + u, rows * ld, 4);
            T[] h = new T[rows * ld], hRef = new T[rows * ld];
            SimpleRnnKernels.ForwardStep<T>(act, rows, u, z.ToArray(), ld, h, ld);
            ReferenceRecurrent.SimpleRnnForwardStep<T>(act, rows, u, z.ToArray(), ld, hRef, ld);
            Same(h, hRef, $"forward {act} u={u} rows={rows}");

            var dH = Rand<T>(2 + u, rows * ld);
            var dn = Rand<T>(3 + u, rows * u);
            T[] dz = new T[rows * ld], dzRef = new T[rows * ld];
            SimpleRnnKernels.BackwardStep<T>(act, rows, u, dH, ld, dn, hRef, ld, dz, ld);
            ReferenceRecurrent.SimpleRnnBackwardStep<T>(act, rows, u, dH, ld, dn, hRef, ld, dzRef, ld);
            Same(dz, dzRef, $"backward {act} u={u} rows={rows}");
        }
    }

    [Test]
    public void LstmStepsMatchTheReference([Values(false, true)] bool useDouble, [Values(false, true)] bool withCellGradient, [Values(false, true)] bool withPeephole)
    {
        if (useDouble) Lstm<double>(withCellGradient, withPeephole); else Lstm<float>(withCellGradient, withPeephole);
    }

    private static void Lstm<T>(bool withCellGradient, bool withPeephole) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            int g4 = 4 * u, lda = 2 * g4 + 1, ldh = 3 * u + 2, ldPrev = u + 1;
            var a0 = Rand<T>(10 + u, rows * lda, 4);
            var bias = Rand<T>(11 + u, g4);
            var cPrev = Rand<T>(12 + u, rows * ldPrev);
            var peephole = withPeephole ? Rand<T>(17 + u, 3 * u) : [];
            T[] a = a0.ToArray(), aRef = a0.ToArray();
            T[] c = new T[rows * ldh], tc = new T[rows * ldh], h = new T[rows * ldh];
            T[] cR = new T[rows * ldh], tcR = new T[rows * ldh], hR = new T[rows * ldh];
            LstmKernels.ForwardStep<T>(rows, u, a, lda, bias, cPrev, ldPrev, c, tc, h, ldh, peephole);
            ReferenceRecurrent.LstmForwardStep<T>(rows, u, aRef, lda, bias, cPrev, ldPrev, cR, tcR, hR, ldh, peephole);
            Same(a, aRef, $"gates u={u} rows={rows}");
            Same(c, cR, $"c u={u} rows={rows}");
            Same(tc, tcR, $"tanh c u={u} rows={rows}");
            Same(h, hR, $"h u={u} rows={rows}");
            T[] aNoTc = a0.ToArray(), cNoTc = new T[rows * ldh], hNoTc = new T[rows * ldh];
            LstmKernels.ForwardStep<T>(rows, u, aNoTc, lda, bias, cPrev, ldPrev, cNoTc, default, hNoTc, ldh, peephole);
            Same(aNoTc, aRef, $"gates without tc u={u} rows={rows}");
            Same(cNoTc, cR, $"c without tc u={u} rows={rows}");
            Same(hNoTc, hR, $"h without tc u={u} rows={rows}");
            if (withPeephole)
            {
                var aPlain = a0.ToArray();
                LstmKernels.ForwardStep<T>(rows, u, aPlain, lda, bias, cPrev, ldPrev, new T[rows * ldh], new T[rows * ldh], new T[rows * ldh], ldh);
                Assert.That(aPlain, Is.Not.EqualTo(a), "the peephole weights change the gates");
            }

            var dH = Rand<T>(13 + u, rows * ldh);
            var dC = withCellGradient ? Rand<T>(14 + u, rows * ldh) : [];
            var dhNext = Rand<T>(15 + u, rows * u);
            var dc0 = Rand<T>(16 + u, rows * u);
            T[] dcNext = dc0.ToArray(), dcNextR = dc0.ToArray();
            T[] dz = new T[rows * lda], dzR = new T[rows * lda];
            LstmKernels.BackwardStep<T>(rows, u, dH, ldh, dC, dhNext, dcNext, aRef, lda, tcR, cPrev, ldPrev, dz, peephole);
            ReferenceRecurrent.LstmBackwardStep<T>(rows, u, dH, ldh, dC, dhNext, dcNextR, aRef, lda, tcR, cPrev, ldPrev, dzR, peephole);
            Same(dz, dzR, $"dz u={u} rows={rows}");
            Same(dcNext, dcNextR, $"dcNext u={u} rows={rows}");
            // tanh(c) taken inside the step from the cells themselves: the same bits as the forward's tc
            T[] dcNextC = dc0.ToArray(), dzC = new T[rows * lda];
            LstmKernels.BackwardStep<T>(rows, u, dH, ldh, dC, dhNext, dcNextC, aRef, lda, cR, cPrev, ldPrev, dzC, peephole, tanhOfTc: true);
            Same(dzC, dzR, $"dz from c u={u} rows={rows}");
            Same(dcNextC, dcNextR, $"dcNext from c u={u} rows={rows}");
            if (!withPeephole) continue;

            var gp0 = Rand<T>(18 + u, 3 * u);
            T[] gp = gp0.ToArray(), gpR = gp0.ToArray();
            LstmKernels.AccumulatePeepholeGradient<T>(rows, u, dzR, lda, cPrev, ldPrev, cR, ldh, gp);
            ReferenceRecurrent.LstmPeepholeGradient<T>(rows, u, dzR, lda, cPrev, ldPrev, cR, ldh, gpR);
            Same(gp, gpR, $"peephole gradient u={u} rows={rows}");
        }
    }

    [Test]
    public void LstmInferenceStepEqualsTheTrainingStep()
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            int g4 = 4 * u, lda = g4 + 5, ldPrev = u + 2, ldh = u + 3;
            var a = Rand<float>(40 + u, rows * lda, 3);
            var bias = Rand<float>(41 + u, g4);
            var cPrev = Rand<float>(42 + u, rows * ldPrev);
            float[] c = new float[rows * ldh], h = new float[rows * ldh];
            float[] cR = new float[rows * ldh], tcR = new float[rows * ldh], hR = new float[rows * ldh];
            LstmKernels.InferenceStep(rows, u, a.ToArray(), lda, bias, cPrev, ldPrev, c, h, ldh);
            LstmKernels.ForwardStep<float>(rows, u, a.ToArray(), lda, bias, cPrev, ldPrev, cR, tcR, hR, ldh);
            Same(c, cR, $"c u={u} rows={rows}");
            Same(h, hR, $"h u={u} rows={rows}");
        }
    }

    [Test]
    public void LstmOneSeriesSplitOverATeamEqualsUnsplit([Values(128, 200, 203, 256)] int u)
    {
        const int steps = 4;
        int g4 = 4 * u;
        var xw = Rand<float>(50 + u, steps * g4, 3);
        var bias = Rand<float>(51 + u, g4);
        var r = Rand<float>(52 + u, u * g4, 0.1);
        var h0 = Rand<float>(53 + u, u);
        var c0 = Rand<float>(54 + u, u);
        float[] a = xw.ToArray(), c = new float[steps * u], h = new float[steps * u];
        LstmKernels.OneSeries(steps, u, a, bias, r, h0, c0, c, h, goBackwards: false, packed: default);
        foreach (var (size, helpers) in new[] { (2, 1), (3, 2), (8, 1) })
        foreach (bool packR in new[] { false, true })
        {
            float[] a2 = xw.ToArray(), c2 = new float[steps * u], h2 = new float[steps * u];
            long splits = TeamBoard.SplitLoops;
            // the packed layout follows the team's split, so its room is sized inside the team; 203 units: parts whose
            // gate blocks end in a partial vector, and gate panels rounded up to a cache line
            float[]? room = null;
            ParallelGemmTests.InTeam(size, helpers, () =>
            {
                room = packR ? PackRoom(steps, u) : null;
                LstmKernels.OneSeries(steps, u, a2, bias, r, h0, c0, c2, h2, goBackwards: false, room is null ? default : room.AsSpan(RoomOffset, room.Length - RoomOffset - RoomGuard));
            });
            if (room is not null) AssertGuardsIntact(room, $"u={u} team {size}");
            Assert.That(TeamBoard.SplitLoops - splits, Is.GreaterThanOrEqualTo(steps + (packR ? 1 : 0)), "every step (and the packing) was split");
            Same(c2, c, $"c u={u} team {size} packed {packR}");
            Same(h2, h, $"h u={u} team {size} packed {packR}");
        }
    }

    private const int RoomOffset = 3, RoomGuard = 23;
    private const float Sentinel = -777f;

    /// <summary>
    /// An array with room for R packed for one series (<see cref="LstmKernels.OneSeriesPackedLength"/>) from element
    /// <see cref="RoomOffset"/> (off any cache line the array itself starts on), sentinels before and after it; null
    /// when the series does not pack.
    /// </summary>
    private static float[]? PackRoom(int steps, int units)
    {
        long length = LstmKernels.OneSeriesPackedLength(steps, units);
        if (length == 0) return null;
        var room = new float[RoomOffset + length + RoomGuard];
        Array.Fill(room, Sentinel);
        return room;
    }

    private static void AssertGuardsIntact(float[] room, string what)
    {
        for (int i = 0; i < RoomOffset; i++) Assert.That(room[i], Is.EqualTo(Sentinel), $"written before the room at {i}, {what}");
        for (int i = room.Length - RoomGuard; i < room.Length; i++) Assert.That(room[i], Is.EqualTo(Sentinel), $"written past the room at {i}, {what}");
    }

    [Test]
    public void LstmOneSeriesPackingIsForKernelsBeyondL1AndSequencesBeyondTwoSteps()
    {
        Assert.That(LstmKernels.OneSeriesPackedLength(50, 20), Is.EqualTo(0), "R of 20 units fits L1");
        Assert.That(LstmKernels.OneSeriesPackedLength(50, 45), Is.EqualTo(0), "R of 45 units fits L1");
        Assert.That(LstmKernels.OneSeriesPackedLength(2, 256), Is.EqualTo(0), "two steps");
        Assert.That(LstmKernels.OneSeriesPackedLength(3, 46), Is.GreaterThanOrEqualTo(46L * 4 * 46));
        Assert.That(() => LstmKernels.OneSeries(5, 64, new float[5 * 256], new float[256], new float[64 * 256], new float[64], new float[64],
            new float[5 * 64], new float[5 * 64], false, new float[100]), Throws.ArgumentException.With.Message.Contains("to pack R"));
    }

    [Test]
    public void LstmOneSeriesEqualsTheBatchStep([Values(false, true)] bool goBackwards)
    {
        // beyond 45 units R is packed for the products (LstmKernels.OneSeriesPackedLength): 67 with a partial last vector
        foreach (int u in Units.Concat([46, 67, 100]))
        {
            const int steps = 5;
            int g4 = 4 * u;
            var xw = Rand<float>(20 + u, steps * g4, 3);
            var bias = Rand<float>(21 + u, g4);
            var r = Rand<float>(22 + u, u * g4, 0.5);
            var h0 = Rand<float>(23 + u, u);
            var c0 = Rand<float>(24 + u, u);
            float[] a = xw.ToArray(), c = new float[steps * u], h = new float[steps * u];
            LstmKernels.OneSeries(steps, u, a, bias, r, h0, c0, c, h, goBackwards, packed: default);
            float[] aP = xw.ToArray(), cP = new float[steps * u], hP = new float[steps * u];
            var room = PackRoom(steps, u);
            LstmKernels.OneSeries(steps, u, aP, bias, r, h0, c0, cP, hP, goBackwards, room is null ? default : room.AsSpan(RoomOffset, room.Length - RoomOffset - RoomGuard));
            if (room is not null) AssertGuardsIntact(room, $"u={u}");

            // the same recurrence with the batch-path kernels: h·R by GEMM, then the step kernel
            float[] aRef = xw.ToArray(), cR = new float[steps * u], tcR = new float[steps * u], hR = new float[steps * u];
            for (int k = 0; k < steps; k++)
            {
                int t = goBackwards ? steps - 1 - k : k;
                var at = aRef.AsSpan(t * g4, g4);
                ReadOnlySpan<float> hPrev = k == 0 ? h0 : hR.AsSpan((k - 1) * u, u);
                ReadOnlySpan<float> cPrev = k == 0 ? c0 : cR.AsSpan((k - 1) * u, u);
                MatMulKernels.Gemm<float>(false, false, 1, g4, u, hPrev, u, r, g4, at, g4, true);
                LstmKernels.ForwardStep<float>(1, u, at, g4, bias, cPrev, u, cR.AsSpan(k * u, u), tcR.AsSpan(k * u, u), hR.AsSpan(k * u, u), u);
            }
            Same(c, cR, $"c u={u}");
            Same(h, hR, $"h u={u}");
            Same(cP, cR, $"c u={u}, R packed");
            Same(hP, hR, $"h u={u}, R packed");
        }
    }

    [Test]
    public void GruResetAfterStepsMatchTheReference([Values(false, true)] bool useDouble)
    {
        if (useDouble) GruResetAfter<double>(); else GruResetAfter<float>();
    }

    private static void GruResetAfter<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            int g3 = 3 * u, lda = 2 * g3 + 1, ldh = 2 * u + 1, ldPrev = u + 2;
            var a0 = Rand<T>(30 + u, rows * lda, 3);
            var m = Rand<T>(31 + u, rows * g3, 3);
            var bh = Rand<T>(32 + u, g3);
            var hPrev = Rand<T>(33 + u, rows * ldPrev);
            T[] a = a0.ToArray(), aR = a0.ToArray();
            T[] mh = new T[rows * ldh], h = new T[rows * ldh], mhR = new T[rows * ldh], hR = new T[rows * ldh];
            GruKernels.ForwardStepResetAfter<T>(rows, u, a, lda, m, bh, hPrev, ldPrev, mh, h, ldh);
            ReferenceRecurrent.GruForwardStepResetAfter<T>(rows, u, aR, lda, m, bh, hPrev, ldPrev, mhR, hR, ldh);
            Same(a, aR, $"gates u={u} rows={rows}");
            Same(mh, mhR, $"m_h u={u} rows={rows}");
            Same(h, hR, $"h u={u} rows={rows}");

            var dH = Rand<T>(34 + u, rows * ldh);
            var dn0 = Rand<T>(35 + u, rows * u);
            T[] dn = dn0.ToArray(), dnR = dn0.ToArray();
            T[] dz = new T[rows * lda], dm = new T[rows * lda], dzR = new T[rows * lda], dmR = new T[rows * lda];
            GruKernels.BackwardStepResetAfter<T>(rows, u, dH, ldh, dn, aR, lda, mhR, hPrev, ldPrev, dz, dm);
            ReferenceRecurrent.GruBackwardStepResetAfter<T>(rows, u, dH, ldh, dnR, aR, lda, mhR, hPrev, ldPrev, dzR, dmR);
            Same(dz, dzR, $"dz u={u} rows={rows}");
            Same(dm, dmR, $"dm u={u} rows={rows}");
            Same(dn, dnR, $"dhNext u={u} rows={rows}");
        }
    }

    [Test]
    public void GruInferenceStepEqualsTheTrainingStepAndTheReference()
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            int g3 = 3 * u, lda = g3 + 5, ldh = u + 3, ldPrev = u + 2;
            var a = Rand<float>(60 + u, rows * lda, 3);
            var m = Rand<float>(61 + u, rows * g3, 3);
            var bh = Rand<float>(62 + u, g3);
            var hPrev = Rand<float>(63 + u, rows * ldPrev);
            var bx = Rand<float>(64 + u, g3);
            float[] aIn = a.ToArray(), h = new float[rows * ldh];
            float[] hT = new float[rows * ldh], mhT = new float[rows * ldh], hR = new float[rows * ldh], mhR = new float[rows * ldh];
            GruKernels.InferenceStepResetAfter(rows, u, aIn, lda, default, m, bh, hPrev, ldPrev, h, ldh);
            GruKernels.ForwardStepResetAfter<float>(rows, u, a.ToArray(), lda, m, bh, hPrev, ldPrev, mhT, hT, ldh);
            ReferenceRecurrent.GruForwardStepResetAfter<float>(rows, u, a.ToArray(), lda, m, bh, hPrev, ldPrev, mhR, hR, ldh);
            Same(h, hT, $"h against the training step u={u} rows={rows}");
            Same(h, hR, $"h against the scalar twin u={u} rows={rows}");
            Same(aIn, a, $"the gate rows are left unchanged u={u} rows={rows}");

            // with b_x: as if AddBiasRows had run over the gate rows first
            float[] withBias = a.ToArray(), hB = new float[rows * ldh], hBT = new float[rows * ldh], hBR = new float[rows * ldh];
            RecurrentKernels.AddBiasRows<float>(withBias, rows, g3, lda, bx);
            GruKernels.InferenceStepResetAfter(rows, u, a, lda, bx, m, bh, hPrev, ldPrev, hB, ldh);
            GruKernels.ForwardStepResetAfter<float>(rows, u, withBias.ToArray(), lda, m, bh, hPrev, ldPrev, mhT, hBT, ldh);
            ReferenceRecurrent.GruForwardStepResetAfter<float>(rows, u, withBias.ToArray(), lda, m, bh, hPrev, ldPrev, mhR, hBR, ldh);
            Same(hB, hBT, $"h with b_x against the training step u={u} rows={rows}");
            Same(hB, hBR, $"h with b_x against the scalar twin u={u} rows={rows}");
        }
    }

    [Test]
    public void GruResetBeforeStepsMatchTheReference([Values(false, true)] bool useDouble)
    {
        if (useDouble) GruResetBefore<double>(); else GruResetBefore<float>();
    }

    private static void GruResetBefore<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (int rows in RowCounts)
        foreach (int u in Units)
        {
            int g3 = 3 * u, lda = 2 * g3 + 1, ldh = 2 * u + 1, ldPrev = u + 2;
            var a0 = Rand<T>(40 + u, rows * lda, 3);
            var hPrev = Rand<T>(41 + u, rows * ldPrev);
            T[] a = a0.ToArray(), aR = a0.ToArray();
            T[] rh = new T[rows * ldh], rhR = new T[rows * ldh];
            GruKernels.GatesStep<T>(rows, u, a, lda, hPrev, ldPrev, rh, ldh);
            ReferenceRecurrent.GruGatesStep<T>(rows, u, aR, lda, hPrev, ldPrev, rhR, ldh);
            Same(a, aR, $"gates u={u} rows={rows}");
            Same(rh, rhR, $"r*h u={u} rows={rows}");

            T[] h = new T[rows * ldh], hR = new T[rows * ldh];
            GruKernels.CandidateStep<T>(rows, u, a, lda, hPrev, ldPrev, h, ldh);
            ReferenceRecurrent.GruCandidateStep<T>(rows, u, aR, lda, hPrev, ldPrev, hR, ldh);
            Same(a, aR, $"candidate u={u} rows={rows}");
            Same(h, hR, $"h u={u} rows={rows}");

            var dH = Rand<T>(42 + u, rows * ldh);
            var dn0 = Rand<T>(43 + u, rows * u);
            T[] dn = dn0.ToArray(), dnR = dn0.ToArray();
            T[] dz = new T[rows * lda], dzR = new T[rows * lda];
            GruKernels.CandidateBackwardStep<T>(rows, u, dH, ldh, dn, aR, lda, hPrev, ldPrev, dz);
            ReferenceRecurrent.GruCandidateBackwardStep<T>(rows, u, dH, ldh, dnR, aR, lda, hPrev, ldPrev, dzR);
            Same(dz, dzR, $"candidate dz u={u} rows={rows}");
            Same(dn, dnR, $"candidate dhNext u={u} rows={rows}");

            var dRh = Rand<T>(44 + u, rows * u);
            GruKernels.GatesBackwardStep<T>(rows, u, dRh, aR, lda, hPrev, ldPrev, dn, dz);
            ReferenceRecurrent.GruGatesBackwardStep<T>(rows, u, dRh, aR, lda, hPrev, ldPrev, dnR, dzR);
            Same(dz, dzR, $"gates dz u={u} rows={rows}");
            Same(dn, dnR, $"gates dhNext u={u} rows={rows}");
        }
    }

    [Test]
    public void DropoutMaskRowsMatchTheReference([Values(false, true)] bool useDouble, [Values(1, 3)] int rowsPerMask)
    {
        if (useDouble) MaskRows<double>(rowsPerMask); else MaskRows<float>(rowsPerMask);
    }

    private static void MaskRows<T>(int rowsPerMask) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int rows = 7, gates = 4;   // 7: a last mask row shared by fewer than rowsPerMask rows
        foreach (int u in Units.Append(37))
        {
            // rows strided wider than u (a step's rows of the (b, t) layout), masks as (rows / rowsPerMask, gates, u)
            // read at gate 2, the destination strided as the gate block of a (rows, gates·u) matrix
            int ld = 3 * u + 1, ldd = gates * u, maskLd = gates * u;
            var src = Rand<T>(50 + u, rows * ld);
            var masks = Rand<T>(51 + u, (rows / rowsPerMask + 1) * maskLd);
            var gate = masks.AsSpan(2 * u);
            T[] dst = Rand<T>(52 + u, rows * ldd), dstR = dst.ToArray();
            MaskedRowKernels.Multiply<T>(src, ld, rows, u, gate, maskLd, rowsPerMask, dst, ldd);
            ReferenceRecurrent.MaskedMultiply<T>(src, ld, rows, u, gate, maskLd, rowsPerMask, dstR, ldd);
            Same(dst, dstR, $"multiply u={u}");

            T[] acc = Rand<T>(53 + u, rows * ld), accR = acc.ToArray();
            MaskedRowKernels.AddMultiplied<T>(dst, rows, u, gate, maskLd, rowsPerMask, acc, ld, ldd);
            ReferenceRecurrent.MaskedAddMultiplied<T>(dst, ldd, rows, u, gate, maskLd, rowsPerMask, accR, ld);
            Same(acc, accR, $"add multiplied u={u}");

            // all four gates, then three of them, in one pass: the per-gate twins gate after gate (u = 1 multiplies the
            // gates' masks as one vector)
            int ldg = gates * u + 1;
            T[] dstG = Rand<T>(54 + u, rows * ldg), dstGR = dstG.ToArray();
            foreach (int used in new[] { gates, 3 })
            {
                MaskedRowKernels.MultiplyGates<T>(src, ld, rows, u, used, masks, maskLd, rowsPerMask, dstG, ldg, u);
                for (int g = 0; g < used; g++)
                    ReferenceRecurrent.MaskedMultiply<T>(src, ld, rows, u, masks.AsSpan(g * u), maskLd, rowsPerMask, dstGR.AsSpan(g * u), ldg);
                Same(dstG, dstGR, $"multiply {used} gates u={u}");
            }

            T[] accG = Rand<T>(55 + u, rows * ld), accGR = accG.ToArray();
            MaskedRowKernels.AddMultipliedGates<T>(dstG, ldg, u, rows, u, 3, masks, maskLd, rowsPerMask, accG, ld);
            for (int g = 0; g < 3; g++)
                ReferenceRecurrent.MaskedAddMultiplied<T>(dstG.AsSpan(g * u), ldg, rows, u, masks.AsSpan(g * u), maskLd, rowsPerMask, accGR, ld);
            Same(accG, accGR, $"add multiplied gates u={u}");
        }
    }
}
