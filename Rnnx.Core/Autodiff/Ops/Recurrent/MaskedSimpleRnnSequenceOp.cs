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
/// Saved (packed, N rows): the new states h and the entering states h_prev, and the final state (B, 1, U).
/// </summary>
internal sealed class MaskedSimpleRnnSequenceOp : Op
{
    public static readonly MaskedSimpleRnnSequenceOp Instance = new();

    public override string Name => "MaskedSimpleRnnSequence";

    /// <summary>The op's inputs and saved buffers, kept in <see cref="Tape.ExtraInputs"/> in this order.</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public TensorData Kernel { get; init; }
        public TensorData RecurrentKernel { get; init; }
        public TensorData H0 { get; init; }
        public TensorData Mask { get; init; }
        public TensorData NewH { get; init; }
        public TensorData PrevH { get; init; }
        public TensorData FinalH { get; init; }
        public TensorData? Bias { get; init; }
        public CellActivation Activation { get; init; }
        public bool GoBackwards { get; init; }

        public void Record(Tape tape, TensorData hidden)
        {
            ref var e = ref tape.Record(Instance, hidden);
            e.A = X;
            e.B = Kernel;
            e.C = RecurrentKernel;
            e.ExtraStart = tape.ExtraInputs.Count;
            tape.ExtraInputs.AddRange([H0, Mask, NewH, PrevH, FinalH]);
            if (Bias is not null) tape.ExtraInputs.Add(Bias);
            e.ExtraCount = Bias is null ? 5 : 6;
            e.SetArgs(new Flags(Activation, GoBackwards));
        }

        public static Saved Of(Tape tape, in TapeEntry e)
        {
            var x = tape.ExtraInputs;
            int s = e.ExtraStart;
            var flags = e.GetArgs<Flags>();
            return new()
            {
                X = e.A!, Kernel = e.B!, RecurrentKernel = e.C!,
                H0 = x[s], Mask = x[s + 1], NewH = x[s + 2], PrevH = x[s + 3], FinalH = x[s + 4],
                Bias = e.ExtraCount > 5 ? x[s + 5] : null,
                Activation = flags.Activation, GoBackwards = flags.GoBackwards,
            };
        }

        private readonly record struct Flags(CellActivation Activation, bool GoBackwards);
    }

    /// <summary>H (B, T, U) and the final state (B, 1, U) (arguments checked by <see cref="Tensor.SimpleRnnSequence"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor mask, CellActivation act, bool goBackwards, out TensorData finalH)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dm = mask.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        finalH = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        TensorData? newH, prevH;
        if (dx.DType == DType.Float32) Forward<float>(rec, dx, dw, dr, db, dh0, dm, h, finalH, act, goBackwards, out newH, out prevH);
        else Forward<double>(rec, dx, dw, dr, db, dh0, dm, h, finalH, act, goBackwards, out newH, out prevH);
        if (rec is not null)
        {
            new Saved
            {
                X = dx, Kernel = dw, RecurrentKernel = dr, H0 = dh0, Mask = dm, Bias = db, NewH = newH!, PrevH = prevH!, FinalH = finalH,
                Activation = act, GoBackwards = goBackwards,
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData mask,
        TensorData h, TensorData finalH, CellActivation act, bool goBackwards, out TensorData? newHData, out TensorData? prevHData)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        var dtype = x.DType;
        using var plan = new Scratch<int>(Tape.Current, batch * steps + steps + 1);
        Span<int> rows = plan.Get(batch * steps), offsets = plan.Get(steps + 1);
        int n = Plan(mask.Span<T>(), batch, steps, goBackwards, rows, offsets);
        using var scratch = new Scratch<T>(Tape.Current, n * (features + 3 * units));
        var z = scratch.Get(n * units);
        var hNew = scratch.Saved(rec, new Shape(n, units), dtype, out newHData);
        var hPrev = scratch.Saved(rec, new Shape(n, units), dtype, out prevHData);
        var xp = scratch.Get(n * features);

        GatherSteps<T>(x.Span<T>(), steps, features, rows, offsets, goBackwards, xp);
        if (n > 0)
        {
            MatMulKernels.Gemm<T>(false, false, n, units, features, xp, features, w.Span<T>(), units, z, units, false);
            if (bias is not null) AddBiasRows<T>(z, n, units, units, bias.Span<T>());
        }
        Span<T> hc = finalH.Span<T>(), hs = h.Span<T>();
        h0.Span<T>().CopyTo(hc);
        ReadOnlySpan<T> rk = r.Span<T>();
        for (int k = 0; k < steps; k++)
        {
            int p0 = offsets[k], cnt = offsets[k + 1] - p0;
            var active = rows.Slice(p0, cnt);
            if (cnt > 0)
            {
                Span<T> zk = z[(p0 * units)..], hp = hPrev[(p0 * units)..], hk = hNew[(p0 * units)..];
                Gather<T>(hc, units, active, units, hp);
                MatMulKernels.Gemm<T>(false, false, cnt, units, units, hp, units, rk, units, zk, units, true);
                ForwardStep<T>(act, cnt, units, zk, units, hk, units);
                Scatter<T>(hk, active, units, hc, units);
            }
            WriteStepOutputs<T>(hNew[(p0 * units)..], active, batch, steps, units, k, hs);
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
        TensorData x = s.X, w = s.Kernel, r = s.RecurrentKernel, h = e.Out;
        bool goBackwards = s.GoBackwards;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], bu = batch * units;
        Span<int> rows = tape.Scratch<int>(batch * steps), offsets = tape.Scratch<int>(steps + 1);
        int n = Plan(s.Mask.Span<T>(), batch, steps, goBackwards, rows, offsets);

        var dH = tape.GradOf<T>(h);
        ReadOnlySpan<T> hNew = s.NewH.Span<T>();
        var dZ = tape.Scratch<T>(n * units);
        Span<T> carry = tape.Scratch<T>(bu), dhState = tape.Scratch<T>(bu), dOut = tape.Scratch<T>(bu), dh = tape.Scratch<T>(bu);
        carry.Clear();
        MaskedSequenceSupport.StartStateGradient<T>(tape, s.FinalH, dhState);
        var rt = tape.Scratch<T>(units * units);
        Transpose<T>(r.Span<T>(), units, units, rt);

        for (int k = steps - 1; k >= 0; k--)
        {
            int p0 = offsets[k], cnt = offsets[k + 1] - p0;
            var active = rows.Slice(p0, cnt);
            TakeStepOutputGradients<T>(dH, active, batch, steps, units, k, carry, dOut);
            if (cnt == 0) continue;
            Gather<T>(dhState, units, active, units, dh);
            var dzk = dZ[(p0 * units)..];
            BackwardStep<T>(s.Activation, cnt, units, dOut, units, dh, hNew[(p0 * units)..], units, dzk, units);
            MatMulKernels.Gemm<T>(false, false, cnt, units, units, dzk, units, rt, units, dh, units, false);
            Scatter<T>(dh, active, units, dhState, units);
        }

        AccumulateInto<T>(tape, s.H0, dhState);
        if (n == 0) return;
        if (r.RequiresGrad) MatMulKernels.Gemm<T>(true, false, units, units, n, s.PrevH.Span<T>(), units, dZ, units, tape.Grad<T>(r), units, true);
        if (s.Bias is { RequiresGrad: true } bias) AddColumnSums<T>(dZ, n, units, units, tape.Grad<T>(bias));
        MaskedSequenceSupport.InputGradients<T>(tape, x, w, dZ, n, units, rows, offsets, goBackwards);
    }
}
