using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Autodiff;
using Rnnx.Kernels;
using static Rnnx.Layers.FusedRecurrent;

namespace Rnnx.Layers;

public sealed partial class SimpleRNNCell : IFusedRecurrentCell
{
    bool IFusedRecurrentCell.CanFuse => FusedSimpleRnnOp.KindOf(Activation) >= 0;

    Tensor IFusedRecurrentCell.ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates)
    {
        var h = FusedSimpleRnnOp.Apply(x, Kernel.Value, RecurrentKernel.Value, Bias?.Value, initialStates[0], FusedSimpleRnnOp.KindOf(Activation), goBackwards);
        var hd = h.Data;
        var output = returnSequences ? h : SequenceLastStepOp.Apply(hd, hd);
        if (finalStates.Length > 0) finalStates[0] = returnSequences ? SequenceLastStepOp.Apply(hd, hd) : output;
        return output;
    }
}

/// <summary>
/// A whole SimpleRNN sequence as one tape entry: H = (h_1 .. h_T) in processing order, h_k = act((x_t·W + b) + h_{k-1}·R)
/// (Keras's evaluation order). Inputs A = x (B, T, F), B = kernel (F, U), C = recurrent kernel (U, U); extra inputs
/// [h0 (B, U), bias (U,)?]. I0 = activation kind, I1 = goBackwards. Nothing but H is saved (every activation's
/// derivative is written in terms of its output).
/// Backward through time: dz_k = (dH_k + dh_k) ⊙ act'(h_k), dh_{k-1} = dz_k·Rᵀ; then dW = xᵀ·dZ, dR = H_prevᵀ·dZ,
/// db = Σ dZ and dx = dZ·Wᵀ as one GEMM (or sum) each over all B·T rows.
/// </summary>
internal sealed class FusedSimpleRnnOp : Op
{
    public const int Linear = 0, Tanh = 1, Relu = 2, Sigmoid = 3;

    public static readonly FusedSimpleRnnOp Instance = new();

    public override string Name => "FusedSimpleRNN";

    /// <summary>The kernel's code for a built-in activation, or -1 (no fused kernel).</summary>
    public static int KindOf(Activation a) =>
        ReferenceEquals(a, Activation.Tanh) ? Tanh
        : ReferenceEquals(a, Activation.Relu) ? Relu
        : ReferenceEquals(a, Activation.Linear) ? Linear
        : ReferenceEquals(a, Activation.Sigmoid) ? Sigmoid
        : -1;

    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, int act, bool goBackwards)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], features = dx.Shape[2], units = dr.Shape[0];
        Debug.Assert(dw.Shape == new Shape(features, units) && dr.Shape == new Shape(units, units) && dh0.Shape == new Shape(batch, units));
        if (dw.DType != dx.DType || dr.DType != dx.DType || dh0.DType != dx.DType || (db is not null && db.DType != dx.DType))
            throw new ArgumentException($"SimpleRNN: input {dx.DType}, weights and initial state must share one dtype.");
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        if (dx.DType == DType.Float32) Forward<float>(dx, dw, dr, db, dh0, h, act, goBackwards);
        else Forward<double>(dx, dw, dr, db, dh0, h, act, goBackwards);
        if (rec is not null)
        {
            ref var e = ref rec.Record(Instance, h);
            e.A = dx;
            e.B = dw;
            e.C = dr;
            e.ExtraStart = rec.ExtraInputs.Count;
            rec.ExtraInputs.Add(dh0);
            if (db is not null) rec.ExtraInputs.Add(db);
            e.ExtraCount = db is null ? 1 : 2;
            e.I0 = act;
            e.I1 = goBackwards ? 1 : 0;
        }
        return new Tensor(h);
    }

    private static void Forward<T>(TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData h, int act, bool goBackwards)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        if (units < NarrowUnits && batch > 1)
        {
            ForwardTimeMajor<T>(x, w, r, bias, h0, h, act, goBackwards);
            return;
        }
        int rows = batch * steps, ld = steps * units;
        using var scratch = new Scratch<T>(Tape.Current, rows * units);
        var z = scratch.Get(rows * units);
        MatMulKernels.Gemm<T>(false, false, rows, units, features, x.Span<T>(), features, w.Span<T>(), units, z, units, false);
        if (bias is not null) AddBiasRows<T>(z, rows, units, units, bias.Span<T>());
        var hs = h.Span<T>();
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>();
        for (int k = 0; k < steps; k++)
        {
            int t = TimeOf(k, steps, goBackwards);
            var zt = z[(t * units)..];
            if (k == 0) MatMulKernels.Gemm<T>(false, false, batch, units, units, hInit, units, rk, units, zt, ld, true);
            else MatMulKernels.Gemm<T>(false, false, batch, units, units, hs[((k - 1) * units)..], ld, rk, units, zt, ld, true);
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
        int act, bool goBackwards) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        int rows = batch * steps, bu = batch * units;
        using var scratch = new Scratch<T>(Tape.Current, 3 * rows * units + bu);
        var z = scratch.Get(rows * units);
        var zt = scratch.Get(rows * units);
        var ht = scratch.Get(rows * units);
        var tmp = scratch.Get(bu);
        MatMulKernels.Gemm<T>(false, false, rows, units, features, x.Span<T>(), features, w.Span<T>(), units, z, units, false);
        TimeMajorCopy<T>(z, zt, batch, steps, units, toTimeMajor: true);
        if (bias is not null) AddBiasRows<T>(zt, rows, units, units, bias.Span<T>());
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>();
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
            else MatMulKernels.Gemm<T>(false, false, batch, units, units, prev, units, rk, units, zk, units, true);
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
        TensorData x = e.A!, w = e.B!, r = e.C!, h = e.Out;
        var h0 = tape.ExtraInputs[e.ExtraStart];
        var bias = e.ExtraCount > 1 ? tape.ExtraInputs[e.ExtraStart + 1] : null;
        int act = e.I0;
        bool goBackwards = e.I1 != 0;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0];
        int rows = batch * steps, ld = steps * units;

        var dH = tape.GradOf<T>(h);
        var hs = h.Span<T>();
        var dZ = tape.Scratch<T>(rows * units);
        var dhNext = tape.Scratch<T>(batch * units);
        dhNext.Clear();
        var rt = tape.Scratch<T>(units * units);
        Transpose<T>(r.Span<T>(), units, units, rt);

        for (int k = steps - 1; k >= 0; k--)
        {
            int t = TimeOf(k, steps, goBackwards);
            var dzt = dZ[(t * units)..];
            BackwardStep<T>(act, batch, units, dH[(k * units)..], ld, dhNext, hs[(k * units)..], ld, dzt, ld);
            if (k > 0 || h0.RequiresGrad)
                MatMulKernels.Gemm<T>(false, false, batch, units, units, dzt, ld, rt, units, dhNext, units, false);
        }

        AccumulateInto<T>(tape, h0, dhNext);
        if (w.RequiresGrad)
            MatMulKernels.Gemm<T>(true, false, features, units, rows, x.Span<T>(), features, dZ, units, tape.Grad<T>(w), units, true);
        if (r.RequiresGrad)
        {
            var hPrev = tape.Scratch<T>(rows * units);
            BuildPreviousStates<T>(hs, h0.Span<T>(), batch, steps, units, goBackwards, hPrev);
            MatMulKernels.Gemm<T>(true, false, units, units, rows, hPrev, units, dZ, units, tape.Grad<T>(r), units, true);
        }
        if (bias is not null && bias.RequiresGrad) AddColumnSums<T>(dZ, rows, units, units, tape.Grad<T>(bias));
        if (x.RequiresGrad)
            MatMulKernels.Gemm<T>(false, true, rows, features, units, dZ, units, w.Span<T>(), units, tape.Grad<T>(x), features, true);
    }

    // ---------------------------------------------------------------- per-step kernels

    /// <summary>h (rows, ldh) = act(z) (rows, ldz).</summary>
    private static void ForwardStep<T>(int act, int rows, int u, Span<T> z, int ldz, Span<T> h, int ldh) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pz = ref R<T, float>(z);
            ref float ph = ref R<T, float>(h);
            Fwd<float, F8>(act, rows, ref pz, ldz, ref ph, ldh, 0, j8);
            Fwd<float, F4>(act, rows, ref pz, ldz, ref ph, ldh, j8, j4);
            Fwd<float, F1>(act, rows, ref pz, ldz, ref ph, ldh, j4, u);
        }
        else Fwd<double, D1>(act, rows, ref R<T, double>(z), ldz, ref R<T, double>(h), ldh, 0, u);
    }

    private static void Fwd<T, V>(int act, int rows, ref T z, int ldz, ref T h, int ldh, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T zr = ref Unsafe.Add(ref z, (nint)b * ldz);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            for (int j = j0; j < j1; j += V.Count)
            {
                var v = V.Load(ref zr, j);
                v = act switch { Tanh => V.Tanh(v), Relu => V.Relu(v), Sigmoid => V.Sigmoid(v), _ => v };
                V.Store(v, ref hr, j);
            }
        }
    }

    /// <summary>dz = (dH + dhNext) ⊙ act'(h), with act' written in terms of the output h.</summary>
    private static void BackwardStep<T>(int act, int rows, int u, ReadOnlySpan<T> dH, int ldH, ReadOnlySpan<T> dhNext,
        ReadOnlySpan<T> h, int ldh, Span<T> dz, int ldz) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pdH = ref R<T, float>(dH);
            ref float pdn = ref R<T, float>(dhNext);
            ref float ph = ref R<T, float>(h);
            ref float pdz = ref R<T, float>(dz);
            Bwd<float, F8>(act, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, 0, j8);
            Bwd<float, F4>(act, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j8, j4);
            Bwd<float, F1>(act, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j4, u);
        }
        else Bwd<double, D1>(act, rows, u, ref R<T, double>(dH), ldH, ref R<T, double>(dhNext), ref R<T, double>(h), ldh, ref R<T, double>(dz), ldz, 0, u);
    }

    private static void Bwd<T, V>(int act, int rows, int u, ref T dH, int ldH, ref T dhNext, ref T h, int ldh, ref T dz, int ldz, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldH);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * ldz);
            for (int j = j0; j < j1; j += V.Count)
            {
                var g = V.Load(ref dHr, j) + V.Load(ref dnr, j);
                var y = V.Load(ref hr, j);
                g = act switch
                {
                    Tanh => g * (V.One - y * y),
                    Sigmoid => g * y * (V.One - y),
                    Relu => V.WherePositive(y, g),
                    _ => g,
                };
                V.Store(g, ref dzr, j);
            }
        }
    }
}
