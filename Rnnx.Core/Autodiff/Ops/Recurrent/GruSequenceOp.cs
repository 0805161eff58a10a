using System.Diagnostics;
using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Autodiff.Ops.RecurrentOpSupport;
using static Rnnx.Kernels.GruKernels;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// A whole GRU sequence as one tape entry (<see cref="Tensor.GruSequence"/>; Keras semantics, gates z, r, h). Output: the
/// hidden sequence H (B, T, U) in processing order. Saved for backward: the gates [z, r, ĥ] (B, T, 3U) by time index and
/// m_h = h·R_h + b_h (reset_after) or r ⊙ h (reset_after = false), (B, T, U) by time index.
/// <list type="bullet">
/// <item>reset_after: x_* = x·W + b_x, m_* = h·R + b_h; z = σ(x_z + m_z), r = σ(x_r + m_r), ĥ = tanh(x_h + r ⊙ m_h).</item>
/// <item>reset_after = false: x_* = x·W + b; z = σ(x_z + h·R_z), r = σ(x_r + h·R_r), ĥ = tanh(x_h + (r ⊙ h)·R_h).</item>
/// </list>
/// Both: h' = z ⊙ h + (1 − z) ⊙ ĥ.
/// </summary>
internal sealed class GruSequenceOp : Op
{
    public static readonly GruSequenceOp Instance = new();

    public override string Name => "GruSequence";

    /// <summary>The op's inputs, saved activations and arguments (stored in the tape entry's slots by <see cref="Record"/>).</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public TensorData Kernel { get; init; }
        public TensorData RecurrentKernel { get; init; }
        public TensorData H0 { get; init; }
        public TensorData? Bias { get; init; }
        public TensorData Gates { get; init; }
        /// <summary>m_h (reset_after) or r ⊙ h.</summary>
        public TensorData RecurrentCandidate { get; init; }
        public bool ResetAfter { get; init; }
        public bool GoBackwards { get; init; }
        public SequenceMasks Masks { get; init; }

        public void Record(Tape tape, TensorData hidden)
        {
            ref var e = ref tape.Record(Instance, hidden);
            e.A = X;
            e.B = Kernel;
            e.C = RecurrentKernel;
            e.ExtraStart = tape.ExtraInputs.Count;
            tape.ExtraInputs.Add(H0);
            if (Bias is not null) tape.ExtraInputs.Add(Bias);
            e.ExtraCount = (Bias is null ? 1 : 2) + Masks.AppendTo(tape);
            e.S0 = Gates;
            e.S1 = RecurrentCandidate;
            e.SetArgs(new Flags(ResetAfter, GoBackwards, Bias is not null, Masks.Input is not null, Masks.Recurrent is not null));
        }

        public static Saved Of(Tape tape, in TapeEntry e) => new()
        {
            X = e.A!,
            Kernel = e.B!,
            RecurrentKernel = e.C!,
            H0 = tape.ExtraInputs[e.ExtraStart],
            Bias = e.GetArgs<Flags>().HasBias ? tape.ExtraInputs[e.ExtraStart + 1] : null,
            Gates = e.S0!,
            RecurrentCandidate = e.S1!,
            ResetAfter = e.GetArgs<Flags>().ResetAfter,
            GoBackwards = e.GetArgs<Flags>().GoBackwards,
            Masks = SequenceMasks.Read(tape, e.ExtraStart + (e.GetArgs<Flags>().HasBias ? 2 : 1), e.GetArgs<Flags>().InputMasks, e.GetArgs<Flags>().RecurrentMasks),
        };

        private readonly record struct Flags(bool ResetAfter, bool GoBackwards, bool HasBias, bool InputMasks, bool RecurrentMasks);
    }

    /// <summary>The hidden sequence (B, T, U) in processing order; arguments checked by <see cref="Tensor.GruSequence"/>.</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, bool resetAfter, bool goBackwards, SequenceMasks masks)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        TensorData? gates, aux;
        if (dx.DType == DType.Float32) Forward<float>(rec, dx, dw, dr, db, dh0, h, resetAfter, goBackwards, masks, out gates, out aux);
        else Forward<double>(rec, dx, dw, dr, db, dh0, h, resetAfter, goBackwards, masks, out gates, out aux);
        if (rec is not null)
        {
            new Saved
            {
                X = dx, Kernel = dw, RecurrentKernel = dr, H0 = dh0, Bias = db,
                Gates = gates!, RecurrentCandidate = aux!, ResetAfter = resetAfter, GoBackwards = goBackwards, Masks = masks,
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData h,
        bool resetAfter, bool goBackwards, SequenceMasks masks, out TensorData? gatesData, out TensorData? auxData)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        int rows = batch * steps, ldA = steps * g3, ldH = steps * units;
        var dtype = x.DType;
        if (rec is null && batch >= TimeMajorMinBatch && steps > 0 && !masks.Any)
        {
            gatesData = auxData = null;
            ForwardTimeMajor<T>(x, w, r, bias, h0, h, resetAfter, goBackwards);
            return;
        }
        // R packed once: all of it (reset_after) or [R_z|R_r] and R_h apart; with recurrent dropout by gate blocks (the
        // reset-before candidate's R_h also packed apart)
        int split = resetAfter ? 0 : 2 * units;
        int packedLength = masks.Recurrent is not null ? SequenceMasks.PackedGatesAndLastLength<T>(3, units, false)
            : PackedRecurrentLength<T>(units, g3, split, false);
        int packedInputLength = masks.Input is null ? 0 : SequenceMasks.PackedGatesLength<T>(3, features, units, false);
        using var scratch = new Scratch<T>(Tape.Current, rows * g3 + rows * units + batch * g3 + g3 + packedLength + packedInputLength
            + (masks.Input is null ? 0 : SequenceMasks.GemmScratchLength<T>(3, rows, units, features))
            + (masks.Recurrent is null ? 0 : SequenceMasks.GemmScratchLength<T>(3, batch, units, units) + batch * units));
        var a = scratch.Saved(rec, new Shape(batch, steps, g3), dtype, out gatesData);
        var aux = scratch.Saved(rec, new Shape(batch, steps, units), dtype, out auxData);

        if (masks.Input is { } mx)
        {
            var packedW = scratch.Get(packedInputLength);
            SequenceMasks.PackGates<T>(3, features, units, w.Span<T>(), g3, false, packedW);
            SequenceMasks.MaskedGemm<T>(3, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, packedW, a, g3, false, scratch.Get(SequenceMasks.GemmScratchLength<T>(3, rows, units, features)));
        }
        else MatMulKernels.Gemm<T>(false, false, rows, g3, features, x.Span<T>(), features, w.Span<T>(), g3, a, g3, false);
        var mr = masks.Recurrent is { } rm ? rm.Span<T>() : default;
        Span<T> hm = mr.IsEmpty ? default : scratch.Get(SequenceMasks.GemmScratchLength<T>(3, batch, units, units)), hmH = mr.IsEmpty ? default : scratch.Get(batch * units);
        if (bias is not null) AddBiasRows<T>(a, rows, g3, g3, bias.Span<T>()[..g3]);   // + b_x (reset_after) or + b
        var hs = h.Span<T>();
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>();
        Span<T> packedR = scratch.Get(packedLength), packedH = default;
        if (!mr.IsEmpty)
        {
            packedH = SequenceMasks.PackGatesAndLast<T>(3, units, rk, false, packedR);
        }
        else packedR = PackRecurrent<T>(rk, units, g3, split, false, packedR, out packedH);
        if (resetAfter)
        {
            ReadOnlySpan<T> bh = bias is not null ? bias.Span<T>()[g3..] : scratch.Zeroed(g3);
            var m = scratch.Get(batch * g3);
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..];
                int ldPrev = k == 0 ? units : ldH;
                if (mr.IsEmpty) PackedGemm.Gemm<T>(false, batch, g3, units, hPrev, ldPrev, packedR, m, g3, false);
                else SequenceMasks.MaskedGemm<T>(3, batch, units, units, hPrev, ldPrev, mr, 1, packedR, m, g3, false, hm);
                ForwardStepResetAfter<T>(batch, units, a[(t * g3)..], ldA, m, bh, hPrev, ldPrev, aux[(t * units)..], hs[(k * units)..], ldH);
            }
        }
        else
        {
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..];
                int ldPrev = k == 0 ? units : ldH;
                var at = a[(t * g3)..];
                var rh = aux[(t * units)..];
                if (mr.IsEmpty)
                {
                    PackedGemm.Gemm<T>(false, batch, 2 * units, units, hPrev, ldPrev, packedR, at, ldA, true);
                    GatesStep<T>(batch, units, at, ldA, hPrev, ldPrev, rh, ldH);
                }
                else
                {
                    // z and r from (h ⊙ m_z)·R_z and (h ⊙ m_r)·R_r; the candidate from r ⊙ (h ⊙ m_h)
                    SequenceMasks.MaskedGemm<T>(3, batch, units, units, hPrev, ldPrev, mr, 1, packedR, at, ldA, true, hm, usedGates: 2);
                    MaskedRowKernels.Multiply<T>(hPrev, ldPrev, batch, units, mr[(2 * units)..], 3 * units, 1, hmH);
                    GatesStep<T>(batch, units, at, ldA, hmH, units, rh, ldH);
                }
                PackedGemm.Gemm<T>(false, batch, units, units, rh, ldH, packedH, at[(2 * units)..], ldA, true);
                CandidateStep<T>(batch, units, at, ldA, hPrev, ldPrev, hs[(k * units)..], ldH);
            }
        }
    }

    /// <summary>
    /// Inference on a large batch (see <see cref="RecurrentOpSupport.TimeMajorMinBatch"/>), time-major: each step's input
    /// projection x_t·W (+ b_x) goes into one gate block (B x 3U) reused at every step, the rows of x at step t read in
    /// place (strided by T·F). Float32 reset_after (Keras's default) writes h straight into the (B, T, U) output and
    /// reads h_{k-1} back from it; otherwise h is kept in two B x U blocks (this step's, the previous one's), each
    /// step's rows copied into the output while they are in cache. A B·T x 3U projection of
    /// the whole sequence would go to main memory and back (and fault in fresh pages); this block stays in cache. The
    /// same operations per element as the recording path.
    /// </summary>
    private static void ForwardTimeMajor<T>(TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData h,
        bool resetAfter, bool goBackwards) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        int bu = batch * units, bg = batch * g3, ldx = steps * features, ldH = steps * units, split = resetAfter ? 0 : 2 * units;
        int packedLength = PackedRecurrentLength<T>(units, g3, split, false), packedInputLength = PackedGemm.PackedLength<T>(features, g3);
        // float32 reset_after: h goes straight into the (B, T, U) output and h_{k-1} is read back from it (strided), so
        // no h blocks are needed
        bool inPlace = resetAfter && typeof(T) == typeof(float);
        using var scratch = new Scratch<T>(Tape.Current, 2 * bg + (inPlace ? 0 : 3 * bu) + g3 + packedLength + packedInputLength);
        Span<T> at = scratch.Get(bg), m = resetAfter ? scratch.Get(bg) : default;
        Span<T> hA = inPlace ? default : scratch.Get(bu), hB = inPlace ? default : scratch.Get(bu), aux = inPlace ? default : scratch.Get(bu);
        var hs = h.Span<T>();
        var packedW = scratch.Get(packedInputLength);
        PackedGemm.Pack<T>(false, features, g3, w.Span<T>(), g3, packedW);
        var packedR = PackRecurrent<T>(r.Span<T>(), units, g3, split, false, scratch.Get(packedLength), out var packedH);
        ReadOnlySpan<T> bx = bias is not null ? bias.Span<T>()[..g3] : default;
        ReadOnlySpan<T> bh = !resetAfter ? default : bias is not null ? bias.Span<T>()[g3..] : scratch.Zeroed(g3);
        ReadOnlySpan<T> xs = x.Span<T>(), hInit = h0.Span<T>();
        // one feature: the packed engine would run x_t·W as k = 1 tiles; RankOne performs the same multiply-add per element
        bool rankOne = features == 1 && PackedGemmCore.PanelWidth<T>(g3) != 0;
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : inPlace ? hs[((k - 1) * units)..] : (k % 2 == 0 ? hB : hA);
            int ldPrev = k == 0 || !inPlace ? units : ldH;
            var hNow = inPlace ? hs[(k * units)..] : k % 2 == 0 ? hA : hB;
            if (rankOne) LstmBatchInference.RankOne<T>(batch, g3, xs[(t * features)..], ldx, w.Span<T>(), at, g3);
            else PackedGemm.Gemm<T>(false, batch, g3, features, xs[(t * features)..], ldx, packedW, at, g3, false);
            // float32 reset_after: b_x is added by the gate kernel as it loads x·W (the same addition, no pass of its own)
            if (bias is not null && !(resetAfter && typeof(T) == typeof(float))) AddBiasRows<T>(at, batch, g3, g3, bx);
            if (resetAfter)
            {
                PackedGemm.Gemm<T>(false, batch, g3, units, hPrev, ldPrev, packedR, m, g3, false);
                if (inPlace)
                {
                    InferenceStepResetAfter(batch, units, AsFloat<T>(at), g3, AsFloat(bx), AsFloat<T>(m), AsFloat(bh), AsFloat(hPrev), ldPrev, AsFloat<T>(hNow), ldH);
                    continue;
                }
                ForwardStepResetAfter<T>(batch, units, at, g3, m, bh, hPrev, units, aux, hNow, units);
            }
            else
            {
                PackedGemm.Gemm<T>(false, batch, 2 * units, units, hPrev, units, packedR, at, g3, true);
                GatesStep<T>(batch, units, at, g3, hPrev, units, aux, units);
                PackedGemm.Gemm<T>(false, batch, units, units, aux, units, packedH, at[(2 * units)..], g3, true);
                CandidateStep<T>(batch, units, at, g3, hPrev, units, hNow, units);
            }
            // the step's rows into the (B, T, U) output while they are in cache (no time-major sequence transposed at the end)
            for (int b = 0; b < batch; b++) hNow.Slice(b * units, units).CopyTo(hs.Slice(b * ldH + k * units, units));
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var saved = Saved.Of(tape, e);
        TensorData x = saved.X, w = saved.Kernel, r = saved.RecurrentKernel, h0 = saved.H0, h = e.Out;
        TensorData gates = saved.Gates, auxData = saved.RecurrentCandidate;
        var bias = saved.Bias;
        bool resetAfter = saved.ResetAfter, goBackwards = saved.GoBackwards;
        var masks = saved.Masks;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        int rows = batch * steps, ldA = steps * g3, ldH = steps * units;

        var dH = tape.GradOf<T>(h);
        ReadOnlySpan<T> a = gates.Span<T>(), aux = auxData.Span<T>(), hs = h.Span<T>(), hInit = h0.Span<T>();
        var dZ = tape.Scratch<T>(rows * g3);              // gradient of the input projection (x·W + b_x)
        var dM = resetAfter ? tape.Scratch<T>(rows * g3) : default;   // reset_after: gradient of m = h·R + b_h
        var dhNext = tape.Scratch<T>(batch * units);
        dhNext.Clear();
        var dRh = resetAfter ? default : tape.Scratch<T>(batch * units);
        var mr = masks.Recurrent is { } rm ? rm.Span<T>() : default;
        // op(B) = Rᵀ packed once: all of it (reset_after, 3U x U) or [R_z|R_r]ᵀ (2U x U) and R_hᵀ apart; with recurrent
        // dropout by gate blocks R_gᵀ (the reset-before candidate's R_hᵀ also packed apart)
        ReadOnlySpan<T> rk = r.Span<T>();
        int split = resetAfter ? 0 : 2 * units;
        Span<T> packedRt, packedRht = default;
        if (!mr.IsEmpty)
        {
            packedRt = tape.Scratch<T>(SequenceMasks.PackedGatesAndLastLength<T>(3, units, true));
            packedRht = SequenceMasks.PackGatesAndLast<T>(3, units, rk, true, packedRt);
        }
        else packedRt = PackRecurrent<T>(rk, units, g3, split, true, tape.Scratch<T>(PackedRecurrentLength<T>(units, g3, split, true)), out packedRht);
        Span<T> stepScratch = mr.IsEmpty ? default : tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(3, batch, units, units)), hmH = mr.IsEmpty ? default : tape.Scratch<T>(batch * units), dhm = mr.IsEmpty ? default : tape.Scratch<T>(batch * units);

        for (int k = steps - 1; k >= 0; k--)
        {
            int t = TimeOf(k, steps, goBackwards);
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..];
            int ldPrev = k == 0 ? units : ldH;
            var dzt = dZ[(t * g3)..];
            bool needDh = k > 0 || h0.RequiresGrad;
            if (resetAfter)
            {
                var dmt = dM[(t * g3)..];
                BackwardStepResetAfter<T>(batch, units, dH[(k * units)..], ldH, dhNext, a[(t * g3)..], ldA, aux[(t * units)..], hPrev, ldPrev, dzt, dmt);
                if (!needDh) continue;
                if (mr.IsEmpty) PackedGemm.Gemm<T>(false, batch, units, g3, dmt, ldA, packedRt, dhNext, units, true);
                else SequenceMasks.MaskedGemmInputGrad<T>(3, batch, units, units, dmt, ldA, packedRt, mr, 1, dhNext, units, stepScratch);
            }
            else
            {
                var at = a[(t * g3)..];
                CandidateBackwardStep<T>(batch, units, dH[(k * units)..], ldH, dhNext, at, ldA, hPrev, ldPrev, dzt);
                // d(r ⊙ h) = dĥ_pre · R_hᵀ
                PackedGemm.Gemm<T>(false, batch, units, units, dzt[(2 * units)..], ldA, packedRht, dRh, units, false);
                if (mr.IsEmpty)
                {
                    GatesBackwardStep<T>(batch, units, dRh, at, ldA, hPrev, ldPrev, dhNext, dzt);
                    if (needDh) PackedGemm.Gemm<T>(false, batch, units, 2 * units, dzt, ldA, packedRt, dhNext, units, true);
                }
                else
                {
                    // the candidate saw h ⊙ m_h: its gradient reaches h through the same mask
                    MaskedRowKernels.Multiply<T>(hPrev, ldPrev, batch, units, mr[(2 * units)..], 3 * units, 1, hmH);
                    dhm.Clear();
                    GatesBackwardStep<T>(batch, units, dRh, at, ldA, hmH, units, dhm, dzt);
                    if (!needDh) continue;
                    MaskedRowKernels.AddMultiplied<T>(dhm, batch, units, mr[(2 * units)..], 3 * units, 1, dhNext, units);
                    SequenceMasks.MaskedGemmInputGrad<T>(3, batch, units, units, dzt, ldA, packedRt, mr, 1, dhNext, units, stepScratch, usedGates: 2);
                }
            }
        }

        AccumulateInto<T>(tape, h0, dhNext);
        WeightGradients<T>(tape, x, w, r, bias, h0, hs, aux, dZ, dM, resetAfter, masks, batch, steps, goBackwards);
        if (x.RequiresGrad)
        {
            if (masks.Input is { } mx)
            {
                var packedWt = tape.Scratch<T>(SequenceMasks.PackedGatesLength<T>(3, features, units, true));
                SequenceMasks.PackGates<T>(3, features, units, w.Span<T>(), g3, true, packedWt);
                SequenceMasks.MaskedGemmInputGrad<T>(3, rows, units, features, dZ, g3, packedWt, mx.Span<T>(), steps, tape.Grad<T>(x), features,
                    tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(3, rows, units, features)));
            }
            else MatMulKernels.Gemm<T>(false, true, rows, features, g3, dZ, g3, w.Span<T>(), g3, tape.Grad<T>(x), features, true);
        }
    }

    /// <summary>
    /// The kernel's (xᵀ·dZ), the recurrent kernel's (H_prevᵀ·dM with reset_after; else H_prevᵀ·dZ_zr and (r ⊙ h)ᵀ·dZ_h)
    /// and the bias's (dZ's and, reset_after, dM's column sums) gradients. Without dropout masks the products reading
    /// one matrix share one pass over it (<see cref="WeightGradientGemm"/>: the same bits as separate calls).
    /// </summary>
    private static void WeightGradients<T>(Tape tape, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0,
        ReadOnlySpan<T> hs, ReadOnlySpan<T> aux, ReadOnlySpan<T> dZ, ReadOnlySpan<T> dM, bool resetAfter, SequenceMasks masks, int batch, int steps, bool goBackwards)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int features = x.Shape[2], units = r.Shape[0], g3 = 3 * units, rows = batch * steps;
        Span<T> gw = w.RequiresGrad ? tape.Grad<T>(w) : default, gr = r.RequiresGrad ? tape.Grad<T>(r) : default;
        Span<T> gb = bias is not null && bias.RequiresGrad ? tape.Grad<T>(bias) : default;
        Span<T> hPrevAll = default;
        if (r.RequiresGrad)
        {
            hPrevAll = tape.Scratch<T>(rows * units);
            BuildPreviousStates<T>(hs, h0.Span<T>(), batch, steps, units, goBackwards, hPrevAll);
        }
        if (!masks.Any)
        {
            var kernel = new WeightProduct<T>(features, x.Span<T>(), features, gw, g3, 0, g3);
            if (resetAfter)
            {
                WeightGradientGemm.Run<T>(rows, g3, dZ, g3, kernel, default, default, gb.IsEmpty ? default : gb[..g3]);
                WeightGradientGemm.Run<T>(rows, g3, dM, g3, new WeightProduct<T>(units, hPrevAll, units, gr, g3, 0, g3), default, default,
                    gb.IsEmpty ? default : gb[g3..]);
            }
            else
            {
                WeightGradientGemm.Run<T>(rows, g3, dZ, g3, kernel,
                    new WeightProduct<T>(units, hPrevAll, units, gr, g3, 0, 2 * units),
                    new WeightProduct<T>(units, aux, units, gr.IsEmpty ? default : gr[(2 * units)..], g3, 2 * units, g3),
                    gb);
            }
            return;
        }
        if (!gw.IsEmpty)
        {
            if (masks.Input is { } mx)
                SequenceMasks.MaskedGemmWeightGrad<T>(3, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, dZ, g3, gw, g3, tape.Scratch<T>(rows * features));
            else MatMulKernels.Gemm<T>(true, false, features, g3, rows, x.Span<T>(), features, dZ, g3, gw, g3, true);
        }
        if (!gr.IsEmpty)
        {
            var mr = masks.Recurrent is { } rm ? rm.Span<T>() : default;
            var ms = mr.IsEmpty ? default : tape.Scratch<T>(rows * units);
            if (resetAfter)
            {
                if (mr.IsEmpty) MatMulKernels.Gemm<T>(true, false, units, g3, rows, hPrevAll, units, dM, g3, gr, g3, true);
                else SequenceMasks.MaskedGemmWeightGrad<T>(3, rows, units, units, hPrevAll, units, mr, steps, dM, g3, gr, g3, ms);
            }
            else
            {
                if (mr.IsEmpty) MatMulKernels.Gemm<T>(true, false, units, 2 * units, rows, hPrevAll, units, dZ, g3, gr, g3, true);
                else SequenceMasks.MaskedGemmWeightGrad<T>(3, rows, units, units, hPrevAll, units, mr, steps, dZ, g3, gr, g3, ms, usedGates: 2);
                MatMulKernels.Gemm<T>(true, false, units, units, rows, aux, units, dZ[(2 * units)..], g3, gr[(2 * units)..], g3, true);
            }
        }
        if (!gb.IsEmpty)
        {
            AddColumnSums<T>(dZ, rows, g3, g3, gb[..g3]);
            if (resetAfter) AddColumnSums<T>(dM, rows, g3, g3, gb[g3..]);
        }
    }
}
