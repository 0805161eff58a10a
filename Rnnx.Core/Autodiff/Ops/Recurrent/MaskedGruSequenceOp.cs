using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Autodiff.Ops.RecurrentOpSupport;
using static Rnnx.Kernels.GruKernels;
using static Rnnx.Kernels.PackedStepKernels;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// <see cref="GruSequenceOp"/> with a (batch, time) step mask, Keras's masked RNN (h carried and the previous output
/// repeated at masked steps, zeros before the first unmasked one), computed on the active (row, step) pairs only,
/// packed step after step as in <see cref="MaskedLstmSequenceOp"/>, with the unmasked op's step kernels.
/// Saved (packed, N rows): the gates [z, r, ĥ] (N, 3U), the entering state h_prev, m_h (reset_after) or r ⊙ h
/// (reset_after = false), and the final state (B, 1, U). Per-gate dropout masks enter as in <see cref="GruSequenceOp"/>,
/// their rows gathered in packed order.
/// </summary>
internal sealed class MaskedGruSequenceOp : Op
{
    public static readonly MaskedGruSequenceOp Instance = new();

    public override string Name => "MaskedGruSequence";

    /// <summary>The op's inputs and saved buffers (<see cref="MaskedSequenceSupport.Record"/>'s extras in this order).</summary>
    private readonly struct Saved
    {
        public MaskedInputs Inputs { get; init; }
        public TensorData H0 { get; init; }
        public TensorData Mask { get; init; }
        public TensorData Gates { get; init; }
        public TensorData PrevH { get; init; }
        public TensorData RecurrentCandidate { get; init; }
        public TensorData FinalH { get; init; }
        public Flags Args { get; init; }

        public void Record(Tape tape, TensorData hidden) =>
            MaskedSequenceSupport.Record(tape, Instance, hidden, Inputs, Args, H0, Mask, Gates, PrevH, RecurrentCandidate, FinalH);

        public static Saved Of(Tape tape, in TapeEntry e)
        {
            var args = e.GetArgs<Flags>();
            var inputs = MaskedSequenceSupport.Read(tape, e, 6, args.InputMasks, args.RecurrentMasks, out var x);
            return new()
            {
                Inputs = inputs, H0 = x[0], Mask = x[1], Gates = x[2], PrevH = x[3], RecurrentCandidate = x[4], FinalH = x[5], Args = args,
            };
        }
    }

    private readonly record struct Flags(bool ResetAfter, bool GoBackwards, bool InputMasks, bool RecurrentMasks);

    /// <summary>H (B, T, U) and the final state (B, 1, U) (arguments checked by <see cref="Tensor.GruSequence"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor mask, bool resetAfter, bool goBackwards,
        SequenceMasks masks, out TensorData finalH)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dm = mask.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        finalH = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        TensorData? gates, prevH, aux;
        var inputs = new MaskedInputs(dx, dw, dr, db, masks);
        if (dx.DType == DType.Float32) Forward<float>(rec, inputs, dh0, dm, h, finalH, resetAfter, goBackwards, out gates, out prevH, out aux);
        else Forward<double>(rec, inputs, dh0, dm, h, finalH, resetAfter, goBackwards, out gates, out prevH, out aux);
        if (rec is not null)
        {
            new Saved
            {
                Inputs = inputs, H0 = dh0, Mask = dm, Gates = gates!, PrevH = prevH!, RecurrentCandidate = aux!, FinalH = finalH,
                Args = new Flags(resetAfter, goBackwards, masks.Input is not null, masks.Recurrent is not null),
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, in MaskedInputs inputs, TensorData h0, TensorData mask,
        TensorData h, TensorData finalH, bool resetAfter, bool goBackwards, out TensorData? gatesData, out TensorData? prevHData, out TensorData? auxData)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (x, w, r, bias, masks) = inputs;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        var dtype = x.DType;
        using var planSpace = new Scratch<int>(Tape.Current, StepPlan.Length(batch, steps));
        var plan = StepPlan.Of<T>(mask.Span<T>(), batch, steps, goBackwards, planSpace.Get(StepPlan.Length(batch, steps)));
        int n = plan.Count;
        // R packed once: whole (reset_after) or [R_z|R_r] and R_h apart; with recurrent dropout by gate blocks (the
        // reset-before candidate's R_h also packed apart)
        int split = resetAfter ? 0 : 2 * units;
        int packedLength = masks.Recurrent is null ? PackedRecurrentLength<T>(units, g3, split, false) : SequenceMasks.PackedGatesAndLastLength<T>(3, units, false);
        int inputMaskLength = MaskedSequenceSupport.InputMaskScratchLength<T>(masks, n, 3, features, units);
        int recurrentMaskLength = masks.Recurrent is null ? 0 : n * g3 + SequenceMasks.GemmScratchLength<T>(3, batch, units, units) + batch * units;
        using var scratch = new Scratch<T>(Tape.Current, n * (features + g3 + 3 * units) + batch * g3 + g3 + packedLength + inputMaskLength + recurrentMaskLength);
        var a = scratch.Saved(rec, new Shape(n, g3), dtype, out gatesData);
        var hPrev = scratch.Saved(rec, new Shape(n, units), dtype, out prevHData);
        var aux = scratch.Saved(rec, new Shape(n, units), dtype, out auxData);
        var hNew = scratch.Get(n * units);
        var m = scratch.Get(batch * g3);
        // + b_x (reset_after) or + b
        MaskedSequenceSupport.ProjectInputs<T>(plan, x, w, g3, bias is not null ? bias.Span<T>()[..g3] : default, scratch.Get(n * features), a,
            masks.Input, scratch.Get(inputMaskLength));
        var mr = masks.Recurrent is { } rm ? MaskedSequenceSupport.PackedMaskRows<T>(plan, rm, scratch.Get(n * g3)) : default;
        Span<T> hm = mr.IsEmpty ? default : scratch.Get(SequenceMasks.GemmScratchLength<T>(3, batch, units, units)), hmH = mr.IsEmpty ? default : scratch.Get(batch * units);
        ReadOnlySpan<T> bh = resetAfter ? (bias is not null ? bias.Span<T>()[g3..] : scratch.Zeroed(g3)) : default;
        var walk = new PackedForward<T>(plan, h0, finalH, h);
        Span<T> packedR = scratch.Get(packedLength), packedH;
        if (mr.IsEmpty) packedR = PackRecurrent<T>(r.Span<T>(), units, g3, split, false, packedR, out packedH);
        else
        {
            packedH = SequenceMasks.PackGatesAndLast<T>(3, units, r.Span<T>(), false, packedR);
        }
        for (int k = 0; k < steps; k++)
        {
            var active = walk.Begin(k, out int p0, hPrev);
            int cnt = active.Length;
            if (cnt > 0)
            {
                Span<T> ak = a[(p0 * g3)..], hp = hPrev[(p0 * units)..], hk = hNew[(p0 * units)..], auxk = aux[(p0 * units)..];
                if (resetAfter)
                {
                    if (mr.IsEmpty) PackedGemm.Gemm<T>(false, cnt, g3, units, hp, units, packedR, m, g3, false);
                    else SequenceMasks.MaskedGemm<T>(3, cnt, units, units, hp, units, mr[(p0 * g3)..], 1, packedR, m, g3, false, hm);
                    ForwardStepResetAfter<T>(cnt, units, ak, g3, m, bh, hp, units, auxk, hk, units);
                }
                else
                {
                    if (mr.IsEmpty)
                    {
                        PackedGemm.Gemm<T>(false, cnt, 2 * units, units, hp, units, packedR, ak, g3, true);
                        GatesStep<T>(cnt, units, ak, g3, hp, units, auxk, units);
                    }
                    else
                    {
                        // z and r from (h ⊙ m_z)·R_z and (h ⊙ m_r)·R_r; the candidate from r ⊙ (h ⊙ m_h)
                        var mk = mr[(p0 * g3)..];
                        SequenceMasks.MaskedGemm<T>(3, cnt, units, units, hp, units, mk, 1, packedR, ak, g3, true, hm, usedGates: 2);
                        MaskedRowKernels.Multiply<T>(hp, units, cnt, units, mk[(2 * units)..], g3, 1, hmH);
                        GatesStep<T>(cnt, units, ak, g3, hmH, units, auxk, units);
                    }
                    PackedGemm.Gemm<T>(false, cnt, units, units, auxk, units, packedH, ak[(2 * units)..], g3, true);
                    CandidateStep<T>(cnt, units, ak, g3, hp, units, hk, units);
                }
            }
            walk.End(k, active, p0, hNew);
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = Saved.Of(tape, e);
        TensorData r = s.Inputs.RecurrentKernel;
        bool resetAfter = s.Args.ResetAfter;
        int batch = e.Out.Shape[0], units = r.Shape[0], g3 = 3 * units;
        var masks = s.Inputs.Masks;
        var walk = new PackedBackward<T>(tape, e, s.Mask, s.FinalH, s.Args.GoBackwards, s.Args.ResetAfter ? 0 : 2 * units, masks.Recurrent is not null);
        int n = walk.Plan.Count;
        var mr = masks.Recurrent is { } rm ? MaskedSequenceSupport.PackedMaskRows<T>(walk.Plan, rm, tape.Scratch<T>(n * g3)) : default;
        Span<T> stepScratch = mr.IsEmpty ? default : tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(3, batch, units, units)), hmH = mr.IsEmpty ? default : tape.Scratch<T>(batch * units),
            dhm = mr.IsEmpty ? default : tape.Scratch<T>(batch * units);
        ReadOnlySpan<T> a = s.Gates.Span<T>(), aux = s.RecurrentCandidate.Span<T>(), hPrev = s.PrevH.Span<T>(), rt = walk.RecurrentTransposed;
        var dZ = tape.Scratch<T>(n * g3);                       // gradient of the input projection (x·W + b_x)
        var dM = resetAfter ? tape.Scratch<T>(n * g3) : default; // reset_after: gradient of m = h·R + b_h
        var dRh = resetAfter ? default : tape.Scratch<T>(batch * units);

        for (int k = e.Out.Shape[1] - 1; k >= 0; k--)
        {
            var active = walk.Begin(k, out int p0);
            int cnt = active.Length;
            if (cnt == 0) continue;
            Span<T> dzk = dZ[(p0 * g3)..], dh = walk.Dh;
            ReadOnlySpan<T> ak = a[(p0 * g3)..], hp = hPrev[(p0 * units)..];
            if (resetAfter)
            {
                var dmk = dM[(p0 * g3)..];
                BackwardStepResetAfter<T>(cnt, units, walk.Out, units, dh, ak, g3, aux[(p0 * units)..], hp, units, dzk, dmk);
                if (mr.IsEmpty) PackedGemm.Gemm<T>(false, cnt, units, g3, dmk, g3, rt, dh, units, true);
                else SequenceMasks.MaskedGemmInputGrad<T>(3, cnt, units, units, dmk, g3, rt, mr[(p0 * g3)..], 1, dh, units, stepScratch);
            }
            else
            {
                CandidateBackwardStep<T>(cnt, units, walk.Out, units, dh, ak, g3, hp, units, dzk);
                PackedGemm.Gemm<T>(false, cnt, units, units, dzk[(2 * units)..], g3, walk.RecurrentTransposedTail, dRh, units, false);
                if (mr.IsEmpty)
                {
                    GatesBackwardStep<T>(cnt, units, dRh, ak, g3, hp, units, dh, dzk);
                    PackedGemm.Gemm<T>(false, cnt, units, 2 * units, dzk, g3, rt, dh, units, true);
                }
                else
                {
                    // the candidate saw h ⊙ m_h: its gradient reaches h through the same mask
                    var mk = mr[(p0 * g3)..];
                    MaskedRowKernels.Multiply<T>(hp, units, cnt, units, mk[(2 * units)..], g3, 1, hmH);
                    dhm[..(cnt * units)].Clear();
                    GatesBackwardStep<T>(cnt, units, dRh, ak, g3, hmH, units, dhm, dzk);
                    MaskedRowKernels.AddMultiplied<T>(dhm, cnt, units, mk[(2 * units)..], g3, 1, dh, units);
                    SequenceMasks.MaskedGemmInputGrad<T>(3, cnt, units, units, dzk, g3, rt, mk, 1, dh, units, stepScratch, usedGates: 2);
                }
            }
            walk.End(active);
        }

        walk.AccumulateInitial(tape, s.H0);
        if (n == 0) return;
        if (r.RequiresGrad)
        {
            var gr = tape.Grad<T>(r);
            var ms = mr.IsEmpty ? default : tape.Scratch<T>(n * units);
            if (resetAfter && mr.IsEmpty) MatMulKernels.Gemm<T>(true, false, units, g3, n, hPrev, units, dM, g3, gr, g3, true);
            else if (resetAfter) SequenceMasks.MaskedGemmWeightGrad<T>(3, n, units, units, hPrev, units, mr, 1, dM, g3, gr, g3, ms);
            else
            {
                if (mr.IsEmpty) MatMulKernels.Gemm<T>(true, false, units, 2 * units, n, hPrev, units, dZ, g3, gr, g3, true);
                else SequenceMasks.MaskedGemmWeightGrad<T>(3, n, units, units, hPrev, units, mr, 1, dZ, g3, gr, g3, ms, usedGates: 2);
                MatMulKernels.Gemm<T>(true, false, units, units, n, aux, units, dZ[(2 * units)..], g3, gr[(2 * units)..], g3, true);
            }
        }
        if (s.Inputs.Bias is { RequiresGrad: true } bias)
        {
            var gb = tape.Grad<T>(bias);
            AddColumnSums<T>(dZ, n, g3, g3, gb[..g3]);
            if (resetAfter) AddColumnSums<T>(dM, n, g3, g3, gb[g3..]);
        }
        MaskedSequenceSupport.InputGradients<T>(tape, s.Inputs.X, s.Inputs.Kernel, dZ, g3, walk.Plan, masks.Input);
    }
}
