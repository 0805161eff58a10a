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
/// (reset_after = false), and the final state (B, 1, U).
/// </summary>
internal sealed class MaskedGruSequenceOp : Op
{
    public static readonly MaskedGruSequenceOp Instance = new();

    public override string Name => "MaskedGruSequence";

    /// <summary>The op's inputs and saved buffers, kept in <see cref="Tape.ExtraInputs"/> in this order.</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public TensorData Kernel { get; init; }
        public TensorData RecurrentKernel { get; init; }
        public TensorData H0 { get; init; }
        public TensorData Mask { get; init; }
        public TensorData Gates { get; init; }
        public TensorData PrevH { get; init; }
        public TensorData RecurrentCandidate { get; init; }
        public TensorData FinalH { get; init; }
        public TensorData? Bias { get; init; }
        public bool ResetAfter { get; init; }
        public bool GoBackwards { get; init; }

        public void Record(Tape tape, TensorData hidden)
        {
            ref var e = ref tape.Record(Instance, hidden);
            e.A = X;
            e.B = Kernel;
            e.C = RecurrentKernel;
            e.ExtraStart = tape.ExtraInputs.Count;
            tape.ExtraInputs.AddRange([H0, Mask, Gates, PrevH, RecurrentCandidate, FinalH]);
            if (Bias is not null) tape.ExtraInputs.Add(Bias);
            e.ExtraCount = Bias is null ? 6 : 7;
            e.SetArgs(new Flags(ResetAfter, GoBackwards));
        }

        public static Saved Of(Tape tape, in TapeEntry e)
        {
            var x = tape.ExtraInputs;
            int s = e.ExtraStart;
            var flags = e.GetArgs<Flags>();
            return new()
            {
                X = e.A!, Kernel = e.B!, RecurrentKernel = e.C!,
                H0 = x[s], Mask = x[s + 1], Gates = x[s + 2], PrevH = x[s + 3], RecurrentCandidate = x[s + 4], FinalH = x[s + 5],
                Bias = e.ExtraCount > 6 ? x[s + 6] : null,
                ResetAfter = flags.ResetAfter, GoBackwards = flags.GoBackwards,
            };
        }

        private readonly record struct Flags(bool ResetAfter, bool GoBackwards);
    }

    /// <summary>H (B, T, U) and the final state (B, 1, U) (arguments checked by <see cref="Tensor.GruSequence"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, Tensor mask, bool resetAfter, bool goBackwards, out TensorData finalH)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data, dm = mask.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        finalH = Tape.NewResult(new Shape(batch, 1, units), dx.DType);
        TensorData? gates, prevH, aux;
        if (dx.DType == DType.Float32) Forward<float>(rec, dx, dw, dr, db, dh0, dm, h, finalH, resetAfter, goBackwards, out gates, out prevH, out aux);
        else Forward<double>(rec, dx, dw, dr, db, dh0, dm, h, finalH, resetAfter, goBackwards, out gates, out prevH, out aux);
        if (rec is not null)
        {
            new Saved
            {
                X = dx, Kernel = dw, RecurrentKernel = dr, H0 = dh0, Mask = dm, Bias = db, Gates = gates!, PrevH = prevH!,
                RecurrentCandidate = aux!, FinalH = finalH, ResetAfter = resetAfter, GoBackwards = goBackwards,
            }.Record(rec, h);
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData mask,
        TensorData h, TensorData finalH, bool resetAfter, bool goBackwards, out TensorData? gatesData, out TensorData? prevHData, out TensorData? auxData)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        var dtype = x.DType;
        using var plan = new Scratch<int>(Tape.Current, batch * steps + steps + 1);
        Span<int> rows = plan.Get(batch * steps), offsets = plan.Get(steps + 1);
        int n = Plan(mask.Span<T>(), batch, steps, goBackwards, rows, offsets);
        using var scratch = new Scratch<T>(Tape.Current, n * (features + g3 + 3 * units) + batch * g3 + g3);
        var a = scratch.Saved(rec, new Shape(n, g3), dtype, out gatesData);
        var hPrev = scratch.Saved(rec, new Shape(n, units), dtype, out prevHData);
        var aux = scratch.Saved(rec, new Shape(n, units), dtype, out auxData);
        var hNew = scratch.Get(n * units);
        var xp = scratch.Get(n * features);
        var m = scratch.Get(batch * g3);

        GatherSteps<T>(x.Span<T>(), steps, features, rows, offsets, goBackwards, xp);
        if (n > 0)
        {
            MatMulKernels.Gemm<T>(false, false, n, g3, features, xp, features, w.Span<T>(), g3, a, g3, false);
            if (bias is not null) AddBiasRows<T>(a, n, g3, g3, bias.Span<T>()[..g3]);   // + b_x (reset_after) or + b
        }
        ReadOnlySpan<T> bh = resetAfter ? (bias is not null ? bias.Span<T>()[g3..] : scratch.Zeroed(g3)) : default;
        Span<T> hc = finalH.Span<T>(), hs = h.Span<T>();
        h0.Span<T>().CopyTo(hc);
        ReadOnlySpan<T> rk = r.Span<T>();
        for (int k = 0; k < steps; k++)
        {
            int p0 = offsets[k], cnt = offsets[k + 1] - p0;
            var active = rows.Slice(p0, cnt);
            if (cnt > 0)
            {
                Span<T> ak = a[(p0 * g3)..], hp = hPrev[(p0 * units)..], hk = hNew[(p0 * units)..], auxk = aux[(p0 * units)..];
                Gather<T>(hc, units, active, units, hp);
                if (resetAfter)
                {
                    MatMulKernels.Gemm<T>(false, false, cnt, g3, units, hp, units, rk, g3, m, g3, false);
                    ForwardStepResetAfter<T>(cnt, units, ak, g3, m, bh, hp, units, auxk, hk, units);
                }
                else
                {
                    MatMulKernels.Gemm<T>(false, false, cnt, 2 * units, units, hp, units, rk, g3, ak, g3, true);
                    GatesStep<T>(cnt, units, ak, g3, hp, units, auxk, units);
                    MatMulKernels.Gemm<T>(false, false, cnt, units, units, auxk, units, rk[(2 * units)..], g3, ak[(2 * units)..], g3, true);
                    CandidateStep<T>(cnt, units, ak, g3, hp, units, hk, units);
                }
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
        bool resetAfter = s.ResetAfter, goBackwards = s.GoBackwards;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units, bu = batch * units;
        Span<int> rows = tape.Scratch<int>(batch * steps), offsets = tape.Scratch<int>(steps + 1);
        int n = Plan(s.Mask.Span<T>(), batch, steps, goBackwards, rows, offsets);

        var dH = tape.GradOf<T>(h);
        ReadOnlySpan<T> a = s.Gates.Span<T>(), aux = s.RecurrentCandidate.Span<T>(), hPrev = s.PrevH.Span<T>();
        var dZ = tape.Scratch<T>(n * g3);                       // gradient of the input projection (x·W + b_x)
        var dM = resetAfter ? tape.Scratch<T>(n * g3) : default; // reset_after: gradient of m = h·R + b_h
        Span<T> carry = tape.Scratch<T>(bu), dhState = tape.Scratch<T>(bu), dOut = tape.Scratch<T>(bu), dh = tape.Scratch<T>(bu);
        var dRh = resetAfter ? default : tape.Scratch<T>(bu);
        carry.Clear();
        MaskedSequenceSupport.StartStateGradient<T>(tape, s.FinalH, dhState);
        var rt = tape.Scratch<T>(g3 * units);
        Transpose<T>(r.Span<T>(), units, g3, rt);

        for (int k = steps - 1; k >= 0; k--)
        {
            int p0 = offsets[k], cnt = offsets[k + 1] - p0;
            var active = rows.Slice(p0, cnt);
            TakeStepOutputGradients<T>(dH, active, batch, steps, units, k, carry, dOut);
            if (cnt == 0) continue;
            Gather<T>(dhState, units, active, units, dh);
            var dzk = dZ[(p0 * g3)..];
            ReadOnlySpan<T> ak = a[(p0 * g3)..], hp = hPrev[(p0 * units)..];
            if (resetAfter)
            {
                var dmk = dM[(p0 * g3)..];
                BackwardStepResetAfter<T>(cnt, units, dOut, units, dh, ak, g3, aux[(p0 * units)..], hp, units, dzk, dmk);
                MatMulKernels.Gemm<T>(false, false, cnt, units, g3, dmk, g3, rt, units, dh, units, true);
            }
            else
            {
                CandidateBackwardStep<T>(cnt, units, dOut, units, dh, ak, g3, hp, units, dzk);
                MatMulKernels.Gemm<T>(false, false, cnt, units, units, dzk[(2 * units)..], g3, rt[(2 * units * units)..], units, dRh, units, false);
                GatesBackwardStep<T>(cnt, units, dRh, ak, g3, hp, units, dh, dzk);
                MatMulKernels.Gemm<T>(false, false, cnt, units, 2 * units, dzk, g3, rt, units, dh, units, true);
            }
            Scatter<T>(dh, active, units, dhState, units);
        }

        AccumulateInto<T>(tape, s.H0, dhState);
        if (n == 0) return;
        if (r.RequiresGrad)
        {
            var gr = tape.Grad<T>(r);
            if (resetAfter) MatMulKernels.Gemm<T>(true, false, units, g3, n, hPrev, units, dM, g3, gr, g3, true);
            else
            {
                MatMulKernels.Gemm<T>(true, false, units, 2 * units, n, hPrev, units, dZ, g3, gr, g3, true);
                MatMulKernels.Gemm<T>(true, false, units, units, n, aux, units, dZ[(2 * units)..], g3, gr[(2 * units)..], g3, true);
            }
        }
        if (s.Bias is { RequiresGrad: true } bias)
        {
            var gb = tape.Grad<T>(bias);
            AddColumnSums<T>(dZ, n, g3, g3, gb[..g3]);
            if (resetAfter) AddColumnSums<T>(dM, n, g3, g3, gb[g3..]);
        }
        MaskedSequenceSupport.InputGradients<T>(tape, x, w, dZ, n, g3, rows, offsets, goBackwards);
    }
}
