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
/// states by R and runs the same step kernels as the unmasked op, so the cost follows N, not batch × time.
/// Output: H (B, T, U) in processing order. Saved (packed, N rows): gates [i, f, g, o] (N, 4U), the entering states
/// h_prev and c_prev, the new cells c and tanh(c); and the final states (B, 1, U), whose gradients (from
/// <see cref="SequenceLastStepOp"/>) seed backward.
/// </summary>
internal sealed class MaskedLstmSequenceOp : Op
{
    public static readonly MaskedLstmSequenceOp Instance = new();

    public override string Name => "MaskedLstmSequence";

    /// <summary>The op's inputs and saved buffers, kept in <see cref="Tape.ExtraInputs"/> in this order.</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public TensorData Kernel { get; init; }
        public TensorData RecurrentKernel { get; init; }
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
        public TensorData? Bias { get; init; }
        public bool GoBackwards { get; init; }

        public void Record(Tape tape, TensorData hidden)
        {
            ref var e = ref tape.Record(Instance, hidden);
            e.A = X;
            e.B = Kernel;
            e.C = RecurrentKernel;
            e.ExtraStart = tape.ExtraInputs.Count;
            tape.ExtraInputs.AddRange([H0, C0, Mask, Gates, PrevH, PrevC, Cells, TanhCells, FinalH, FinalC]);
            if (Bias is not null) tape.ExtraInputs.Add(Bias);
            e.ExtraCount = Bias is null ? 10 : 11;
            e.SetArgs(GoBackwards);
        }

        public static Saved Of(Tape tape, in TapeEntry e)
        {
            var x = tape.ExtraInputs;
            int s = e.ExtraStart;
            return new()
            {
                X = e.A!, Kernel = e.B!, RecurrentKernel = e.C!,
                H0 = x[s], C0 = x[s + 1], Mask = x[s + 2], Gates = x[s + 3], PrevH = x[s + 4], PrevC = x[s + 5],
                Cells = x[s + 6], TanhCells = x[s + 7], FinalH = x[s + 8], FinalC = x[s + 9],
                Bias = e.ExtraCount > 10 ? x[s + 10] : null,
                GoBackwards = e.GetArgs<bool>(),
            };
        }
    }

    /// <summary>H (B, T, U) and the final states (B, 1, U) (arguments checked by <see cref="Tensor.LstmSequence"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor c0, Tensor mask, bool goBackwards,
        out TensorData finalH, out TensorData finalC)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dc0 = c0.Data, dm = mask.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, dc0);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        finalH = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        finalC = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        Buffers saved;
        if (dx.DType == DType.Float32) saved = Forward<float>(rec, dx, dw, dr, db, dh0, dc0, dm, h, finalH, finalC, goBackwards);
        else saved = Forward<double>(rec, dx, dw, dr, db, dh0, dc0, dm, h, finalH, finalC, goBackwards);
        if (rec is not null)
        {
            new Saved
            {
                X = dx, Kernel = dw, RecurrentKernel = dr, H0 = dh0, C0 = dc0, Mask = dm, Bias = db,
                Gates = saved.Gates!, PrevH = saved.PrevH!, PrevC = saved.PrevC!, Cells = saved.Cells!, TanhCells = saved.TanhCells!,
                FinalH = finalH, FinalC = finalC, GoBackwards = goBackwards,
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private readonly record struct Buffers(TensorData? Gates, TensorData? PrevH, TensorData? PrevC, TensorData? Cells, TensorData? TanhCells);

    private static Buffers Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData c0,
        TensorData mask, TensorData h, TensorData finalH, TensorData finalC, bool goBackwards) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units;
        var dtype = x.DType;
        using var plan = new Scratch<int>(Tape.Current, batch * steps + steps + 1);
        Span<int> rows = plan.Get(batch * steps), offsets = plan.Get(steps + 1);
        int n = Plan(mask.Span<T>(), batch, steps, goBackwards, rows, offsets);
        using var scratch = new Scratch<T>(Tape.Current, n * (features + g4 + 5 * units) + g4);
        var a = scratch.Saved(rec, new Shape(n, g4), dtype, out var gates);
        var hPrev = scratch.Saved(rec, new Shape(n, units), dtype, out var prevH);
        var cPrev = scratch.Saved(rec, new Shape(n, units), dtype, out var prevC);
        var c = scratch.Saved(rec, new Shape(n, units), dtype, out var cells);
        var tc = scratch.Saved(rec, new Shape(n, units), dtype, out var tanhCells);
        var hNew = scratch.Get(n * units);
        var xp = scratch.Get(n * features);
        ReadOnlySpan<T> b = bias is not null ? bias.Span<T>() : scratch.Zeroed(g4);

        GatherSteps<T>(x.Span<T>(), steps, features, rows, offsets, goBackwards, xp);
        if (n > 0) MatMulKernels.Gemm<T>(false, false, n, g4, features, xp, features, w.Span<T>(), g4, a, g4, false);
        Span<T> hc = finalH.Span<T>(), cc = finalC.Span<T>(), hs = h.Span<T>();
        h0.Span<T>().CopyTo(hc);
        c0.Span<T>().CopyTo(cc);
        ReadOnlySpan<T> rk = r.Span<T>();
        for (int k = 0; k < steps; k++)
        {
            int p0 = offsets[k], cnt = offsets[k + 1] - p0;
            var active = rows.Slice(p0, cnt);
            if (cnt > 0)
            {
                Span<T> ak = a[(p0 * g4)..], hp = hPrev[(p0 * units)..], cp = cPrev[(p0 * units)..], hk = hNew[(p0 * units)..], ck = c[(p0 * units)..];
                Gather<T>(hc, units, active, units, hp);
                Gather<T>(cc, units, active, units, cp);
                MatMulKernels.Gemm<T>(false, false, cnt, g4, units, hp, units, rk, g4, ak, g4, true);
                ForwardStep<T>(cnt, units, ak, g4, b, cp, units, ck, tc[(p0 * units)..], hk, units);
                Scatter<T>(hk, active, units, hc, units);
                Scatter<T>(ck, active, units, cc, units);
            }
            WriteStepOutputs<T>(hNew[(p0 * units)..], active, batch, steps, units, k, hs);
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
        TensorData x = s.X, w = s.Kernel, r = s.RecurrentKernel, h = e.Out;
        bool goBackwards = s.GoBackwards;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g4 = 4 * units, bu = batch * units;
        Span<int> rows = tape.Scratch<int>(batch * steps), offsets = tape.Scratch<int>(steps + 1);
        int n = Plan(s.Mask.Span<T>(), batch, steps, goBackwards, rows, offsets);

        var dH = tape.GradOf<T>(h);
        ReadOnlySpan<T> a = s.Gates.Span<T>(), tc = s.TanhCells.Span<T>(), cPrev = s.PrevC.Span<T>();
        var dZ = tape.Scratch<T>(n * g4);
        Span<T> carry = tape.Scratch<T>(bu), dhState = tape.Scratch<T>(bu), dcState = tape.Scratch<T>(bu);
        Span<T> dOut = tape.Scratch<T>(bu), dh = tape.Scratch<T>(bu), dc = tape.Scratch<T>(bu);
        carry.Clear();
        MaskedSequenceSupport.StartStateGradient<T>(tape, s.FinalH, dhState);
        MaskedSequenceSupport.StartStateGradient<T>(tape, s.FinalC, dcState);
        var rt = tape.Scratch<T>(g4 * units);
        Transpose<T>(r.Span<T>(), units, g4, rt);

        for (int k = steps - 1; k >= 0; k--)
        {
            int p0 = offsets[k], cnt = offsets[k + 1] - p0;
            var active = rows.Slice(p0, cnt);
            TakeStepOutputGradients<T>(dH, active, batch, steps, units, k, carry, dOut);
            if (cnt == 0) continue;
            Gather<T>(dhState, units, active, units, dh);
            Gather<T>(dcState, units, active, units, dc);
            var dzk = dZ[(p0 * g4)..];
            BackwardStep<T>(cnt, units, dOut, units, default, dh, dc, a[(p0 * g4)..], g4, tc[(p0 * units)..], cPrev[(p0 * units)..], units, dzk);
            MatMulKernels.Gemm<T>(false, false, cnt, units, g4, dzk, g4, rt, units, dh, units, false);
            Scatter<T>(dh, active, units, dhState, units);
            Scatter<T>(dc, active, units, dcState, units);
        }

        AccumulateInto<T>(tape, s.H0, dhState);
        AccumulateInto<T>(tape, s.C0, dcState);
        if (n == 0) return;
        if (r.RequiresGrad) MatMulKernels.Gemm<T>(true, false, units, g4, n, s.PrevH.Span<T>(), units, dZ, g4, tape.Grad<T>(r), g4, true);
        if (s.Bias is { RequiresGrad: true } bias) AddColumnSums<T>(dZ, n, g4, g4, tape.Grad<T>(bias));
        MaskedSequenceSupport.InputGradients<T>(tape, x, w, dZ, n, g4, rows, offsets, goBackwards);
    }
}
