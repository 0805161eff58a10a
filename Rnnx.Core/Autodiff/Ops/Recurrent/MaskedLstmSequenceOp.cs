using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Autodiff.Ops.RecurrentOpSupport;
using static Rnnx.Kernels.LstmKernels;
using static Rnnx.Kernels.PackedStepKernels;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// <see cref="LstmSequenceOp"/> with a (batch, time) step mask (<see cref="RecurrentSequenceOptions.Mask"/>), Keras's
/// masked RNN: at a masked step h and c are carried and the output repeats the previous output (zeros before the
/// first unmasked step). Only the active (row, step) pairs are computed, packed step after step
/// (<see cref="PackedStepKernels"/>): one GEMM projects the N active inputs, each step multiplies only its n_k active
/// states by R and runs the same step kernels as the unmasked op, so the cost follows N, not batch × time. Per-gate
/// dropout masks (<see cref="RecurrentSequenceOptions.InputMasks"/>, <see cref="RecurrentSequenceOptions.RecurrentMasks"/>)
/// enter as in <see cref="LstmSequenceOp"/>, their rows gathered in packed order.
/// Output: H (B, T, U) in processing order. Saved (packed, N rows): gates [i, f, g, o] (N, 4U), the entering states
/// h_prev and c_prev, the new cells c and tanh(c); and the final states (B, 1, U), whose gradients (from
/// <see cref="SequenceLastStepOp"/>) seed backward.
/// </summary>
internal sealed class MaskedLstmSequenceOp : Op
{
    public static readonly MaskedLstmSequenceOp Instance = new();

    public override string Name => "MaskedLstmSequence";

    /// <summary>The op's inputs and saved buffers (<see cref="MaskedSequenceSupport.Record"/>'s extras in this order).</summary>
    private readonly struct Saved
    {
        public MaskedInputs Inputs { get; init; }
        public TensorData H0 { get; init; }
        public TensorData C0 { get; init; }
        public TensorData Mask { get; init; }
        public TensorData Gates { get; init; }
        public TensorData PrevH { get; init; }
        public TensorData PrevC { get; init; }
        public TensorData Cells { get; init; }
        public TensorData TanhCells { get; init; }
        public TensorData FinalH { get; init; }
        public TensorData FinalC { get; init; }
        public bool GoBackwards { get; init; }

        public void Record(Tape tape, TensorData hidden) => MaskedSequenceSupport.Record(tape, Instance, hidden, Inputs,
            new Flags(GoBackwards, Inputs.Masks.Input is not null, Inputs.Masks.Recurrent is not null),
            H0, C0, Mask, Gates, PrevH, PrevC, Cells, TanhCells, FinalH, FinalC);

        public static Saved Of(Tape tape, in TapeEntry e)
        {
            var args = e.GetArgs<Flags>();
            var inputs = MaskedSequenceSupport.Read(tape, e, 10, args.InputMasks, args.RecurrentMasks, out var x);
            return new()
            {
                Inputs = inputs, H0 = x[0], C0 = x[1], Mask = x[2], Gates = x[3], PrevH = x[4], PrevC = x[5], Cells = x[6], TanhCells = x[7],
                FinalH = x[8], FinalC = x[9], GoBackwards = args.GoBackwards,
            };
        }
    }

    private readonly record struct Flags(bool GoBackwards, bool InputMasks, bool RecurrentMasks);

    /// <summary>H (B, T, U) and the final states (B, 1, U) (arguments checked by <see cref="Tensor.LstmSequence"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor c0, Tensor mask, bool goBackwards,
        SequenceMasks masks, out TensorData finalH, out TensorData finalC)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dc0 = c0.Data, dm = mask.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, dc0);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        finalH = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        finalC = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        Buffers saved;
        var inputs = new MaskedInputs(dx, dw, dr, db, masks);
        if (dx.DType == DType.Float32) saved = Forward<float>(rec, inputs, dh0, dc0, dm, h, finalH, finalC, goBackwards);
        else saved = Forward<double>(rec, inputs, dh0, dc0, dm, h, finalH, finalC, goBackwards);
        if (rec is not null)
        {
            new Saved
            {
                Inputs = inputs, H0 = dh0, C0 = dc0, Mask = dm,
                Gates = saved.Gates!, PrevH = saved.PrevH!, PrevC = saved.PrevC!, Cells = saved.Cells!, TanhCells = saved.TanhCells!,
                FinalH = finalH, FinalC = finalC, GoBackwards = goBackwards,
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private readonly record struct Buffers(TensorData? Gates, TensorData? PrevH, TensorData? PrevC, TensorData? Cells, TensorData? TanhCells);

    private static Buffers Forward<T>(Tape? rec, in MaskedInputs inputs, TensorData h0, TensorData c0,
        TensorData mask, TensorData h, TensorData finalH, TensorData finalC, bool goBackwards) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (x, w, r, bias, masks) = inputs;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        var dtype = x.DType;
        using var planSpace = new Scratch<int>(Tape.Current, StepPlan.Length(batch, steps));
        var plan = StepPlan.Of<T>(mask.Span<T>(), batch, steps, goBackwards, planSpace.Get(StepPlan.Length(batch, steps)));
        int n = plan.Count;
        // R packed once; with recurrent dropout by gate blocks, each step multiplying (h ⊙ m_g)·R_g
        int packedLength = masks.Recurrent is null ? PackedGemm.PackedLength<T>(units, g4) : SequenceMasks.PackedGatesLength<T>(4, units, units, false);
        int inputMaskLength = MaskedSequenceSupport.InputMaskScratchLength<T>(masks, n, 4, features, units);
        int recurrentMaskLength = masks.Recurrent is null ? 0 : n * g4 + SequenceMasks.GemmScratchLength<T>(4, batch, units, units);
        using var scratch = new Scratch<T>(Tape.Current, n * (features + g4 + 5 * units) + g4 + packedLength + inputMaskLength + recurrentMaskLength);
        var a = scratch.Saved(rec, new Shape(n, g4), dtype, out var gates);
        var hPrev = scratch.Saved(rec, new Shape(n, units), dtype, out var prevH);
        var cPrev = scratch.Saved(rec, new Shape(n, units), dtype, out var prevC);
        var c = scratch.Saved(rec, new Shape(n, units), dtype, out var cells);
        var tc = scratch.Saved(rec, new Shape(n, units), dtype, out var tanhCells);
        var hNew = scratch.Get(n * units);
        ReadOnlySpan<T> b = bias is not null ? bias.Span<T>() : scratch.Zeroed(g4);
        // the bias enters in the step kernel
        MaskedSequenceSupport.ProjectInputs<T>(plan, x, w, g4, default, scratch.Get(n * features), a, masks.Input, scratch.Get(inputMaskLength));
        var mr = masks.Recurrent is { } rm ? MaskedSequenceSupport.PackedMaskRows<T>(plan, rm, scratch.Get(n * g4)) : default;
        var hm = mr.IsEmpty ? default : scratch.Get(SequenceMasks.GemmScratchLength<T>(4, batch, units, units));

        var walk = new PackedForward<T>(plan, h0, finalH, h);
        Span<T> cc = finalC.Span<T>();
        c0.Span<T>().CopyTo(cc);
        var packedR = scratch.Get(packedLength);
        if (mr.IsEmpty) PackRecurrent<T>(r.Span<T>(), units, g4, 0, false, packedR, out _);
        else SequenceMasks.PackGates<T>(4, units, units, r.Span<T>(), g4, false, packedR);
        for (int k = 0; k < steps; k++)
        {
            var active = walk.Begin(k, out int p0, hPrev);
            if (active.Length > 0)
            {
                Span<T> ak = a[(p0 * g4)..], hp = hPrev[(p0 * units)..], cp = cPrev[(p0 * units)..], hk = hNew[(p0 * units)..], ck = c[(p0 * units)..];
                Gather<T>(cc, units, active, units, cp);
                if (mr.IsEmpty) PackedGemm.Gemm<T>(false, active.Length, g4, units, hp, units, packedR, ak, g4, true);
                else SequenceMasks.MaskedGemm<T>(4, active.Length, units, units, hp, units, mr[(p0 * g4)..], 1, packedR, ak, g4, true, hm);
                ForwardStep<T>(active.Length, units, ak, g4, b, cp, units, ck, tc[(p0 * units)..], hk, units);
                Scatter<T>(ck, active, units, cc, units);
            }
            walk.End(k, active, p0, hNew);
        }
        return new Buffers(gates, prevH, prevC, cells, tanhCells);
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
        int batch = e.Out.Shape[0], units = r.Shape[0], g4 = 4 * units;
        var masks = s.Inputs.Masks;
        var walk = new PackedBackward<T>(tape, e, s.Mask, s.FinalH, s.GoBackwards, gateBlocks: masks.Recurrent is not null);
        int n = walk.Plan.Count;
        var mr = masks.Recurrent is { } rm ? MaskedSequenceSupport.PackedMaskRows<T>(walk.Plan, rm, tape.Scratch<T>(n * g4)) : default;
        var stepScratch = mr.IsEmpty ? default : tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(4, batch, units, units));
        ReadOnlySpan<T> a = s.Gates.Span<T>(), tc = s.TanhCells.Span<T>(), cPrev = s.PrevC.Span<T>();
        var dZ = tape.Scratch<T>(n * g4);
        Span<T> dcState = tape.Scratch<T>(batch * units), dc = tape.Scratch<T>(batch * units);
        MaskedSequenceSupport.StartStateGradient<T>(tape, s.FinalC, dcState);

        for (int k = e.Out.Shape[1] - 1; k >= 0; k--)
        {
            var active = walk.Begin(k, out int p0);
            if (active.Length == 0) continue;
            Gather<T>(dcState, units, active, units, dc);
            var dzk = dZ[(p0 * g4)..];
            BackwardStep<T>(active.Length, units, walk.Out, units, default, walk.Dh, dc, a[(p0 * g4)..], g4, tc[(p0 * units)..], cPrev[(p0 * units)..], units, dzk);
            if (mr.IsEmpty) PackedGemm.Gemm<T>(false, active.Length, units, g4, dzk, g4, walk.RecurrentTransposed, walk.Dh, units, false);
            else
            {
                walk.Dh[..(active.Length * units)].Clear();
                SequenceMasks.MaskedGemmInputGrad<T>(4, active.Length, units, units, dzk, g4, walk.RecurrentTransposed, mr[(p0 * g4)..], 1, walk.Dh, units, stepScratch);
            }
            walk.End(active);
            Scatter<T>(dc, active, units, dcState, units);
        }

        walk.AccumulateInitial(tape, s.H0);
        AccumulateInto<T>(tape, s.C0, dcState);
        if (n == 0) return;
        if (r.RequiresGrad && mr.IsEmpty) MatMulKernels.Gemm<T>(true, false, units, g4, n, s.PrevH.Span<T>(), units, dZ, g4, tape.Grad<T>(r), g4, true);
        else if (r.RequiresGrad)
            SequenceMasks.MaskedGemmWeightGrad<T>(4, n, units, units, s.PrevH.Span<T>(), units, mr, 1, dZ, g4, tape.Grad<T>(r), g4, tape.Scratch<T>(n * units));
        if (s.Inputs.Bias is { RequiresGrad: true } bias) AddColumnSums<T>(dZ, n, g4, g4, tape.Grad<T>(bias));
        MaskedSequenceSupport.InputGradients<T>(tape, s.Inputs.X, s.Inputs.Kernel, dZ, g4, walk.Plan, masks.Input);
    }
}
