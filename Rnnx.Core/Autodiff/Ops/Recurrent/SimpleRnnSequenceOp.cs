using System.Diagnostics;
using System.Numerics;
using Rnnx.Kernels;
using static Rnnx.Autodiff.Ops.RecurrentOpSupport;
using static Rnnx.Kernels.SimpleRnnKernels;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// A whole SimpleRNN sequence as one tape entry (<see cref="Tensor.SimpleRnnSequence"/>): H = (h_1 .. h_T) in processing
/// order, h_k = act((x_t·W + b) + h_{k-1}·R) (Keras's evaluation order). Nothing but H is saved (every activation's
/// derivative is written in terms of its output).
/// Backward through time: dz_k = (dH_k + dh_k) ⊙ act'(h_k), dh_{k-1} = dz_k·Rᵀ; then dW = xᵀ·dZ, dR = H_prevᵀ·dZ,
/// db = Σ dZ and dx = dZ·Wᵀ as one GEMM (or sum) each over all B·T rows.
/// </summary>
internal sealed class SimpleRnnSequenceOp : Op
{
    public static readonly SimpleRnnSequenceOp Instance = new();

    public override string Name => "SimpleRnnSequence";

    /// <summary>The op's inputs and arguments as kept for backward (stored in the tape entry's slots by <see cref="Record"/>).</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public TensorData Kernel { get; init; }
        public TensorData RecurrentKernel { get; init; }
        public TensorData H0 { get; init; }
        public TensorData? Bias { get; init; }
        public CellActivation Activation { get; init; }
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
            e.SetArgs(new Flags(Activation, GoBackwards, Bias is not null, Masks.Input is not null, Masks.Recurrent is not null));
        }

        public static Saved Of(Tape tape, in TapeEntry e) => new()
        {
            X = e.A!,
            Kernel = e.B!,
            RecurrentKernel = e.C!,
            H0 = tape.ExtraInputs[e.ExtraStart],
            Bias = e.GetArgs<Flags>().HasBias ? tape.ExtraInputs[e.ExtraStart + 1] : null,
            Activation = e.GetArgs<Flags>().Activation,
            GoBackwards = e.GetArgs<Flags>().GoBackwards,
            Masks = SequenceMasks.Read(tape, e.ExtraStart + (e.GetArgs<Flags>().HasBias ? 2 : 1), e.GetArgs<Flags>().InputMasks, e.GetArgs<Flags>().RecurrentMasks),
        };

        private readonly record struct Flags(CellActivation Activation, bool GoBackwards, bool HasBias, bool InputMasks, bool RecurrentMasks);
    }

    /// <summary>The hidden sequence (B, T, U) in processing order; arguments checked by <see cref="Tensor.SimpleRnnSequence"/>.</summary>
    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, CellActivation act, bool goBackwards, SequenceMasks masks)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], units = dr.Shape[0];
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        if (dx.DType == DType.Float32) Forward<float>(dx, dw, dr, db, dh0, h, act, goBackwards, masks);
        else Forward<double>(dx, dw, dr, db, dh0, h, act, goBackwards, masks);
        if (rec is not null) new Saved { X = dx, Kernel = dw, RecurrentKernel = dr, H0 = dh0, Bias = db, Activation = act, GoBackwards = goBackwards, Masks = masks }.Record(rec, h);
        return new Tensor(h);
    }

    private static void Forward<T>(TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData h, CellActivation act, bool goBackwards,
        SequenceMasks masks) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        if (units < NarrowUnits && batch > 1 && !masks.Any)
        {
            ForwardTimeMajor<T>(x, w, r, bias, h0, h, act, goBackwards);
            return;
        }
        int rows = batch * steps, ld = steps * units;
        // R (and with input dropout W) packed once per call; one gate, so the masked products use the same panels
        int packedLength = PackedGemm.PackedLength<T>(units, units), packedInputLength = masks.Input is null ? 0 : PackedGemm.PackedLength<T>(features, units);
        using var scratch = new Scratch<T>(Tape.Current, rows * units + packedLength + packedInputLength
            + (masks.Input is null ? 0 : SequenceMasks.GemmScratchLength<T>(1, rows, units, features))
            + (masks.Recurrent is null ? 0 : SequenceMasks.GemmScratchLength<T>(1, batch, units, units)));
        var z = scratch.Get(rows * units);
        if (masks.Input is { } mx)
        {
            var packedW = scratch.Get(packedInputLength);
            PackedGemm.Pack<T>(false, features, units, w.Span<T>(), units, packedW);
            SequenceMasks.MaskedGemm<T>(1, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, packedW, z, units, false, scratch.Get(SequenceMasks.GemmScratchLength<T>(1, rows, units, features)));
        }
        else MatMulKernels.Gemm<T>(false, false, rows, units, features, x.Span<T>(), features, w.Span<T>(), units, z, units, false);
        if (bias is not null) AddBiasRows<T>(z, rows, units, units, bias.Span<T>());
        var hs = h.Span<T>();
        var hm = masks.Recurrent is null ? default : scratch.Get(SequenceMasks.GemmScratchLength<T>(1, batch, units, units));
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>();
        var packedR = scratch.Get(packedLength);
        PackedGemm.Pack<T>(false, units, units, rk, units, packedR);
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            var zt = z[(t * units)..];
            if (masks.Recurrent is { } mr)
                SequenceMasks.MaskedGemm<T>(1, batch, units, units, k == 0 ? hInit : hs[((k - 1) * units)..], k == 0 ? units : ld, mr.Span<T>(), 1, packedR, zt, ld, true, hm);
            else if (k == 0) PackedGemm.Gemm<T>(false, batch, units, units, hInit, units, packedR, zt, ld, true);
            else PackedGemm.Gemm<T>(false, batch, units, units, hs[((k - 1) * units)..], ld, packedR, zt, ld, true);
            ForwardStep<T>(act, batch, units, zt, ld, hs[(k * units)..], ld);
        }
    }

    /// <summary>Below this many units a step's rows are too narrow for SIMD in the (b, t) layout.</summary>
    private const int NarrowUnits = 8;

    /// <summary>
    /// The same computation for narrow layers (units &lt; 8, e.g. the chapter's SimpleRNN(1)), run time-major so that
    /// a step's B·U values are contiguous and the activation is vectorized across the batch: z = x·W, transposed to
    /// (T, B, U), + b; per step z_t += h·R (the same GEMM, or for U = 1 the same rounded product and sum) and
    /// h = act(z_t) over B·U contiguous values; H is transposed back to (B, T, U). Bit-identical to the row path
    /// (every element sees the same operations in the same order).
    /// </summary>
    private static unsafe void ForwardTimeMajor<T>(TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData h,
        CellActivation act, bool goBackwards) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        int rows = batch * steps, bu = batch * units;
        int packedLength = PackedGemm.PackedLength<T>(units, units);
        using var scratch = new Scratch<T>(Tape.Current, 3 * rows * units + bu + packedLength);
        var z = scratch.Get(rows * units);
        var zt = scratch.Get(rows * units);
        var ht = scratch.Get(rows * units);
        var tmp = scratch.Get(bu);
        MatMulKernels.Gemm<T>(false, false, rows, units, features, x.Span<T>(), features, w.Span<T>(), units, z, units, false);
        TimeMajorCopy<T>(z, zt, batch, steps, units, toTimeMajor: true);
        if (bias is not null) AddBiasRows<T>(zt, rows, units, units, bias.Span<T>());
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>();
        var packedR = scratch.Get(packedLength);
        PackedGemm.Pack<T>(false, units, units, rk, units, packedR);
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            var zk = zt.Slice(t * bu, bu);
            ReadOnlySpan<T> prev = k == 0 ? hInit : ht.Slice((k - 1) * bu, bu);
            if (units == 1)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(prev, rk[0], tmp);
                System.Numerics.Tensors.TensorPrimitives.Add(zk, tmp, zk);
            }
            else PackedGemm.Gemm<T>(false, batch, units, units, prev, units, packedR, zk, units, true);
            ForwardStep<T>(act, 1, bu, zk, bu, ht.Slice(k * bu, bu), bu);
        }
        TimeMajorCopy<T>(ht, h.Span<T>(), batch, steps, units, toTimeMajor: false);
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
        var bias = saved.Bias;
        var masks = saved.Masks;
        var act = saved.Activation;
        bool goBackwards = saved.GoBackwards;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        int rows = batch * steps, ld = steps * units;

        var dH = tape.GradOf<T>(h);
        var hs = h.Span<T>();
        var dZ = tape.Scratch<T>(rows * units);
        var dhNext = tape.Scratch<T>(batch * units);
        dhNext.Clear();
        // op(B) = Rᵀ for dh = dZ·Rᵀ, packed once
        var packedRt = tape.Scratch<T>(PackedGemm.PackedLength<T>(units, units));
        PackedGemm.Pack<T>(true, units, units, r.Span<T>(), units, packedRt);
        var stepScratch = masks.Recurrent is null ? default : tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(1, batch, units, units));

        for (int k = steps - 1; k >= 0; k--)
        {
            int t = TimeOf(k, steps, goBackwards);
            var dzt = dZ[(t * units)..];
            BackwardStep<T>(act, batch, units, dH[(k * units)..], ld, dhNext, hs[(k * units)..], ld, dzt, ld);
            if (k == 0 && !h0.RequiresGrad) continue;
            if (masks.Recurrent is { } mr)
            {
                dhNext.Clear();
                SequenceMasks.MaskedGemmInputGrad<T>(1, batch, units, units, dzt, ld, packedRt, mr.Span<T>(), 1, dhNext, units, stepScratch);
            }
            else PackedGemm.Gemm<T>(false, batch, units, units, dzt, ld, packedRt, dhNext, units, false);
        }

        AccumulateInto<T>(tape, h0, dhNext);
        if (!masks.Any)
        {
            // the three weight gradients share one pass over dZ (WeightGradientGemm: the same bits as separate calls)
            Span<T> hPrevAll = default;
            if (r.RequiresGrad)
            {
                hPrevAll = tape.Scratch<T>(rows * units);
                BuildPreviousStates<T>(hs, h0.Span<T>(), batch, steps, units, goBackwards, hPrevAll);
            }
            WeightGradientGemm.Run<T>(rows, units, dZ, units,
                features, x.Span<T>(), features, w.RequiresGrad ? tape.Grad<T>(w) : default,
                units, hPrevAll, units, r.RequiresGrad ? tape.Grad<T>(r) : default,
                bias is not null && bias.RequiresGrad ? tape.Grad<T>(bias) : default);
        }
        else
        {
            MaskedWeightGradients<T>(tape, x, w, r, bias, h0, hs, dZ, masks, batch, steps, goBackwards);
        }
        if (x.RequiresGrad)
        {
            if (masks.Input is { } mx)
            {
                var packedWt = tape.Scratch<T>(PackedGemm.PackedLength<T>(units, features));
                PackedGemm.Pack<T>(true, units, features, w.Span<T>(), units, packedWt);
                SequenceMasks.MaskedGemmInputGrad<T>(1, rows, units, features, dZ, units, packedWt, mx.Span<T>(), steps, tape.Grad<T>(x), features,
                    tape.Scratch<T>(SequenceMasks.InputGradScratchLength<T>(1, rows, units, features)));
            }
            else MatMulKernels.Gemm<T>(false, true, rows, features, units, dZ, units, w.Span<T>(), units, tape.Grad<T>(x), features, true);
        }
    }

    /// <summary>The weight gradients with dropout masks (the masked products each read dZ on their own).</summary>
    private static void MaskedWeightGradients<T>(Tape tape, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0,
        ReadOnlySpan<T> hs, ReadOnlySpan<T> dZ, SequenceMasks masks, int batch, int steps, bool goBackwards)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int features = x.Shape[2], units = r.Shape[0], rows = batch * steps;
        if (w.RequiresGrad)
        {
            if (masks.Input is { } mx)
                SequenceMasks.MaskedGemmWeightGrad<T>(1, rows, units, features, x.Span<T>(), features, mx.Span<T>(), steps, dZ, units, tape.Grad<T>(w), units, tape.Scratch<T>(rows * features));
            else MatMulKernels.Gemm<T>(true, false, features, units, rows, x.Span<T>(), features, dZ, units, tape.Grad<T>(w), units, true);
        }
        if (r.RequiresGrad)
        {
            var hPrev = tape.Scratch<T>(rows * units);
            BuildPreviousStates<T>(hs, h0.Span<T>(), batch, steps, units, goBackwards, hPrev);
            if (masks.Recurrent is { } mr)
                SequenceMasks.MaskedGemmWeightGrad<T>(1, rows, units, units, hPrev, units, mr.Span<T>(), steps, dZ, units, tape.Grad<T>(r), units, tape.Scratch<T>(rows * units));
            else MatMulKernels.Gemm<T>(true, false, units, units, rows, hPrev, units, dZ, units, tape.Grad<T>(r), units, true);
        }
        if (bias is not null && bias.RequiresGrad) AddColumnSums<T>(dZ, rows, units, units, tape.Grad<T>(bias));
    }
}
