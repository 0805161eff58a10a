using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Autodiff.Ops.RecurrentOpSupport;
using static Rnnx.Kernels.PackedStepKernels;
using static Rnnx.Kernels.RecurrentKernels;
using static Rnnx.Kernels.SimpleRnnKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// <see cref="SimpleRnnSequenceOp"/> with a (batch, time) step mask, Keras's masked RNN (h carried and the previous
/// output repeated at masked steps, zeros before the first unmasked one), computed on the active (row, step) pairs
/// only, packed step after step as in <see cref="MaskedLstmSequenceOp"/>, with the unmasked op's step kernels.
/// Saved (packed, N rows): the new states h and the entering states h_prev, and the final state (B, 1, U). Dropout masks
/// enter as in <see cref="SimpleRnnSequenceOp"/>, their rows gathered in packed order.
/// </summary>
internal sealed class MaskedSimpleRnnSequenceOp : Op
{
    public static readonly MaskedSimpleRnnSequenceOp Instance = new();

    public override string Name => "MaskedSimpleRnnSequence";

    /// <summary>The op's inputs and saved buffers (<see cref="MaskedSequenceSupport.Record"/>'s extras in this order).</summary>
    private readonly struct Saved
    {
        public MaskedInputs Inputs { get; init; }
        public TensorData H0 { get; init; }
        public TensorData Mask { get; init; }
        public TensorData NewH { get; init; }
        public TensorData PrevH { get; init; }
        public TensorData FinalH { get; init; }
        public Flags Args { get; init; }

        public void Record(Tape tape, TensorData hidden) => MaskedSequenceSupport.Record(tape, Instance, hidden, Inputs, Args, H0, Mask, NewH, PrevH, FinalH);

        public static Saved Of(Tape tape, in TapeEntry e)
        {
            var args = e.GetArgs<Flags>();
            var inputs = MaskedSequenceSupport.Read(tape, e, 5, args.InputMasks, args.RecurrentMasks, out var x);
            return new() { Inputs = inputs, H0 = x[0], Mask = x[1], NewH = x[2], PrevH = x[3], FinalH = x[4], Args = args };
        }
    }

    private readonly record struct Flags(CellActivation Activation, bool GoBackwards, bool InputMasks, bool RecurrentMasks);

    /// <summary>H (B, T, U) and the final state (B, 1, U) (arguments checked by <see cref="Tensor.SimpleRnnSequence"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor mask, CellActivation act, bool goBackwards,
        SequenceMasks masks, out TensorData finalH)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dm = mask.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        finalH = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        TensorData? newH, prevH;
        var inputs = new MaskedInputs(dx, dw, dr, db, masks);
        if (dx.DType == DType.Float32) Forward<float>(rec, inputs, dh0, dm, h, finalH, act, goBackwards, out newH, out prevH);
        else Forward<double>(rec, inputs, dh0, dm, h, finalH, act, goBackwards, out newH, out prevH);
        if (rec is not null)
        {
            new Saved
            {
                Inputs = inputs, H0 = dh0, Mask = dm, NewH = newH!, PrevH = prevH!, FinalH = finalH,
                Args = new Flags(act, goBackwards, masks.Input is not null, masks.Recurrent is not null),
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, in MaskedInputs inputs, TensorData h0, TensorData mask,
        TensorData h, TensorData finalH, CellActivation act, bool goBackwards, out TensorData? newHData, out TensorData? prevHData)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (x, w, r, bias, masks) = inputs;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        var dtype = x.DType;
        using var planSpace = new Scratch<int>(Tape.Current, StepPlan.Length(batch, steps));
        var plan = StepPlan.Of<T>(mask.Span<T>(), batch, steps, goBackwards, planSpace.Get(StepPlan.Length(batch, steps)));
        int n = plan.Count;
        int packedLength = PackedGemm.PackedLength<T>(units, units);
        int inputMaskLength = MaskedSequenceSupport.InputMaskScratchLength<T>(masks, n, 1, features, units);
        int recurrentMaskLength = masks.Recurrent is null ? 0 : n * units + SequenceMasks.GemmScratchLength<T>(1, batch, units, units);
        using var scratch = new Scratch<T>(Tape.Current, n * (features + 3 * units) + packedLength + inputMaskLength + recurrentMaskLength);
        var z = scratch.Get(n * units);
        var hNew = scratch.Saved(rec, new Shape(n, units), dtype, out newHData);
        var hPrev = scratch.Saved(rec, new Shape(n, units), dtype, out prevHData);
        MaskedSequenceSupport.ProjectInputs<T>(plan, x, w, units, bias is not null ? bias.Span<T>() : default, scratch.Get(n * features), z,
            masks.Input, scratch.Get(inputMaskLength));
        var mr = masks.Recurrent is { } rm ? MaskedSequenceSupport.PackedMaskRows<T>(plan, rm, scratch.Get(n * units)) : default;
        var hm = mr.IsEmpty ? default : scratch.Get(SequenceMasks.GemmScratchLength<T>(1, batch, units, units));
        var walk = new PackedForward<T>(plan, h0, finalH, h);
        var packedR = PackRecurrent<T>(r.Span<T>(), units, units, 0, false, scratch.Get(packedLength), out _);
        for (int k = 0; k < steps; k++)
        {
            var active = walk.Begin(k, out int p0, hPrev);
            if (active.Length > 0)
            {
                Span<T> zk = z[(p0 * units)..], hp = hPrev[(p0 * units)..], hk = hNew[(p0 * units)..];
                if (mr.IsEmpty) PackedGemm.Gemm<T>(false, active.Length, units, units, hp, units, packedR, zk, units, true);
                else SequenceMasks.MaskedGemm<T>(1, active.Length, units, units, hp, units, mr[(p0 * units)..], 1, packedR, zk, units, true, hm);
                ForwardStep<T>(act, active.Length, units, zk, units, hk, units);
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
        int units = r.Shape[0];
        var masks = s.Inputs.Masks;
        var walk = new PackedBackward<T>(tape, e, s.Mask, s.FinalH, s.Args.GoBackwards);
        int n = walk.Plan.Count;
        var mr = masks.Recurrent is { } rm ? MaskedSequenceSupport.PackedMaskRows<T>(walk.Plan, rm, tape.Scratch<T>(n * units)) : default;
        var stepScratch = mr.IsEmpty ? default : tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(1, e.Out.Shape[0], units, units));
        ReadOnlySpan<T> hNew = s.NewH.Span<T>();
        var dZ = tape.Scratch<T>(n * units);
        for (int k = e.Out.Shape[1] - 1; k >= 0; k--)
        {
            var active = walk.Begin(k, out int p0);
            if (active.Length == 0) continue;
            var dzk = dZ[(p0 * units)..];
            BackwardStep<T>(s.Args.Activation, active.Length, units, walk.Out, units, walk.Dh, hNew[(p0 * units)..], units, dzk, units);
            if (mr.IsEmpty) PackedGemm.Gemm<T>(false, active.Length, units, units, dzk, units, walk.RecurrentTransposed, walk.Dh, units, false);
            else
            {
                walk.Dh[..(active.Length * units)].Clear();
                SequenceMasks.MaskedGemmInputGrad<T>(1, active.Length, units, units, dzk, units, walk.RecurrentTransposed, mr[(p0 * units)..], 1, walk.Dh, units, stepScratch);
            }
            walk.End(active);
        }

        walk.AccumulateInitial(tape, s.H0);
        if (n == 0) return;
        if (r.RequiresGrad && mr.IsEmpty) MatMulKernels.Gemm<T>(true, false, units, units, n, s.PrevH.Span<T>(), units, dZ, units, tape.Grad<T>(r), units, true);
        else if (r.RequiresGrad)
            SequenceMasks.MaskedGemmWeightGrad<T>(1, n, units, units, s.PrevH.Span<T>(), units, mr, 1, dZ, units, tape.Grad<T>(r), units, tape.Scratch<T>(n * units));
        if (s.Inputs.Bias is { RequiresGrad: true } bias) AddColumnSums<T>(dZ, n, units, units, tape.Grad<T>(bias));
        MaskedSequenceSupport.InputGradients<T>(tape, s.Inputs.X, s.Inputs.Kernel, dZ, units, walk.Plan, masks.Input);
    }
}
